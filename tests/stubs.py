"""Loopback stub servers for tests: an OpenAI-compatible chat-completions API
and a Nominatim ``/search`` endpoint.

Each stub binds 127.0.0.1 on a free port, answers from a per-test queue of
scripted responses (status, body, delay), records every request it received,
serves at most ``max_requests`` requests and is stopped by ``close()`` (use it
as a context manager or from a fixture).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class StubResponse:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes -> sent as is
    delay: float = 0.0  # seconds to wait before answering
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class LoopbackServer:
    """Serves ``httpd`` (bound to 127.0.0.1) in a thread: at most ``max_requests`` connections,
    then it stops listening; ``close()`` (or leaving the ``with`` block) stops it sooner."""

    max_requests: int
    _stop: threading.Event

    def _start(self, httpd: Any, name: str) -> None:
        self._accepted = 0
        check = httpd.verify_request

        def counted(request: Any, client_address: Any) -> bool:
            self._accepted += 1  # only the serving thread calls this
            return check(request, client_address)

        httpd.verify_request = counted
        self._httpd = httpd
        self.port: int = httpd.server_address[1]
        self._thread = threading.Thread(target=self._serve, name=f"{name}-{self.port}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set() and self._accepted < self.max_requests:
            self._httpd.handle_request()  # returns after httpd.timeout when idle

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StubServer(LoopbackServer):
    """A bounded, scriptable HTTP server on 127.0.0.1 (one thread per request)."""

    path_prefix = "/"

    def __init__(
        self,
        *,
        default: StubResponse | None = None,
        max_requests: int = 100,
    ) -> None:
        self.default = default or StubResponse(500, {"error": "stub: no scripted response left"})
        self.max_requests = max_requests
        self.requests: list[RecordedRequest] = []
        self._queue: list[StubResponse] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.responder: Any = None  # optional: RecordedRequest -> StubResponse (answer by content)
        self.in_flight = 0
        self.max_in_flight = 0  # most requests being answered at the same moment
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = RecordedRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    at=time.monotonic(),
                )
                stub._record(recorded)
                if not parts.path.startswith(stub.path_prefix):
                    resp = StubResponse(404, {"error": f"stub: unknown path {parts.path}"})
                else:
                    resp = stub.responder(recorded) if stub.responder else stub._next()
                with stub._lock:
                    stub.in_flight += 1
                    stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
                try:
                    stopped = bool(resp.delay) and stub._stop.wait(resp.delay)
                finally:
                    with stub._lock:
                        stub.in_flight -= 1
                if stopped:
                    return  # server is shutting down
                payload = resp.body
                if isinstance(payload, (dict, list)):
                    data = json.dumps(payload).encode()
                    ctype = "application/json"
                elif isinstance(payload, bytes):
                    data, ctype = payload, "application/octet-stream"
                else:
                    data, ctype = str(payload or "").encode(), "text/plain; charset=utf-8"
                try:
                    self.send_response(resp.status)
                    self.send_header("Content-Type", resp.headers.get("Content-Type", ctype))
                    for key, value in resp.headers.items():
                        if key.lower() != "content-type":
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout test)
                self.close_connection = True

            do_GET = _handle
            do_POST = _handle

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        httpd.timeout = 0.05
        self._start(httpd, "stub")

    # -- scripting ---------------------------------------------------------
    def enqueue(self, *responses: StubResponse) -> StubServer:
        with self._lock:
            self._queue.extend(responses)
        return self

    def _next(self) -> StubResponse:
        with self._lock:
            return self._queue.pop(0) if self._queue else self.default

    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(req)

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.requests)


# --------------------------------------------------------------------------- OpenAI
class OpenAIStub(StubServer):
    """``POST /v1/chat/completions`` like an OpenAI-compatible server."""

    path_prefix = "/v1/"

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @staticmethod
    def completion(
        content: str | dict[str, Any],
        *,
        prompt_tokens: int = 100,
        completion_tokens: int = 20,
        model: str = "stub",
    ) -> dict[str, Any]:
        """A chat.completion body whose message content is ``content`` (dicts become JSON)."""
        text = content if isinstance(content, str) else json.dumps(content)
        return {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    @staticmethod
    def error(status: int, message: str = "stub error") -> StubResponse:
        kinds = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}
        body = {"error": {"message": message, "type": kinds.get(status, "server_error"), "code": None}}
        return StubResponse(status, body)

    def reply(self, content: str | dict[str, Any], *, delay: float = 0.0, **usage: Any) -> StubServer:
        return self.enqueue(StubResponse(200, self.completion(content, **usage), delay))


# ------------------------------------------------------------------------- Nominatim
class NominatimStub(StubServer):
    """``GET /search`` answering like Nominatim's jsonv2/json output."""

    path_prefix = "/search"

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    @staticmethod
    def place(
        lat: float,
        lon: float,
        display_name: str,
        *,
        osm_type: str = "relation",
        osm_id: int = 1,
        cls: str = "boundary",
        type_: str = "administrative",
        country_code: str | None = None,
        importance: float = 0.5,
    ) -> dict[str, Any]:
        result: dict[str, Any] = {
            "place_id": osm_id * 10,
            "licence": "Data (c) OpenStreetMap contributors, ODbL 1.0",
            "osm_type": osm_type,
            "osm_id": osm_id,
            "lat": str(lat),
            "lon": str(lon),
            "class": cls,
            "type": type_,
            "importance": importance,
            "display_name": display_name,
            "boundingbox": [str(lat - 0.1), str(lat + 0.1), str(lon - 0.1), str(lon + 0.1)],
        }
        if country_code:
            result["address"] = {"country": display_name.split(",")[-1].strip(), "country_code": country_code}
        return result

    def reply(self, *places: dict[str, Any], delay: float = 0.0) -> StubServer:
        return self.enqueue(StubResponse(200, list(places), delay))


# --------------------------------------------------------------------------- S3
class S3Stub(LoopbackServer):
    """An S3-compatible endpoint on 127.0.0.1 (moto's S3 backend, in memory), for the
    artefact store's ``s3://`` URLs through s3fs. ``env`` is what a process needs to reach
    it (botocore reads ``AWS_ENDPOINT_URL``)."""

    def __init__(self, max_requests: int = 500) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        self.max_requests = max_requests
        self._stop = threading.Event()
        httpd = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=True)
        httpd.timeout = 0.2
        self._start(httpd, "s3-stub")

    @property
    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.port}", "AWS_ACCESS_KEY_ID": "stub",
                "AWS_SECRET_ACCESS_KEY": "stub-secret", "AWS_DEFAULT_REGION": "us-east-1"}
