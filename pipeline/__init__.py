"""Video-to-map pipeline: video sources -> transcript -> places -> coordinates.

Small public API (stages are importable from their own modules)::

    from pipeline import Workbench
    bench = Workbench()
    [outcome] = bench.submit(["talk.srt"], bench.options(offline=True))
    bench.wait([outcome.job.job_id])
    bench.places()
"""

from .api import Workbench, demo_sources
from .config import Settings, get_settings
from .datatypes import ExtractionResult, FetchedVideo, GeoHit, Place, Segment, Transcript, Window
from .errors import DeterministicError, PartialError, PipelineError, TransientError
from .runner.graph import PHASE_WEIGHTS
from .runner.jobs import JobManager, JobView, SubmitOutcome
from .runner.options import AnalysisOptions
from .stages.compress import CompressOptions, compress, parse_subtitles
from .storage.export import FORMATS, export_bytes, write_export

__all__ = [
    "AnalysisOptions", "CompressOptions", "DeterministicError", "ExtractionResult", "FORMATS", "FetchedVideo",
    "GeoHit", "JobManager", "JobView", "PHASE_WEIGHTS", "PartialError", "PipelineError", "Place", "Segment", "Settings",
    "SubmitOutcome", "Transcript", "TransientError", "Window", "Workbench", "compress", "demo_sources",
    "export_bytes", "get_settings", "parse_subtitles", "write_export",
]
