"""Storage: the DuckDB database (``db``, written only by the coordinator), uploaded media
(``uploads``) and the export formats read from it (``export``)."""

from .db import SCHEMA_VERSION, Storage

__all__ = ["SCHEMA_VERSION", "Storage"]
