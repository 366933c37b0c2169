"""Every setting does something, and the settings fixed in the hardening pass do what they say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ quiet output
def test_storage_connections_draw_no_progress_bar(tmp_path) -> None:
    """DuckDB draws a progress bar on stdout for queries over 2 s unless told not to.

    Checked in a fresh interpreter: under pytest's capture DuckDB starts with it off.
    """
    code = (
        "import sys; from pipeline.storage import Storage\n"
        "Storage(sys.argv[1]).close()\n"
        "for ro in (False, True):\n"
        "    s = Storage(sys.argv[1], read_only=ro)\n"
        "    print(s._con.execute(\"SELECT current_setting('enable_progress_bar')\").fetchone()[0])\n"
        "    s.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "q.duckdb")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["False", "False"]


# ------------------------------------------------------------------ every setting is read
SEARCHED = [ROOT / "pipeline", ROOT / "pages", ROOT / "app.py", ROOT / "scripts"]


def _source_text() -> str:
    texts = []
    for place in SEARCHED:
        files = [place] if place.is_file() else sorted(p for p in place.rglob("*") if p.suffix in (".py", ".sh"))
        for path in files:
            if path == ROOT / "pipeline" / "config.py" or not path.is_file():
                continue
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


def test_every_setting_is_read_somewhere() -> None:
    """A field only config.py mentions is a setting that does nothing (as asr_item_timeout_s was)."""
    import re

    from pipeline.config import Settings

    text = _source_text()
    unread = [
        name for name in Settings.model_fields
        if not re.search(rf"\.{name}\b|[\"']{name}[\"']|\bVIDEOMAP_{name.upper()}\b", text)
    ]
    assert not unread, f"settings never read outside config.py: {unread}"


# ------------------------------------------------------------------ geocoder = "auto"
REAL_AGENT = "video-map-workbench-tests/0.1 (tests@example.org)"


def _options(settings, **update):
    from pipeline.runner.options import AnalysisOptions

    return AnalysisOptions.from_settings(settings.model_copy(update=update))


def test_auto_geocoder_is_nominatim_online_with_a_real_user_agent(settings) -> None:
    from pipeline.runner.options import make_geocoder
    from pipeline.stages.geocode_nominatim import NominatimThenGazetteer

    online = settings.model_copy(update={"offline": False, "geocoder": "auto", "nominatim_user_agent": REAL_AGENT,
                                         "nominatim_domain": "127.0.0.1:9", "nominatim_scheme": "http"})
    options = _options(online)
    assert options.geocoder_name() == "nominatim+gazetteer"
    geocoder = make_geocoder(options, online)
    assert isinstance(geocoder, NominatimThenGazetteer) and geocoder.primary.domain == "127.0.0.1:9"


def test_auto_geocoder_is_the_gazetteer_offline_or_without_a_user_agent(settings) -> None:
    assert _options(settings, geocoder="auto", offline=True, nominatim_user_agent=REAL_AGENT).geocoder_name() \
        == "gazetteer"
    # the shipped sample user agent is refused by Nominatim: auto must not pick it (tests and CI stay offline)
    assert _options(settings, geocoder="auto", offline=False).geocoder_name() == "gazetteer"
    assert _options(settings, geocoder="gazetteer", offline=False,
                    nominatim_user_agent=REAL_AGENT).geocoder_name() == "gazetteer"


# ------------------------------------------------------------------ asr_item_timeout_s
def test_asr_item_timeout_stops_a_long_transcription(settings, tmp_path) -> None:
    import wave

    import numpy as np
    from faster_whisper.audio import decode_audio

    from pipeline.api import Workbench

    clip = tmp_path / "long.wav"
    audio = np.concatenate([decode_audio(str(ROOT / "tests" / "data" / "librispeech-2300-131720-0000.wav"),
                                         sampling_rate=16000)] * 12)
    with wave.open(str(clip), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    bench = Workbench(settings.model_copy(update={"asr_item_timeout_s": 0.5}))
    try:
        [outcome] = bench.submit([str(clip)], bench.options(offline=True))
        [job] = bench.wait([outcome.job.job_id], timeout=180)
    finally:
        bench.shutdown(wait=True)
    assert job.status == "failed", job
    assert job.error["type"] == "StageTimeoutError"  # transient: may finish on a less busy machine
    assert "time limit of 0.5s" in job.error["message"] and "VIDEOMAP_ASR_ITEM_TIMEOUT_S" in job.error["message"]


# ------------------------------------------------------------------ llm_max_retries
def test_llm_max_retries_reaches_the_extractor(settings) -> None:
    """Behaviour (requests sent per try setting) is in test_extract_llm; here: it is wired and checked."""
    from pipeline.errors import ConfigurationError
    from pipeline.runner.options import AnalysisOptions, make_extractor
    from pipeline.stages.extract import ExtractOptions

    options = AnalysisOptions(extract=ExtractOptions(extractor="llm", llm_model="openai/stub",
                                                 llm_api_base="http://127.0.0.1:9/v1"))
    for tries in (1, 5):
        online = settings.model_copy(update={"offline": False, "llm_max_retries": tries})
        assert make_extractor(options, online).max_retries == tries
    with pytest.raises(ConfigurationError, match="VIDEOMAP_LLM_MAX_RETRIES"):
        make_extractor(options, settings.model_copy(update={"offline": False, "llm_max_retries": 0}))


# ------------------------------------------------------------------ options composed from the stages' records
def test_options_are_the_stages_own_records_and_old_flat_rows_still_read(settings) -> None:
    from pipeline.runner.options import AnalysisOptions, build_strategy
    from pipeline.stages.compress import CompressOptions
    from pipeline.stages.fetch import FetchOptions
    from pipeline.stages.transcribe import TranscribeOptions

    options = AnalysisOptions.from_settings(settings, asr_model="small", window_tokens=77, geocoder="nominatim",
                                            subtitle_langs=["de"], offline=True)
    assert isinstance(options.fetch, FetchOptions) and options.fetch.subtitle_langs == ["de"]
    assert isinstance(options.transcribe, TranscribeOptions) and options.transcribe.model == "small"
    assert isinstance(options.compress, CompressOptions) and options.compress.window_tokens == 77
    assert options.geocode.geocoder == "nominatim" and options.geocoder_name() == "gazetteer"  # offline
    # the batch's offline switch reaches the stages that depend on it
    assert options.fetch_options().offline and options.transcribe_options().local_files_only
    stored = options.to_dict()
    assert set(stored) == {"fetch", "transcribe", "compress", "extract", "geocode", "offline", "force"}
    assert AnalysisOptions.from_dict(stored) == options
    # a job row stored with the flat fields of before reads into the same records and strategy
    legacy = dict(options.flat(), media_dir=options.fetch.media_dir)
    assert "asr_model" in legacy and "transcribe" not in legacy
    again = AnalysisOptions.from_dict(legacy)
    assert again == options
    assert build_strategy(again, settings).version == build_strategy(options, settings).version
    # a stage option's copy is the stage's to change
    copy = options.transcribe_options()
    copy.cpu_threads = 3
    assert options.transcribe.cpu_threads == 0


def test_an_unknown_option_name_is_a_clear_error(settings) -> None:
    from pipeline.errors import ConfigurationError
    from pipeline.runner.options import AnalysisOptions

    with pytest.raises(ConfigurationError, match="asr_modle"):
        AnalysisOptions.from_settings(settings, asr_modle="small")
