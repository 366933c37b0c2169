"""The extractor interface and its registry.

Two extractors ship: ``offline`` (gazetteer-driven, no key, no network;
``pipeline.geo.recogniser``) and ``llm`` (any litellm model with JSON-schema
output; ``pipeline.stages.extract_llm``). Tests register fakes with
``register_extractor``, the way simonw/llm registers fake models.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..datatypes import ExtractionResult, Record, Window
from ..errors import ConfigurationError


@dataclass
class ExtractOptions(Record):
    """Which extractor reads the windows, and the LLM's connection when it is ``llm``."""

    extractor: str = "auto"  # "auto" = llm when llm_model is set and online, else offline
    llm_model: str | None = None  # a litellm model name, e.g. "openai/gpt-4o-mini"
    llm_api_base: str | None = None
    llm_timeout_s: float = 60.0


@runtime_checkable
class Extractor(Protocol):
    name: str

    def config(self) -> dict[str, Any]:
        """Everything that changes this extractor's results (goes into strategy_version)."""

    def extract(
        self, windows: list[Window], *, title: str = "", language: str | None = None,
        on_progress: Callable[[float], None] | None = None,
    ) -> ExtractionResult:
        """Places (grounded in the windows' text) and topics of one video; ``on_progress``
        gets the share of the work done (0..1) as it goes."""


ExtractorFactory = Callable[..., Extractor]
_REGISTRY: dict[str, ExtractorFactory] = {}


def register_extractor(name: str, factory: ExtractorFactory) -> None:
    _REGISTRY[name] = factory


def get_extractor(name: str, **options: Any) -> Extractor:
    if name not in _REGISTRY:
        _load_builtin(name)
    try:
        factory = _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ConfigurationError(f"Unknown extractor {name!r} (known: {known}).") from None
    return factory(**options)


#: the shipped extractors, imported when first asked for (the implementations do not import
#: this registry, so there is no import loop between them)
BUILTIN_EXTRACTORS = {
    "offline": "pipeline.geo.recogniser:OfflineExtractor",
    "llm": "pipeline.stages.extract_llm:LLMExtractor",
}


def _load_builtin(name: str) -> None:
    if name in BUILTIN_EXTRACTORS:
        module, attr = BUILTIN_EXTRACTORS[name].split(":")
        _REGISTRY[name] = getattr(importlib.import_module(module), attr)
