"""Settings, read from the environment (prefix ``VIDEOMAP_``) or a ``.env`` file.

pydantic-settings validates them once; every stage receives the plain option
dataclasses derived from here, never the Settings object itself.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIDEOMAP_", env_file=".env", extra="ignore")

    # storage
    db_path: Path = Field(default=DATA_DIR / "workbench.duckdb")
    cache_dir: Path = Field(default=DATA_DIR / "cache")
    media_dir: Path = Field(default=DATA_DIR / "media")

    # network
    offline: bool = False
    allow_private_addresses: bool = False  # SSRF guard; only for trusted setups
    allow_generic_extractor: bool = False

    # fetch
    subtitle_langs: list[str] = Field(default_factory=lambda: ["en", "en-.*", "zh-Hans", "zh.*"])
    max_playlist_items: int = 50

    # transcription
    asr_model: str = "tiny.en"  # "tiny.en" = the bundled offline model
    asr_device: str = "auto"  # "auto" | "cpu" | "cuda"
    asr_compute_type: str = "auto"  # "auto" = float16 on CUDA, int8 on CPU
    asr_beam_size: int = 5
    asr_language: str | None = None
    asr_cpu_threads: int = 0  # 0 = faster-whisper's default
    asr_queue_size: int = 32
    asr_item_timeout_s: float = 3600.0  # per queued item, from its start; over it: StageTimeoutError

    # compression
    window_tokens: int = 1500

    # extraction
    extractor: str = "offline"  # "offline" | "llm"
    llm_model: str | None = None  # any litellm model id, e.g. "openai/gpt-4o-mini"
    llm_api_base: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 3  # tries per LLM request in all (1 = no retry); the only LLM retry layer

    # geocoding
    geocoder: str = "auto"  # "auto" (nominatim online + real user agent, else gazetteer) | "gazetteer" | "nominatim"
    nominatim_user_agent: str = "video-map-workbench/0.1 (set VIDEOMAP_NOMINATIM_USER_AGENT)"
    nominatim_domain: str = "nominatim.openstreetmap.org"
    nominatim_scheme: str = "https"
    nominatim_timeout_s: float = 10.0
    nominatim_min_delay_s: float = 1.0

    # workers
    io_workers: int = 4
    job_workers: int = 2
    job_timeout_s: float = 6 * 3600.0  # a job running longer ends `failed`; 0 = no limit
    job_heartbeat_s: float = 10.0  # how often the coordinator marks its running jobs alive

    # the HTTP API (pipeline/service): loopback by default; any other address needs api_key
    api_host: str = "127.0.0.1"
    api_port: int = 8000  # 0 = any free port
    api_key: SecretStr | None = None  # sent as X-API-Key; required off loopback
    cors_origins: list[str] = Field(default_factory=list)  # an allow-list; "*" is refused
    api_media_roots: list[Path] = Field(default_factory=list)  # server folders a `source` path may name
    upload_max_mb: float = 200.0
    api_submit_rate_per_minute: int = 120  # per client; over it: 429 with Retry-After

    # scale-out (pipeline/runner/celery_app.py): stages as Celery tasks on Redis-fed worker queues
    dispatcher: str = "threads"  # "threads" (this process) | "celery" (workers through broker_url)
    broker_url: str = "redis://127.0.0.1:6379/0"  # Redis: broker, results, dead letters, shared limits
    artefact_store: str = ""  # where audio travels between hosts: "" = media_dir; or any fsspec URL (s3://...)
    stage_retries: int = 3  # tries per stage in all for transient errors (backoff with jitter); then dead letters
    stage_retry_wait_s: float = 1.0  # backoff base: 1, 2, 4 ... seconds, plus jitter
    stage_soft_time_limit_s: float = 3 * 3600.0  # a stage task past it is asked to stop (StageTimeoutError)
    stage_time_limit_s: float = 3 * 3600.0 + 300.0  # ... and killed past this
    broker_visibility_timeout_s: float = 4 * 3600.0  # unacked task redelivered after it; > the longest task
    worker_heartbeat_s: float = 2.0  # a running task's sign of life; three missed = its worker vanished
    maintenance_interval_s: float = 30.0  # Beat: re-queue vanished work, remove temporary media, queue depths
    celery_jobs_in_flight: int = 16  # jobs the coordinator follows at once with the Celery dispatcher
    llm_rate_per_minute: float = 0.0  # requests per minute for all workers together; 0 = no limit


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
