"""Stage 1 (fetch): local files, the SSRF guard, yt-dlp metadata/subtitles/audio, links.

yt-dlp is exercised the way it tests itself: saved info-dict fixtures
(tests/data/fetch/*.json) are returned by the YouTube extractors in place of
the live site and then go through yt-dlp's real processing, HTTP stack and
downloader, against a loopback server on 127.0.0.1. No real network.
"""

from __future__ import annotations

import copy
import hashlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from yt_dlp.extractor.youtube import YoutubeIE, YoutubeTabIE
from yt_dlp.utils import ExtractorError

from pipeline import netguard
from pipeline.errors import (
    BlockedSourceError,
    CorruptMediaError,
    DeterministicError,
    InvalidSourceError,
    OfflineError,
    PipelineError,
    RateLimitedError,
    ServiceUnavailableError,
    StageTimeoutError,
    SubtitleParseError,
    UnsupportedSourceError,
)
from pipeline.links import url_at_time
from pipeline.netguard import check_url
from pipeline.stages.fetch import (
    FetchOptions,
    choose_subtitles,
    classify_source,
    clean_message,
    fetch_source,
    read_source_list,
)

FIXTURES = Path(__file__).parent / "data" / "fetch"
PUBLIC_IP = "93.184.216.34"  # stands in for a public address; never connected to
ALLOW_HINT = "VIDEOMAP_ALLOW_PRIVATE_ADDRESSES=true"

MANUAL_EN_VTT = "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nWe start at Shibuya Crossing.\n"
AUTO_EN_VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:03.000\nleaving passau this morning\n"
ZH_SRT = "1\n00:00:01,000 --> 00:00:03,000\n我们在台北车站\n"
AUDIO_BYTES = b"\x00\x00\x00\x18ftypM4A " + bytes(range(256)) * 8
VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 512


# --------------------------------------------------------------------- stub server
class SiteStub:
    """Path-routed loopback server: static routes, /status/<code>, /slow, /redirect-secret.

    Bounded: serves at most ``max_requests`` connections, polls a stop flag, and is
    closed by the fixture.
    """

    def __init__(self, max_requests: int = 200) -> None:
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.hits: list[str] = []
        self.max_requests = max_requests
        self._stop = threading.Event()
        self._accepted = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, ctype: str = "text/plain", headers: dict | None = None) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                except OSError:
                    pass
                self.close_connection = True

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                stub.hits.append(path)
                if path.startswith("/status/"):
                    self._send(int(path.rsplit("/", 1)[1]), b"stub status")
                elif path == "/slow":
                    stub._stop.wait(2.0)
                    self._send(200, b"too late")
                elif path == "/redirect-secret":
                    self._send(302, b"", headers={"Location": f"http://127.0.0.1:{stub.port}/secret"})
                elif path in stub.routes:
                    body, ctype = stub.routes[path]
                    self._send(200, body, ctype)
                else:
                    self._send(404, b"not found")

            do_HEAD = do_GET

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request: Any, client_address: Any) -> bool:
                stub._accepted += 1
                return True

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.timeout = 0.05
        self.port = self._httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set() and self._accepted < self.max_requests:
            self._httpd.handle_request()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._httpd.server_close()


@pytest.fixture
def site():
    stub = SiteStub()
    stub.routes.update(
        {
            "/subs/manual_en.vtt": (MANUAL_EN_VTT.encode(), "text/vtt"),
            "/subs/manual_en.json3": (b'{"events": []}', "application/json"),
            "/subs/manual_zh.srt": (ZH_SRT.encode(), "text/plain; charset=utf-8"),
            "/subs/auto_en.vtt": (AUTO_EN_VTT.encode(), "text/vtt"),
            "/subs/auto_en.json3": (b'{"events": []}', "application/json"),
            "/media/audio.m4a": (AUDIO_BYTES, "audio/mp4"),
            "/media/video.mp4": (VIDEO_BYTES, "video/mp4"),
            "/secret": (b"internal only", "text/plain"),
            "/page.html": (b"<html><head><title>Holiday</title></head><body>No video here.</body></html>", "text/html"),
        }
    )
    yield stub
    stub.close()


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch):
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def load_fixture(name: str, server: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8").replace("{SERVER}", server))


# Saved info dicts by video id; other ids reach the stub server through yt-dlp's own HTTP code.
VIDEO_FIXTURES = {
    "vidSubs0001": "youtube_video_subs.json",
    "vidAuto0002": "youtube_video_autocaps.json",
    "vidNone0003": "youtube_video_nosubs.json",
}


@pytest.fixture
def fake_youtube(monkeypatch, site):
    """YouTube extractors answer from the saved fixtures (no youtube.com)."""
    infos = {vid: load_fixture(name, site.base) for vid, name in VIDEO_FIXTURES.items()}
    playlists = {"PLfetchTestPlaylist01": load_fixture("youtube_playlist.json", site.base)}
    bad = copy.deepcopy(playlists["PLfetchTestPlaylist01"])
    bad["id"] = "PLfetchAllBroken01"
    bad["entries"] = [e for e in bad["entries"] if e["id"] == "vidPriv0004"] * 2
    playlists[bad["id"]] = bad
    dead_port = _free_port()

    def video_extract(self, url):
        video_id = self._match_id(url)
        if video_id in infos:
            return copy.deepcopy(infos[video_id])
        if video_id == "vidPriv0004":
            raise ExtractorError(
                "Private video. Sign in if you've been granted access to this video", expected=True, video_id=video_id
            )
        remote = {
            "vidR4290005": f"{site.base}/status/429",
            "vidE5030006": f"{site.base}/status/503",
            "vidN4040007": f"{site.base}/status/404",
            "vidSlow0008": f"{site.base}/slow",
            "vidDead0009": f"http://127.0.0.1:{dead_port}/watch",
            "vidRdir0011": f"http://public.test:{site.port}/redirect-secret",
        }
        if video_id in remote:
            self._download_webpage(remote[video_id], video_id)
        if video_id == "vidBoom0010":
            raise RuntimeError("extractor exploded")
        raise ExtractorError("Video unavailable", expected=True, video_id=video_id)

    def tab_extract(self, url):
        list_id = url.split("list=", 1)[1].split("&", 1)[0]
        return copy.deepcopy(playlists[list_id])

    noop = lambda self: None  # noqa: E731
    monkeypatch.setattr(YoutubeIE, "_real_initialize", noop)
    monkeypatch.setattr(YoutubeTabIE, "_real_initialize", noop)
    monkeypatch.setattr(YoutubeIE, "_real_extract", video_extract)
    monkeypatch.setattr(YoutubeTabIE, "_real_extract", tab_extract)
    return infos


@pytest.fixture
def public_dns(monkeypatch):
    """Pretend www.youtube.com and public.test are public; public.test connects to 127.0.0.1.

    Lets the SSRF guard run with its default (private addresses refused) while the
    bytes still come from the loopback stub.
    """
    real_resolve = netguard._resolve
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host):
        if host in ("www.youtube.com", "youtube.com", "public.test"):
            return [netguard.ipaddress.ip_address(PUBLIC_IP)]
        return real_resolve(host)

    def getaddrinfo(host, *args, **kwargs):
        return real_getaddrinfo("127.0.0.1" if host == "public.test" else host, *args, **kwargs)

    monkeypatch.setattr(netguard, "_resolve", resolve)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def loopback_options(tmp_path: Path, **kw: Any) -> FetchOptions:
    return FetchOptions(allow_private_addresses=True, media_dir=str(tmp_path / "media"), **kw)


def watch(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


# ------------------------------------------------------------------ SSRF guard
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/admin", "127.0.0.1 is a loopback address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private network address"),
        ("http://192.168.1.20:8080/x", "192.168.1.20 is a private network address"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "is a loopback address (IPv4 inside IPv6)"),
        ("http://[fe80::1]/", "is a link-local address"),
        ("http://[fd00::5]/", "is a private network address"),
        ("http://0.0.0.0:8501/", "0.0.0.0 is an unspecified address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://100.64.1.1/", "100.64.1.1 is a non-public address"),
        ("http://localhost:8501/", "localhost ("),
        ("http://127.1/", "127.1 (127.0.0.1) is a loopback address"),
        ("http://2130706433/", "2130706433 (127.0.0.1) is a loopback address"),
    ],
)
def test_check_url_refuses_internal_addresses(url, reason):
    with pytest.raises(BlockedSourceError) as info:
        check_url(url)
    assert reason in info.value.message
    assert "server-side request forgery" in info.value.message
    assert ALLOW_HINT in info.value.message


def test_localhost_resolves_to_loopback_and_is_refused():
    with pytest.raises(BlockedSourceError, match=r"localhost \((127\.0\.0\.1|::1)\) is a loopback address"):
        check_url("http://localhost/")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("file:///etc/passwd", "file: URLs are refused in every mode"),
        ("ftp://ftp.example.org/video.mp4", "ftp: URLs are refused in every mode"),
        ("data:text/plain,hello", "data: URLs are refused in every mode"),
        ("javascript:alert(1)", "javascript: URLs are refused in every mode"),
    ],
)
def test_check_url_refuses_other_schemes(url, shown):
    with pytest.raises(BlockedSourceError) as info:
        check_url(url, allow_private=True)  # the scheme rule holds even for trusted setups
    assert "only http:// and https:// URLs can be fetched" in info.value.message
    assert shown in info.value.message


def test_check_url_allows_public_and_trusted_private():
    check_url(f"https://{PUBLIC_IP}/watch?v=x")
    check_url("http://127.0.0.1:8000/x", allow_private=True)
    check_url("http://10.0.0.1/", allow_private=True)
    with pytest.raises(InvalidSourceError, match="has no host name"):
        check_url("http:///nohost")


@pytest.mark.parametrize(
    "source",
    ["http://127.0.0.1/x", "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data", "http://[::1]/",
     "file:///etc/passwd", "http://localhost/video"],
)
def test_fetch_source_refuses_internal_urls_by_default(source):
    with pytest.raises(BlockedSourceError) as info:
        fetch_source(source, FetchOptions())
    assert info.value.message.startswith(f"Refused {source!r}")


def test_redirect_to_loopback_is_blocked(site, fake_youtube, public_dns, tmp_path):
    # The subtitle URL looks public but redirects to 127.0.0.1: the redirect is refused unsent.
    info = fake_youtube["vidSubs0001"]
    info["subtitles"] = {"en": [{"ext": "vtt", "url": f"http://public.test:{site.port}/redirect-secret"}]}
    with pytest.raises(BlockedSourceError, match=r"127\.0\.0\.1 is a loopback address"):
        fetch_source(watch("vidSubs0001"), FetchOptions(media_dir=str(tmp_path)))
    assert "/redirect-secret" in site.hits
    assert "/secret" not in site.hits


def test_redirect_during_extraction_is_blocked(site, fake_youtube, public_dns, tmp_path):
    with pytest.raises(BlockedSourceError, match=r"Refused 'http://127\.0\.0\.1:\d+/secret'"):
        fetch_source(watch("vidRdir0011"), FetchOptions(media_dir=str(tmp_path)))
    assert "/secret" not in site.hits


def test_private_subtitle_and_media_urls_in_info_are_blocked(site, fake_youtube, public_dns, tmp_path):
    # www.youtube.com counts as public here; the info dict points at loopback URLs.
    with pytest.raises(BlockedSourceError, match=r"127\.0\.0\.1 is a loopback address"):
        fetch_source(watch("vidSubs0001"), FetchOptions(media_dir=str(tmp_path)))
    with pytest.raises(BlockedSourceError, match=r"127\.0\.0\.1 is a loopback address"):
        fetch_source(watch("vidNone0003"), FetchOptions(media_dir=str(tmp_path)))
    assert site.hits == []
    assert not (tmp_path / "youtube_vidNone0003.m4a").exists()


# ------------------------------------------------------------ generic extractor
def test_generic_extractor_refused_by_default(site, tmp_path):
    url = f"{site.base}/page.html"
    with pytest.raises(UnsupportedSourceError) as info:
        fetch_source(url, loopback_options(tmp_path))
    assert info.value.message.startswith(f"Unsupported URL: {url}.")
    assert "generic extractor" in info.value.message
    assert "disabled for safety" in info.value.message
    assert "VIDEOMAP_ALLOW_GENERIC_EXTRACTOR=true" in info.value.message
    assert site.hits == []  # refused before any request


def test_generic_extractor_when_allowed_reads_the_page(site, tmp_path):
    url = f"{site.base}/page.html"
    with pytest.raises(UnsupportedSourceError) as info:
        fetch_source(url, loopback_options(tmp_path, allow_generic_extractor=True))
    assert "no video was found on the page" in info.value.message
    assert "disabled for safety" not in info.value.message
    assert "/page.html" in site.hits


def test_generic_extractor_still_guarded(site, public_dns, tmp_path):
    options = FetchOptions(allow_generic_extractor=True, media_dir=str(tmp_path))
    with pytest.raises(BlockedSourceError, match=r"127\.0\.0\.1 is a loopback address"):
        fetch_source(f"http://public.test:{site.port}/redirect-secret", options)
    assert "/secret" not in site.hits


# ----------------------------------------------------------------- yt-dlp videos
def test_manual_subtitles_preferred_vtt(site, fake_youtube, tmp_path):
    [video] = fetch_source(watch("vidSubs0001"), loopback_options(tmp_path))
    assert video.source == watch("vidSubs0001")
    assert video.video_id == "youtube:vidSubs0001"
    assert video.platform == "youtube"
    assert video.title == "Walking from Shibuya to Harajuku"
    assert video.url == "https://www.youtube.com/watch?v=vidSubs0001"
    assert video.duration == 754.0
    assert (video.subtitle_kind, video.language, video.subtitle_format) == ("manual", "en", "vtt")
    assert video.subtitle_text == MANUAL_EN_VTT
    assert video.content_hash == hashlib.sha256(MANUAL_EN_VTT.encode()).hexdigest()
    assert video.audio_path is None and not video.needs_transcription
    assert video.metadata == {
        "uploader": "Test Walker",
        "channel": "Test Walker",
        "channel_id": "UCtestwalker00000000000",
        "upload_date": "20240115",
    }
    assert site.hits == ["/subs/manual_en.vtt"]  # metadata only: no media, no other tracks
    json.dumps(video.to_dict())  # plain, serialisable


def test_subtitle_language_preference_and_srt(site, fake_youtube, tmp_path):
    [video] = fetch_source(watch("vidSubs0001"), loopback_options(tmp_path, subtitle_langs=["ja", "zh.*", "en"]))
    assert (video.subtitle_kind, video.language, video.subtitle_format) == ("manual", "zh-Hant", "srt")
    assert video.subtitle_text == ZH_SRT


def test_automatic_captions_when_no_manual(site, fake_youtube, tmp_path):
    [video] = fetch_source(watch("vidAuto0002"), loopback_options(tmp_path))
    assert (video.subtitle_kind, video.language, video.subtitle_format) == ("automatic", "en", "vtt")
    assert video.subtitle_text == AUTO_EN_VTT
    assert video.duration == 1312.5
    assert site.hits == ["/subs/auto_en.vtt"]


def test_choose_subtitles_order_skips_live_chat():
    info = {
        "subtitles": {"de": [{"ext": "vtt", "url": "u1"}], "live_chat": [{"ext": "vtt", "url": "chat"}]},
        "automatic_captions": {
            "en": [{"ext": "json3", "url": "u2"}, {"ext": "srv1", "url": "u3"}],
            "en-GB": [{"ext": "ttml", "url": "u4"}],
        },
    }
    picked = [(k, lang, t["url"]) for k, lang, t in choose_subtitles(info, ["en", "en-.*", "de", ".*"])]
    assert picked == [("manual", "de", "u1"), ("automatic", "en", "u2")]


def test_audio_downloaded_when_no_subtitles(site, fake_youtube, tmp_path):
    [video] = fetch_source(watch("vidNone0003"), loopback_options(tmp_path))
    expected = (tmp_path / "media" / "youtube_vidNone0003.m4a").resolve()
    assert video.audio_path == str(expected)
    assert expected.read_bytes() == AUDIO_BYTES
    assert video.content_hash == hashlib.sha256(AUDIO_BYTES).hexdigest()
    assert video.needs_transcription and video.subtitle_text is None
    assert "/media/audio.m4a" in site.hits and "/media/video.mp4" not in site.hits  # bestaudio only


def test_no_audio_download_when_disabled(site, fake_youtube, tmp_path):
    [video] = fetch_source(watch("vidNone0003"), loopback_options(tmp_path, download_audio=False))
    assert video.audio_path is None and video.subtitle_text is None
    assert site.hits == []


def test_playlist_expands_and_keeps_good_entries(site, fake_youtube, tmp_path, caplog):
    source = "https://www.youtube.com/playlist?list=PLfetchTestPlaylist01"
    videos = fetch_source(source, loopback_options(tmp_path))
    assert [v.video_id for v in videos] == ["youtube:vidSubs0001", "youtube:vidAuto0002"]
    assert {v.source for v in videos} == {source}
    assert videos[0].metadata["playlist"] == "Europe by train 2024"
    assert videos[0].metadata["playlist_id"] == "PLfetchTestPlaylist01"
    assert videos[1].metadata["playlist_failed_count"] == 1
    [failure] = videos[1].metadata["playlist_failures"]
    assert failure["error"] == "InvalidSourceError"
    assert "Private video" in failure["message"]
    assert "vidPriv0004" in caplog.text and "failed" in caplog.text


def test_playlist_limit(site, fake_youtube, tmp_path):
    source = "https://www.youtube.com/playlist?list=PLfetchTestPlaylist01"
    videos = fetch_source(source, loopback_options(tmp_path, max_playlist_items=1))
    assert [v.video_id for v in videos] == ["youtube:vidSubs0001"]


def test_playlist_all_failed_raises(site, fake_youtube, tmp_path):
    with pytest.raises(InvalidSourceError) as info:
        fetch_source("https://www.youtube.com/playlist?list=PLfetchAllBroken01", loopback_options(tmp_path))
    assert info.value.message.startswith("All 2 videos of the playlist failed; the first:")
    assert "Private video" in info.value.message


# --------------------------------------------------------------- error mapping
@pytest.mark.parametrize(
    ("video_id", "error", "text"),
    [
        ("vidPriv0004", InvalidSourceError, "unavailable, private, removed or the id is invalid"),
        ("vidR4290005", RateLimitedError, "rate-limiting requests (HTTP 429)"),
        ("vidE5030006", ServiceUnavailableError, "server error (HTTP 503)"),
        ("vidN4040007", InvalidSourceError, "not accessible (HTTP 404)"),
        ("vidDead0009", ServiceUnavailableError, "Could not reach the site"),
        ("vidBoom0010", DeterministicError, "RuntimeError: extractor exploded"),
    ],
)
def test_ytdlp_errors_are_mapped(site, fake_youtube, tmp_path, video_id, error, text):
    with pytest.raises(error) as info:
        fetch_source(watch(video_id), loopback_options(tmp_path))
    assert type(info.value) is error
    assert text in info.value.message
    assert "\x1b[" not in info.value.message and not info.value.message.startswith("ERROR")


def test_timeout_is_transient(site, fake_youtube, tmp_path):
    started = time.monotonic()
    with pytest.raises(StageTimeoutError, match=r"did not answer within 0.3 s"):
        fetch_source(watch("vidSlow0008"), loopback_options(tmp_path, socket_timeout=0.3))
    assert time.monotonic() - started < 10


def test_clean_message_strips_ansi_and_boilerplate():
    raw = (
        "\x1b[0;31mERROR:\x1b[0m [youtube] abc: Something broke; please report this issue on  "
        "https://github.com/yt-dlp/yt-dlp/issues?q= , filling out the appropriate issue template"
    )
    assert clean_message(raw) == "[youtube] abc: Something broke"


# ---------------------------------------------------------------------- offline
def test_offline_refuses_urls_but_reads_files(tmp_path):
    options = FetchOptions(offline=True)
    with pytest.raises(OfflineError) as info:
        fetch_source("https://www.youtube.com/watch?v=dQw4w9WgXcQ", options)
    assert "needs the network; offline mode is on" in info.value.message
    sub = tmp_path / "talk.srt"
    sub.write_text(ZH_SRT, encoding="utf-8")
    media = tmp_path / "clip.wav"
    media.write_bytes(b"RIFF0000WAVE")
    assert fetch_source(str(sub), options)[0].subtitle_text == ZH_SRT
    assert fetch_source(str(media), options)[0].platform == "file"


# ---------------------------------------------------------------- local media
def test_local_media_id_is_content_based(tmp_path):
    data = b"not really audio but bytes" * 1000
    (tmp_path / "a.mp4").write_bytes(data)
    (tmp_path / "renamed.m4a").write_bytes(data)
    (tmp_path / "other.mp4").write_bytes(data + b"!")
    [a] = fetch_source(str(tmp_path / "a.mp4"), FetchOptions())
    [b] = fetch_source(str(tmp_path / "renamed.m4a"), FetchOptions())
    [c] = fetch_source(str(tmp_path / "other.mp4"), FetchOptions())
    digest = hashlib.sha256(data).hexdigest()
    assert a.video_id == b.video_id == f"file:{digest[:16]}"
    assert c.video_id != a.video_id
    assert a.content_hash == digest and a.platform == "file"
    assert a.audio_path == str((tmp_path / "a.mp4").resolve()) and Path(a.audio_path).is_absolute()
    assert a.title == "a.mp4" and b.title == "renamed.m4a"
    assert a.needs_transcription


def test_local_media_duration_from_header(data_dir):
    path = data_dir / "librispeech-2300-131720-0000.wav"
    [video] = fetch_source(str(path), FetchOptions())
    assert video.duration is not None and 1.0 < video.duration < 60.0


def test_empty_media_file_is_corrupt(tmp_path):
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    with pytest.raises(CorruptMediaError, match=r"The media file empty\.mp3 is empty \(0 bytes\)"):
        fetch_source(str(path), FetchOptions())


# --------------------------------------------------------------- subtitle files
def test_subtitle_file_with_bom(tmp_path):
    path = tmp_path / "trip.srt"
    path.write_bytes(b"\xef\xbb\xbf" + ZH_SRT.encode("utf-8"))
    [video] = fetch_source(str(path), FetchOptions())
    assert video.subtitle_text == ZH_SRT
    assert (video.subtitle_format, video.subtitle_kind, video.platform) == ("srt", "file", "file")
    assert video.video_id == "file:" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert video.title == "trip.srt" and video.audio_path is None


def test_subtitle_file_utf16_and_latin1(tmp_path):
    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nArrivée à Besançon\n"
    utf16 = tmp_path / "a.vtt"
    utf16.write_bytes(vtt.encode("utf-16"))
    latin = tmp_path / "b.vtt"
    latin.write_bytes(vtt.encode("latin-1"))
    assert fetch_source(str(utf16), FetchOptions())[0].subtitle_text == vtt
    [video] = fetch_source(str(latin), FetchOptions())
    assert video.subtitle_text == vtt and video.subtitle_format == "vtt"


def test_transcript_txt(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("We drove from Lisbon to Porto.\n", encoding="utf-8")
    [video] = fetch_source(str(path), FetchOptions())
    assert (video.subtitle_format, video.subtitle_kind) == ("txt", "file")


def test_binary_garbage_is_not_subtitles(tmp_path):
    path = tmp_path / "garbage.srt"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(SubtitleParseError, match=r"garbage\.srt looks like a binary file, not subtitles or text"):
        fetch_source(str(path), FetchOptions())
    noisy = tmp_path / "noisy.vtt"
    noisy.write_bytes(bytes(b for b in range(1, 256) if b not in (9, 10, 13)) * 4)  # no NULs, still binary
    with pytest.raises(SubtitleParseError, match="looks like a binary file"):
        fetch_source(str(noisy), FetchOptions())
    empty = tmp_path / "empty.vtt"
    empty.write_bytes(b"\xef\xbb\xbf\n  \n")
    with pytest.raises(SubtitleParseError, match=r"empty\.vtt is empty"):
        fetch_source(str(empty), FetchOptions())


# ------------------------------------------------------------------- classify
def test_classify_source(tmp_path):
    for name in ("a.MP4", "b.wav", "c.webm", "d.opus"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "s.srt").write_text("x")
    (tmp_path / "s.vtt").write_text("x")
    (tmp_path / "t.txt").write_text("x")
    assert classify_source("https://youtu.be/abc") == "url"
    assert classify_source("file:///etc/passwd") == "url"  # refused later by the guard
    assert classify_source("@sources.txt") == "list"
    assert {classify_source(str(tmp_path / n)) for n in ("a.MP4", "b.wav", "c.webm", "d.opus")} == {"media"}
    assert classify_source(str(tmp_path / "s.srt")) == classify_source(str(tmp_path / "s.vtt")) == "subtitle"
    assert classify_source(str(tmp_path / "t.txt")) == "transcript"


def test_classify_source_errors(tmp_path):
    with pytest.raises(InvalidSourceError, match=r"^No such file: x\.mp4$"):
        classify_source("x.mp4")
    with pytest.raises(InvalidSourceError, match=r"No such file: www\.youtube\.com/watch\?v=abc \(for a web address"):
        classify_source("www.youtube.com/watch?v=abc")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF")
    with pytest.raises(InvalidSourceError, match=r"Not a URL or a supported file type: .*report\.pdf"):
        classify_source(str(pdf))
    with pytest.raises(InvalidSourceError, match="is a folder"):
        classify_source(str(tmp_path))
    with pytest.raises(InvalidSourceError, match="The source is empty"):
        classify_source("  ")


# ---------------------------------------------------------------------- @lists
def test_read_source_list(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text(
        "\ufeff# trip videos\nhttps://youtu.be/abc\n\n   \n  # indented comment\n  clip.mp4  \n@other.txt\n",
        encoding="utf-8",
    )
    expected = ["https://youtu.be/abc", "clip.mp4", "@other.txt"]
    assert read_source_list(str(path)) == expected
    assert read_source_list("@" + str(path)) == expected


def test_read_source_list_missing_and_fetch_of_list(tmp_path):
    with pytest.raises(InvalidSourceError, match=r"No such list file: .*nope\.txt"):
        read_source_list("@" + str(tmp_path / "nope.txt"))
    with pytest.raises(InvalidSourceError) as info:
        fetch_source("@whatever.txt", FetchOptions())
    assert "a list of sources may not name another list" in info.value.message
    assert "read_source_list" not in info.value.message  # analyst words, not the developer's


@pytest.mark.parametrize("source", ["ftp://x", "javascript:alert(1)", "file:///etc/passwd", "gopher://h/x"])
@pytest.mark.parametrize("offline", [True, False])
def test_other_schemes_are_refused_for_their_scheme_in_any_mode(source, offline):
    with pytest.raises(BlockedSourceError) as info:
        fetch_source(source, FetchOptions(offline=offline))
    assert "needs the network" not in info.value.message
    assert "refused in every mode" in info.value.message


def test_a_list_naming_a_list_is_reported_per_line_in_analyst_words(settings, tmp_path):
    from pipeline.api import Workbench

    inner = tmp_path / "inner.txt"
    inner.write_text("clip.mp4\n", encoding="utf-8")
    outer = tmp_path / "outer.txt"
    outer.write_text(f"@{inner}\n", encoding="utf-8")
    bench = Workbench(settings)
    try:
        [outcome] = bench.submit([f"@{outer}"], bench.options(offline=True))
        [job] = bench.wait([outcome.job.job_id], timeout=60)
    finally:
        bench.shutdown(wait=True)
    assert job.status == "failed"
    assert "may not name another list" in job.error["message"]


CONTROL = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x00\u202egpj.exe"


def test_binary_list_file_is_refused_without_echoing_control_bytes(tmp_path):
    path = tmp_path / "list.txt"
    path.write_bytes(b"https://youtu.be/abc\n" + CONTROL.encode("utf-8") + b"\n")
    with pytest.raises(InvalidSourceError) as info:
        read_source_list(str(path))
    message = info.value.message
    assert "line 2" in message and "\\x1b" in message and "\\u202e" in message
    assert message.isprintable(), repr(message)
    assert str(info.value).isprintable()


@pytest.mark.parametrize("source", [CONTROL, f"{CONTROL}.srt", f"https://{CONTROL}", f"ftp://{CONTROL}"])
def test_messages_quoting_a_source_escape_control_characters(source):
    with pytest.raises(PipelineError) as info:
        fetch_source(source, FetchOptions(offline=True))
    assert info.value.message.isprintable(), repr(info.value.message)
    assert str(info.value).isprintable()


# ----------------------------------------------------------------------- links
@pytest.mark.parametrize(
    ("url", "platform", "seconds", "expected"),
    [
        ("https://www.youtube.com/watch?v=abc", "youtube", 75.9, "https://www.youtube.com/watch?v=abc&t=75s"),
        ("https://www.youtube.com/watch?v=abc&t=10s", "youtube", 42, "https://www.youtube.com/watch?v=abc&t=42s"),
        ("https://www.youtube.com/watch?t=10&v=abc", "youtube", 42, "https://www.youtube.com/watch?v=abc&t=42s"),
        ("https://youtu.be/abc", "youtube", 3, "https://youtu.be/abc?t=3s"),
        ("https://www.bilibili.com/video/BV1xx411c7mD", "bilibili", 61.2, "https://www.bilibili.com/video/BV1xx411c7mD?t=61"),
        ("https://www.bilibili.com/video/BV1xx?p=2", "bilibili", 5, "https://www.bilibili.com/video/BV1xx?p=2&t=5"),
        ("https://www.bilibili.com/video/BV1xx?t=9&p=2", "bilibili", 5, "https://www.bilibili.com/video/BV1xx?p=2&t=5"),
        ("https://vimeo.com/76979871", "vimeo", 90, "https://vimeo.com/76979871#t=90s"),
        ("https://vimeo.com/76979871#t=3s", "vimeo", 0, "https://vimeo.com/76979871#t=0s"),
        ("/home/me/clip.mp4", "file", 10, None),
        ("https://example.com/v.mp4", "generic", 10, None),
        (None, "youtube", 10, None),
    ],
)
def test_url_at_time(url, platform, seconds, expected):
    assert url_at_time(url, platform, seconds) == expected
