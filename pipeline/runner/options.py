"""What an analysis is asked to do: the analyst's options, composed from the stages' own
option records, and the strategy (extractor, geocoder and the hash of everything that
changes results)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..datatypes import Record
from ..errors import ConfigurationError
from ..stages.compress import CompressOptions
from ..stages.extract import ExtractOptions, Extractor, get_extractor
from ..stages.fetch import FetchOptions
from ..stages.geocode import GeocodeOptions, Geocoder, get_geocoder
from ..stages.transcribe import TranscribeOptions
from .cache import stable_hash

logger = logging.getLogger(__name__)

STRATEGY_SCHEMA = "3"  # bump when the meaning of stored results changes


#: the flat names analysts, the CLI, the API and settings use, and the stage option each one
#: sets: (stage record, field). The stored options are the composed records; flat names are
#: accepted as overrides and in option rows stored before the records were composed.
FLAT_NAMES: dict[str, tuple[str, str]] = {
    "subtitle_langs": ("fetch", "subtitle_langs"),
    "allow_private_addresses": ("fetch", "allow_private_addresses"),
    "allow_generic_extractor": ("fetch", "allow_generic_extractor"),
    "max_playlist_items": ("fetch", "max_playlist_items"),
    "media_dir": ("fetch", "media_dir"),
    "asr_model": ("transcribe", "model"),
    "asr_beam_size": ("transcribe", "beam_size"),
    "asr_language": ("transcribe", "language"),
    "asr_device": ("transcribe", "device"),
    "asr_compute_type": ("transcribe", "compute_type"),
    "window_tokens": ("compress", "window_tokens"),
    "extractor": ("extract", "extractor"),
    "llm_model": ("extract", "llm_model"),
    "llm_api_base": ("extract", "llm_api_base"),
    "llm_timeout_s": ("extract", "llm_timeout_s"),
    "geocoder": ("geocode", "geocoder"),
    "nominatim_user_agent": ("geocode", "nominatim_user_agent"),
    "nominatim_domain": ("geocode", "nominatim_domain"),
    "nominatim_scheme": ("geocode", "nominatim_scheme"),
}
#: the batch-level fields (not any one stage's)
BATCH_FIELDS = ("offline", "force")

_STAGE_RECORDS: dict[str, type[Record]] = {
    "fetch": FetchOptions, "transcribe": TranscribeOptions, "compress": CompressOptions,
    "extract": ExtractOptions, "geocode": GeocodeOptions,
}


@dataclass
class AnalysisOptions(Record):
    """What the analyst chose for a batch: one option record per stage, plus the batch's
    ``offline`` switch (it also sets ``fetch.offline`` and ``transcribe.local_files_only``)
    and ``force``. Everything that changes results is in ``strategy_config``; the rest
    (priority, force, network guards) is not."""

    fetch: FetchOptions = field(default_factory=FetchOptions)
    transcribe: TranscribeOptions = field(default_factory=TranscribeOptions)
    compress: CompressOptions = field(default_factory=CompressOptions)
    extract: ExtractOptions = field(default_factory=ExtractOptions)
    geocode: GeocodeOptions = field(default_factory=GeocodeOptions)
    offline: bool = False
    force: bool = False

    def __post_init__(self) -> None:
        self.sync()

    def sync(self) -> None:
        """Carry the batch's ``offline`` into the stage records that depend on it."""
        self.fetch.offline = self.offline
        self.transcribe.local_files_only = self.offline

    def set(self, **values: Any) -> AnalysisOptions:
        """Set options by their flat names (``asr_model=…``, ``window_tokens=…``) or batch
        fields; ``None`` keeps the current value. Returns self."""
        for key, value in values.items():
            if value is None:
                continue
            if key in BATCH_FIELDS:
                setattr(self, key, value)
            elif key in FLAT_NAMES:
                stage, name = FLAT_NAMES[key]
                setattr(getattr(self, stage), name, list(value) if isinstance(value, tuple) else value)
            else:
                raise ConfigurationError(f"Unknown analysis option {key!r}.")
        self.sync()
        return self

    def flat(self) -> dict[str, Any]:
        """The options by their flat names (what the CLI and the API call them)."""
        out = {key: getattr(self, key) for key in BATCH_FIELDS}
        for key, (stage, name) in FLAT_NAMES.items():
            out[key] = getattr(getattr(self, stage), name)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnalysisOptions:
        """The composed records as stored; flat keys (rows stored before) are read too."""
        records = {stage: record.from_dict(data[stage]) for stage, record in _STAGE_RECORDS.items()
                   if isinstance(data.get(stage), dict)}
        options = cls(**records)  # type: ignore[arg-type]
        flat = {k: v for k, v in data.items() if k in FLAT_NAMES or k in BATCH_FIELDS}
        return options.set(**flat)

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> AnalysisOptions:
        extractor = settings.extractor if settings.extractor != "offline" or not settings.llm_model else "auto"
        base = cls(offline=settings.offline).set(
            extractor=extractor,
            **{key: _plain(getattr(settings, key)) for key in FLAT_NAMES if key != "extractor"},
        )
        return base.set(**overrides)

    # -- what the choices mean
    def extractor_name(self) -> str:
        choice = self.extract
        if choice.extractor == "auto":
            return "llm" if choice.llm_model and not self.offline else "offline"
        if choice.extractor == "llm":
            if self.offline:
                raise ConfigurationError(
                    "The LLM extractor needs the network; drop --offline or use --extractor offline.")
            if not choice.llm_model:
                raise ConfigurationError("No LLM model configured: pass --llm-model or set VIDEOMAP_LLM_MODEL.")
        return choice.extractor

    def geocoder_name(self) -> str:
        """``auto``: Nominatim (the gazetteer as fallback) when online and a real User-Agent
        is configured - Nominatim's policy, and why tests/CI with the default stay offline -
        else the gazetteer."""
        choice = self.geocode.geocoder
        if choice == "auto":
            from ..stages.geocode_nominatim import is_acceptable_user_agent

            online = not self.offline and is_acceptable_user_agent(self.geocode.nominatim_user_agent)
            return "nominatim+gazetteer" if online else "gazetteer"
        if choice.startswith("nominatim"):
            return "gazetteer" if self.offline else "nominatim+gazetteer"
        return choice

    # copies of the stages' own records, as each stage function receives them
    def fetch_options(self) -> FetchOptions:
        return FetchOptions.from_dict(self.fetch.to_dict())

    def transcribe_options(self) -> TranscribeOptions:
        return TranscribeOptions.from_dict(self.transcribe.to_dict())

    def compress_options(self) -> CompressOptions:
        return CompressOptions.from_dict(self.compress.to_dict())


def _plain(value: Any) -> Any:
    """A settings value as the JSON-able option it becomes (paths as strings, lists copied)."""
    if isinstance(value, Path):
        return str(value)
    return list(value) if isinstance(value, list | tuple) else value


def make_extractor(options: AnalysisOptions, settings: Any = None) -> Extractor:
    name = options.extractor_name()
    if name == "llm":
        from ..config import get_settings

        settings = settings or get_settings()
        key = settings.llm_api_key
        return get_extractor(
            "llm", model=options.extract.llm_model, api_base=options.extract.llm_api_base,
            api_key=key.get_secret_value() if key else None, timeout_s=options.extract.llm_timeout_s,
            max_retries=settings.llm_max_retries, max_workers=settings.io_workers,
            rate_per_minute=settings.llm_rate_per_minute,
        )
    return get_extractor(name)


def make_geocoder(options: AnalysisOptions, settings: Any = None) -> Geocoder:
    name = options.geocoder_name()
    if name.startswith("nominatim"):
        from ..config import get_settings

        settings = settings or get_settings()
        return get_geocoder(
            name, user_agent=options.geocode.nominatim_user_agent or "", domain=options.geocode.nominatim_domain,
            scheme=options.geocode.nominatim_scheme, timeout_s=settings.nominatim_timeout_s,
            min_delay_s=settings.nominatim_min_delay_s,
        )
    return get_geocoder(name)


@dataclass
class Strategy:
    version: str
    config: dict[str, Any]
    extractor: Extractor
    geocoder: Geocoder


def build_strategy(options: AnalysisOptions, settings: Any = None) -> Strategy:
    """strategy_version = hash of everything that changes results."""
    extractor = make_extractor(options, settings)
    geocoder = make_geocoder(options, settings)
    config = {
        "schema": STRATEGY_SCHEMA,
        "asr": {"model": options.transcribe.model, "beam": options.transcribe.beam_size,
                "language": options.transcribe.language},
        "subtitle_langs": list(options.fetch.subtitle_langs),
        "compress": options.compress_options().to_dict(),
        "extractor": extractor.config(),
        "geocoder": geocoder.config(),
    }
    return Strategy(stable_hash(config, 12), config, extractor, geocoder)


