"""Video-to-map pipeline: video sources -> transcript -> places -> coordinates.

Small public API (stages are importable from their own modules)::

    from pipeline import Workbench
    bench = Workbench()
    [outcome] = bench.submit(["talk.srt"], bench.options(offline=True))
    bench.wait([outcome.job.job_id])
    bench.places()
"""

from .api import Workbench, demo_sources
from .compress import CompressOptions, compress, parse_subtitles
from .config import Settings, get_settings
from .datatypes import ExtractionResult, FetchedVideo, GeoHit, Place, Segment, Transcript, Window
from .errors import DeterministicError, PartialError, PipelineError, TransientError
from .export import FORMATS, export_bytes, write_export
from .jobs import JobManager, JobView, SubmitOutcome
from .orchestrator import AnalysisOptions

__all__ = [
    "AnalysisOptions", "CompressOptions", "DeterministicError", "ExtractionResult", "FORMATS", "FetchedVideo",
    "GeoHit", "JobManager", "JobView", "PartialError", "PipelineError", "Place", "Segment", "Settings",
    "SubmitOutcome", "Transcript", "TransientError", "Window", "Workbench", "compress", "demo_sources",
    "export_bytes", "get_settings", "parse_subtitles", "write_export",
]
