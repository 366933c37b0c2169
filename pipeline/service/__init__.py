"""The workbench as a service: one coordinator per database, many front doors.

``create_app`` builds the HTTP API over a ``Workbench``; ``ApiServer`` runs it beside the
coordinator; ``RemoteWorkbench`` (``Workbench.connect(url)``) is the same interface over HTTP;
``discover`` finds the running workbench that holds a database.
"""

from .client import RemoteWorkbench
from .http import create_app
from .server import ApiServer, address_file, current_coordinator, discover, register_coordinator, serve

__all__ = ["ApiServer", "RemoteWorkbench", "address_file", "create_app", "current_coordinator", "discover",
           "register_coordinator", "serve"]
