"""What an analysis is asked to do: the analyst's options, composed from the stages' own
option records, and the strategy (extractor, geocoder and the hash of everything that
changes results)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..datatypes import Record
from ..errors import ConfigurationError
from ..stages.compress import CompressOptions
from ..stages.extract import Extractor, get_extractor
from ..stages.fetch import FetchOptions
from ..stages.geocode import Geocoder, get_geocoder
from ..stages.transcribe import TranscribeOptions
from .cache import stable_hash

logger = logging.getLogger(__name__)

STRATEGY_SCHEMA = "3"  # bump when the meaning of stored results changes


@dataclass
class AnalysisOptions(Record):
    """What the analyst chose for a batch. Everything that changes results is in
    ``strategy_config``; the rest (priority, force, network guards) is not."""

    offline: bool = False
    extractor: str = "auto"  # "auto" = llm when llm_model is set and online, else offline
    geocoder: str = "gazetteer"  # "gazetteer" | "nominatim" (online, falls back to the gazetteer) | "auto"
    llm_model: str | None = None
    llm_api_base: str | None = None
    llm_timeout_s: float = 60.0
    asr_model: str = "tiny.en"
    asr_beam_size: int = 5
    asr_language: str | None = None
    asr_device: str = "auto"
    asr_compute_type: str = "auto"
    subtitle_langs: list[str] = field(default_factory=lambda: ["en", "en-.*", "zh-Hans", "zh.*"])
    window_tokens: int = 1500
    allow_private_addresses: bool = False
    allow_generic_extractor: bool = False
    max_playlist_items: int = 50
    media_dir: str = "data/media"
    nominatim_user_agent: str | None = None
    nominatim_domain: str = "nominatim.openstreetmap.org"
    nominatim_scheme: str = "https"
    force: bool = False

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> AnalysisOptions:
        base = cls(
            offline=settings.offline,
            extractor=settings.extractor if settings.extractor != "offline" or not settings.llm_model else "auto",
            geocoder=settings.geocoder,
            llm_model=settings.llm_model,
            llm_api_base=settings.llm_api_base,
            llm_timeout_s=settings.llm_timeout_s,
            asr_model=settings.asr_model,
            asr_beam_size=settings.asr_beam_size,
            asr_language=settings.asr_language,
            asr_device=settings.asr_device,
            asr_compute_type=settings.asr_compute_type,
            subtitle_langs=list(settings.subtitle_langs),
            window_tokens=settings.window_tokens,
            allow_private_addresses=settings.allow_private_addresses,
            allow_generic_extractor=settings.allow_generic_extractor,
            max_playlist_items=settings.max_playlist_items,
            media_dir=str(settings.media_dir),
            nominatim_user_agent=settings.nominatim_user_agent,
            nominatim_domain=settings.nominatim_domain,
            nominatim_scheme=settings.nominatim_scheme,
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(base, key, value)
        return base

    # -- derived stage options
    def extractor_name(self) -> str:
        if self.extractor == "auto":
            return "llm" if self.llm_model and not self.offline else "offline"
        if self.extractor == "llm":
            if self.offline:
                raise ConfigurationError(
                    "The LLM extractor needs the network; drop --offline or use --extractor offline.")
            if not self.llm_model:
                raise ConfigurationError("No LLM model configured: pass --llm-model or set VIDEOMAP_LLM_MODEL.")
        return self.extractor

    def geocoder_name(self) -> str:
        """``auto``: Nominatim (the gazetteer as fallback) when online and a real User-Agent
        is configured - Nominatim's policy, and why tests/CI with the default stay offline -
        else the gazetteer."""
        if self.geocoder == "auto":
            from ..stages.geocode_nominatim import is_acceptable_user_agent

            online = not self.offline and is_acceptable_user_agent(self.nominatim_user_agent)
            return "nominatim+gazetteer" if online else "gazetteer"
        if self.geocoder == "gazetteer":
            return "gazetteer"
        if self.geocoder.startswith("nominatim"):
            return "gazetteer" if self.offline else "nominatim+gazetteer"
        return self.geocoder

    def fetch_options(self) -> FetchOptions:
        return FetchOptions(
            offline=self.offline,
            subtitle_langs=list(self.subtitle_langs),
            allow_private_addresses=self.allow_private_addresses,
            allow_generic_extractor=self.allow_generic_extractor,
            max_playlist_items=self.max_playlist_items,
            media_dir=self.media_dir,
        )

    def transcribe_options(self) -> TranscribeOptions:
        return TranscribeOptions(
            model=self.asr_model, device=self.asr_device, compute_type=self.asr_compute_type,
            beam_size=self.asr_beam_size, language=self.asr_language, local_files_only=self.offline,
        )

    def compress_options(self) -> CompressOptions:
        return CompressOptions(window_tokens=self.window_tokens)


def make_extractor(options: AnalysisOptions, settings: Any = None) -> Extractor:
    name = options.extractor_name()
    if name == "llm":
        from ..config import get_settings

        settings = settings or get_settings()
        key = settings.llm_api_key
        return get_extractor(
            "llm", model=options.llm_model, api_base=options.llm_api_base,
            api_key=key.get_secret_value() if key else None, timeout_s=options.llm_timeout_s,
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
            name, user_agent=options.nominatim_user_agent or "", domain=options.nominatim_domain,
            scheme=options.nominatim_scheme, timeout_s=settings.nominatim_timeout_s,
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
        "asr": {"model": options.asr_model, "beam": options.asr_beam_size, "language": options.asr_language},
        "subtitle_langs": list(options.subtitle_langs),
        "compress": options.compress_options().to_dict(),
        "extractor": extractor.config(),
        "geocoder": geocoder.config(),
    }
    return Strategy(stable_hash(config, 12), config, extractor, geocoder)


