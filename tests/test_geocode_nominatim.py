"""The ``nominatim`` geocoder and the ``nominatim+gazetteer`` chain against a loopback stub."""

from __future__ import annotations

import time
from typing import Any

import pytest
from stubs import NominatimStub, StubResponse

import pipeline.stages.geocode as geocode_registry
from pipeline.datatypes import GeocodeOutcome, GeocodeRequest, GeoHit
from pipeline.errors import ConfigurationError
from pipeline.stages.geocode import get_geocoder, register_geocoder
from pipeline.stages.geocode_nominatim import SAMPLE_USER_AGENT, NominatimGeocoder, NominatimThenGazetteer

UA = "video-map-workbench-tests/0.1 (tests@example.org)"

LISBON = NominatimStub.place(
    38.7077507,
    -9.1365919,
    "Lisboa, Portugal",
    osm_type="relation",
    osm_id=5400890,
    cls="boundary",
    type_="administrative",
    country_code="pt",
)
PENA = NominatimStub.place(
    38.7876,
    -9.3906,
    "Palácio da Pena, Sintra, Portugal",
    osm_type="way",
    osm_id=45012347,
    cls="tourism",
    type_="attraction",
    country_code="pt",
)


@pytest.fixture
def stub():
    server = NominatimStub(max_requests=20)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _no_known_outages(monkeypatch):
    """Outage state is per server and process-wide: a reused loopback port must not inherit it."""
    import pipeline.stages.geocode_nominatim as module

    monkeypatch.setattr(module, "_OUTAGES", {})


def make(stub: NominatimStub, **kw: Any) -> NominatimGeocoder:
    options: dict[str, Any] = {
        "user_agent": UA,
        "domain": stub.domain,
        "scheme": "http",
        "timeout_s": 2.0,
        "min_delay_s": 0.0,
        "max_retries": 0,
        "error_wait_s": 0.0,
    }
    options.update(kw)
    return NominatimGeocoder(**options)


def req(query: str, **kw: Any) -> GeocodeRequest:
    return GeocodeRequest(query=query, **kw)


def test_hit_is_parsed(stub: NominatimStub) -> None:
    stub.reply(LISBON)
    [out] = make(stub).geocode([req("Lisbon", marker="city", language="en")])
    assert out.transient is False and out.error is None and out.geocoder == "nominatim"
    assert out.hit == GeoHit(
        latitude=38.7077507,
        longitude=-9.1365919,
        gazetteer_id="osm:relation/5400890",
        display_name="Lisboa, Portugal",
        country_code="PT",
        feature="boundary:administrative",
    )
    sent = stub.requests[0]
    assert sent.path == "/search"
    assert sent.query["q"] == ["Lisbon"]
    assert sent.query["addressdetails"] == ["1"] and sent.query["limit"] == ["1"]
    assert sent.query["accept-language"] == ["en"]
    assert sent.headers["user-agent"] == UA


def test_through_the_registry(stub: NominatimStub) -> None:
    stub.reply(PENA)
    geocoder = get_geocoder("nominatim", user_agent=UA, domain=stub.domain, scheme="http", min_delay_s=0.0)
    [out] = geocoder.geocode([req("Pena Palace")])
    assert out.hit is not None and out.hit.gazetteer_id == "osm:way/45012347"
    assert out.hit.feature == "tourism:attraction"
    assert geocoder.config() == {"name": "nominatim", "domain": stub.domain}
    assert geocoder.cache_key(req("  Pena   PALACE ")) == "nominatim:pena palace"


def test_not_found_is_final(stub: NominatimStub) -> None:
    stub.reply()
    [out] = make(stub, max_retries=2).geocode([req("Atlantis")])
    assert out.hit is None and out.error == "not found" and out.transient is False
    assert stub.calls == 1


def test_rate_limited_is_transient(stub: NominatimStub) -> None:
    stub.default = StubResponse(429, {"error": "Too Many Requests"})
    [out] = make(stub).geocode([req("Lisbon")])
    assert out.hit is None and out.transient is True
    assert "429" in (out.error or "")
    assert stub.calls == 1


def test_rate_limited_then_retried_by_the_limiter(stub: NominatimStub) -> None:
    stub.enqueue(StubResponse(429, {"error": "Too Many Requests"}))
    stub.reply(LISBON)
    [out] = make(stub, max_retries=1, error_wait_s=0.05).geocode([req("Lisbon")])
    assert out.hit is not None and stub.calls == 2


@pytest.mark.parametrize("status", [500, 502, 503])
def test_outage_is_transient(stub: NominatimStub, status: int) -> None:
    stub.default = StubResponse(status, "<html>Service Unavailable</html>")
    [out] = make(stub, max_retries=1, error_wait_s=0.01).geocode([req("Lisbon")])
    assert out.hit is None and out.transient is True
    assert stub.calls == 2  # one retry, then given up
    assert f"HTTP {status}" in (out.error or "")


def test_client_error_is_final_and_not_retried(stub: NominatimStub) -> None:
    stub.default = StubResponse(400, {"error": "Bad query"})
    [out] = make(stub, max_retries=2).geocode([req("Lisbon")])
    assert out.hit is None and out.transient is False
    assert stub.calls == 1


def test_timeout_is_transient(stub: NominatimStub) -> None:
    stub.default = StubResponse(200, [LISBON], delay=30.0)
    t0 = time.monotonic()
    [out] = make(stub, timeout_s=0.2).geocode([req("Lisbon")])
    assert time.monotonic() - t0 < 15  # the 30 s answer was not awaited
    assert out.hit is None and out.transient is True
    assert "timed out" in (out.error or "")
    assert stub.calls == 1  # no hidden HTTP-level retries behind the rate limiter


def test_unreachable_is_transient() -> None:
    with NominatimStub() as dead:
        domain = dead.domain
    [out] = NominatimGeocoder(UA, domain=domain, scheme="http", min_delay_s=0.0, max_retries=0).geocode([req("Lisbon")])
    assert out.hit is None and out.transient is True


def test_rate_limit_spacing_is_honoured(stub: NominatimStub) -> None:
    stub.reply(LISBON).reply(PENA).reply(LISBON)
    geocoder = make(stub, min_delay_s=0.3)
    t0 = time.monotonic()
    outs = geocoder.geocode([req("Lisbon"), req("Pena Palace"), req("Lisboa")])
    assert time.monotonic() - t0 >= 0.6
    assert all(o.hit is not None for o in outs)
    gaps = [b.at - a.at for a, b in zip(stub.requests, stub.requests[1:], strict=False)]
    assert len(gaps) == 2 and min(gaps) >= 0.25  # spaced by the client; arrival jitter under load ~20 ms


def test_spacing_is_shared_by_geocoders_of_the_same_server(stub: NominatimStub) -> None:
    import threading

    stub.reply(LISBON).reply(PENA).reply(LISBON).reply(PENA)
    first, second = make(stub, min_delay_s=0.2), make(stub, min_delay_s=0.2)
    threads = [threading.Thread(target=g.geocode, args=([req("Lisbon"), req("Pena")],)) for g in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    times = sorted(r.at for r in stub.requests)
    assert len(times) == 4
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.18


@pytest.mark.parametrize(
    "agent", [SAMPLE_USER_AGENT, "", "geopy/2.5.0", "specify_your_app_name_here", "  my-application "]
)
def test_sample_user_agent_is_refused(agent: str) -> None:
    with pytest.raises(ConfigurationError, match="VIDEOMAP_NOMINATIM_USER_AGENT"):
        NominatimGeocoder(user_agent=agent)


def test_settings_default_user_agent_is_refused(settings) -> None:
    with pytest.raises(ConfigurationError, match="VIDEOMAP_NOMINATIM_USER_AGENT"):
        get_geocoder("nominatim", user_agent=settings.nominatim_user_agent)


# --------------------------------------------------------------------------- chain
GAZETTEER_HITS = {
    "Cintra": GeoHit(38.8, -9.38, gazetteer_id="geonames:2262963", display_name="Sintra", country_code="PT"),
    "Lisbon": GeoHit(38.72, -9.13, gazetteer_id="geonames:2267057", display_name="Lisbon", country_code="PT"),
    "Porto": GeoHit(41.15, -8.61, gazetteer_id="geonames:2735943", display_name="Porto", country_code="PT"),
}


class FakeGazetteer:
    name = "gazetteer"
    instances: list[FakeGazetteer] = []

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.asked: list[str] = []
        FakeGazetteer.instances.append(self)

    def config(self) -> dict[str, Any]:
        return {"name": "gazetteer", "version": "fake"}

    def cache_key(self, request: GeocodeRequest) -> str:
        return f"gazetteer:{request.query.lower()}"

    def geocode(self, requests: list[GeocodeRequest]) -> list[GeocodeOutcome]:
        out = []
        for r in requests:
            self.asked.append(r.query)
            if r.query in GAZETTEER_HITS:
                out.append(GeocodeOutcome(query=r.query, hit=GAZETTEER_HITS[r.query], geocoder="gazetteer"))
            else:
                out.append(GeocodeOutcome(query=r.query, error="not found", geocoder="gazetteer"))
        return out


@pytest.fixture
def fake_gazetteer(monkeypatch):
    monkeypatch.setattr(geocode_registry, "_REGISTRY", dict(geocode_registry._REGISTRY))
    FakeGazetteer.instances.clear()
    register_geocoder("gazetteer", FakeGazetteer)
    return FakeGazetteer


def test_chain_falls_back_to_the_gazetteer(stub: NominatimStub, fake_gazetteer) -> None:
    stub.reply(LISBON)  # Lisbon: Nominatim hit
    stub.reply()  # Cintra: Nominatim has nothing -> gazetteer hit
    stub.enqueue(StubResponse(503, "down"))  # Atlantis: outage, and the gazetteer has nothing
    stub.reply()  # Nowhere: not found anywhere
    chain = get_geocoder(
        "nominatim+gazetteer",
        user_agent=UA,
        domain=stub.domain,
        scheme="http",
        min_delay_s=0.0,
        max_retries=0,
        gazetteer_options={"cache_dir": "/tmp/x"},
    )
    assert isinstance(chain, NominatimThenGazetteer)
    lisbon, cintra, atlantis, nowhere = chain.geocode([req("Lisbon"), req("Cintra"), req("Atlantis"), req("Nowhere")])
    [gaz] = fake_gazetteer.instances
    assert gaz.options == {"cache_dir": "/tmp/x"}
    assert gaz.asked == ["Cintra", "Atlantis", "Nowhere"]  # Nominatim's hit is not asked again
    assert lisbon.geocoder == "nominatim" and lisbon.hit is not None
    assert cintra.geocoder == "gazetteer" and cintra.hit is not None
    assert cintra.hit.gazetteer_id == "geonames:2262963"
    assert atlantis.hit is None and atlantis.transient is True  # outage: never cached as not found
    assert nowhere.hit is None and nowhere.transient is False
    assert "not found" in (nowhere.error or "")
    assert chain.config() == {
        "name": "nominatim+gazetteer",
        "primary": {"name": "nominatim", "domain": stub.domain},
        "fallback": {"name": "gazetteer", "version": "fake"},
    }
    assert chain.cache_key(req("Lisbon")) == "nominatim+gazetteer:lisbon"


def test_outage_logs_one_warning_and_no_traceback(caplog, capfd) -> None:
    import logging

    with NominatimStub() as dead:
        domain = dead.domain
    geocoder = NominatimGeocoder(UA, domain=domain, scheme="http", min_delay_s=0.0, max_retries=2,
                                 error_wait_s=0.01)
    with caplog.at_level(logging.DEBUG):
        outs = geocoder.geocode([req("Lisbon"), req("Porto"), req("Faro")])
    assert all(o.hit is None and o.transient for o in outs)
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) == 1, [r.getMessage() for r in loud]
    assert "unavailable" in loud[0].getMessage() and "could not be reached" in loud[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)
    assert "Traceback" not in capfd.readouterr().err


def test_names_after_the_first_failure_get_one_try_during_an_outage(stub: NominatimStub) -> None:
    stub.default = StubResponse(503, "down")
    outs = make(stub, max_retries=2, error_wait_s=0.01).geocode([req("Lisbon"), req("Porto"), req("Faro")])
    assert all(o.transient for o in outs)
    assert stub.calls == 3 + 1 + 1  # Lisbon: 1 + 2 retries; then one try each while it is down


def test_outage_ends_with_one_note_and_warns_again_next_time(stub: NominatimStub, caplog) -> None:
    import logging

    stub.enqueue(StubResponse(503, "down"), StubResponse(503, "down"))
    stub.reply(LISBON)
    stub.enqueue(StubResponse(503, "down"))
    geocoder = make(stub)
    with caplog.at_level(logging.INFO, logger="pipeline.stages.geocode_nominatim"):
        outs = geocoder.geocode([req("Atlantis"), req("Mu"), req("Lisbon"), req("Lemuria")])
    assert [o.hit is not None for o in outs] == [False, False, True, False]
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in messages] == ["WARNING", "INFO", "WARNING"]
    assert "answers again" in messages[1][1]


# --------------------------------------------------------------------------- outages in a job
@pytest.fixture
def online_bench(stub: NominatimStub, fake_gazetteer, settings):
    """A workbench geocoding with Nominatim (the stub) and the fake gazetteer as fallback."""
    import functools

    import tests.fakes  # noqa: F401  (registers the "fake" extractor)
    from pipeline.api import Workbench

    register_geocoder("nominatim+gazetteer", functools.partial(NominatimThenGazetteer, max_retries=0))
    online = settings.model_copy(update={
        "offline": False, "geocoder": "nominatim", "nominatim_user_agent": UA, "nominatim_domain": stub.domain,
        "nominatim_scheme": "http", "nominatim_min_delay_s": 0.0, "nominatim_timeout_s": 2.0})
    bench = Workbench(online)
    yield bench
    bench.shutdown(wait=True)


def test_outage_is_reported_kept_out_of_the_cache_and_retried(stub: NominatimStub, online_bench, tmp_path) -> None:
    import tests.fakes as fakes

    stub.default = StubResponse(503, "<html>down</html>")
    src = tmp_path / "trip.srt"
    src.write_text(fakes.TRIP_SRT, encoding="utf-8")
    opts = online_bench.options(extractor="fake")
    assert online_bench.jobs.strategy(opts).geocoder.name == "nominatim+gazetteer"
    [outcome] = online_bench.submit([str(src)], opts)
    [job] = online_bench.wait([outcome.job.job_id], timeout=60)
    assert job.status == "partial"  # not a silent "done" with every place from the fallback
    assert "offline gazetteer" in job.error["message"] and "Retry failed geocodes" in job.error["message"]
    [event] = [e for e in online_bench.job_events(job.job_id) if e["event"] == "geocoder_unavailable"]
    assert "unavailable" in event["message"] and "HTTP 503" in event["message"]
    places = {p["location"]: p for p in online_bench.places([job.video_id])}
    assert places["Lisbon"]["status"] == "fallback" and places["Lisbon"]["geocoder"] == "gazetteer"
    assert places["Lisbon"]["latitude"] == 38.72  # still on the map meanwhile
    assert places["Madrid"]["status"] == "failed" and "temporary" in places["Madrid"]["failure_reason"]
    storage = online_bench.jobs.storage
    assert storage.geocode_cache_get("nominatim+gazetteer:lisbon") is None  # fallback answers not cached

    asked = stub.calls
    stub.default = StubResponse(200, [LISBON])  # Nominatim is back
    job = online_bench.retry_failed_geocodes(job.job_id)
    assert stub.calls - asked == 3  # every provisional and failed name asked again
    assert job.status == "done" and job.error is None
    places = online_bench.places([job.video_id])
    assert {p["status"] for p in places} == {"ok"} and {p["geocoder"] for p in places} == {"nominatim"}
    assert storage.geocode_cache_get("nominatim+gazetteer:lisbon") is not None


def test_cached_answers_keep_the_geocoder_that_answered(stub: NominatimStub, fake_gazetteer, tmp_path) -> None:
    from pipeline.datatypes import Place
    from pipeline.runner.runner import Runner
    from pipeline.storage import Storage

    stub.reply(LISBON).reply()  # Lisbon: Nominatim; Cintra: not in Nominatim -> the gazetteer
    chain = NominatimThenGazetteer(user_agent=UA, domain=stub.domain, scheme="http", min_delay_s=0.0, max_retries=0)
    storage = Storage(tmp_path / "wb.duckdb")
    try:
        runner = Runner(storage, cache=None, executor=None)  # type: ignore[arg-type]
        places = [Place(name="Lisbon"), Place(name="Cintra")]
        fresh = runner.geocode_places(chain, places)
        again = runner.geocode_places(chain, places)  # from the geocode cache
    finally:
        storage.close()
    assert stub.calls == 2
    assert [p.geocoder for p in fresh] == [p.geocoder for p in again] == ["nominatim", "gazetteer"]
    assert [p.status for p in again] == ["ok", "ok"]


def test_geocode_retry_over_the_http_api_reaches_nominatim_again(stub: NominatimStub, online_bench, tmp_path) -> None:
    """POST /api/videos/{id}/geocode/retry against the loopback stub: an outage, then the retry."""
    import time

    from fastapi.testclient import TestClient

    import tests.fakes as fakes
    from pipeline.service import create_app

    online_bench.jobs.settings = online_bench.settings = online_bench.settings.model_copy(
        update={"extractor": "fake"})
    media = online_bench.settings.media_dir
    media.mkdir(parents=True, exist_ok=True)
    src = media / "trip.srt"
    src.write_text(fakes.TRIP_SRT, encoding="utf-8")
    stub.default = StubResponse(503, "<html>down</html>")
    with TestClient(create_app(online_bench)) as client:
        job_id = client.post("/api/videos/analyze", json={"source": str(src)}).json()["job_id"]
        deadline = time.monotonic() + 60
        while (job := client.get(f"/api/jobs/{job_id}").json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert job["status"] == "partial"
        stub.default = StubResponse(200, [LISBON])
        answer = client.post(f"/api/videos/{job['video_id']}/geocode/retry").json()
        assert answer == {"retried_count": 3, "still_failing": 0, "job_id": job_id}
        assert client.get(f"/api/jobs/{job_id}").json()["status"] == "done"
        rows = client.get("/api/places", params={"video_id": job["video_id"]}).json()
        assert {r["geocoder"] for r in rows} == {"nominatim"}


# --------------------------------------------------------------- points of interest
DEBOD = NominatimStub.place(40.42403, -3.71780, "Templo de Debod, Madrid, España", osm_type="way", osm_id=26096006,
                            cls="historic", type_="archaeological_site", country_code="es")
DEBOD_EGYPT = NominatimStub.place(23.8, 32.9, "Debod, Aswan, Egypt", osm_type="node", osm_id=7, cls="place",
                                  type_="village", country_code="eg")
MADRID = (40.4165, -3.70256)


def _box(request) -> tuple[float, float, float, float]:
    """The stub's view of geopy's ``viewbox`` parameter: lon1, lat1, lon2, lat2."""
    lon1, lat1, lon2, lat2 = (float(v) for v in request.query["viewbox"][0].split(","))
    return lon1, lat1, lon2, lat2


def test_poi_is_asked_within_its_towns_box(stub: NominatimStub) -> None:
    stub.reply(DEBOD)
    asked: list[GeocodeRequest] = []
    geocoder = make(stub, poi_area=lambda r: asked.append(r) or MADRID)
    poi = req("Temple of Debod", marker="poi", context=["Madrid", "Spain"], nearby=["Madrid"])
    [out] = geocoder.geocode([poi])
    [sent] = stub.requests
    assert sent.query["q"] == ["Temple of Debod"] and sent.query["bounded"] == ["1"]
    lon1, lat1, lon2, lat2 = _box(sent)
    assert min(lat1, lat2) < MADRID[0] < max(lat1, lat2) and min(lon1, lon2) < MADRID[1] < max(lon1, lon2)
    assert 0.2 < abs(lat2 - lat1) < 0.35  # 2 x 15 km of latitude
    assert asked == [poi]
    assert out.hit is not None and (out.hit.latitude, out.hit.longitude) == (40.42403, -3.7178)
    assert out.hit.gazetteer_id == "osm:way/26096006"


def test_poi_not_in_its_box_falls_back_to_the_plain_query_at_the_same_rate(stub: NominatimStub) -> None:
    stub.reply().reply(DEBOD_EGYPT)  # nothing in Madrid's box -> asked again without it
    geocoder = make(stub, poi_area=lambda r: MADRID, min_delay_s=0.3)
    [out] = geocoder.geocode([req("Debod", marker="poi", context=["Madrid"])])
    first, second = stub.requests
    assert "viewbox" in first.query and "viewbox" not in second.query and "bounded" not in second.query
    assert second.at - first.at >= 0.25  # both requests through the one rate limiter
    assert out.hit is not None and out.hit.country_code == "EG"


def test_only_pois_are_boxed_and_a_failing_area_is_no_failure(stub: NominatimStub) -> None:
    stub.reply(LISBON).reply(PENA)

    def broken(request: GeocodeRequest) -> tuple[float, float] | None:
        raise RuntimeError("no gazetteer")

    geocoder = make(stub, poi_area=broken)
    outs = geocoder.geocode([req("Lisbon", context=["Sintra"]), req("Pena Palace", marker="poi", context=["Sintra"])])
    assert all("viewbox" not in r.query for r in stub.requests)
    assert [o.hit is not None for o in outs] == [True, True]


def test_poi_cache_key_depends_on_the_names_around_it() -> None:
    geocoder = NominatimGeocoder(UA, domain="127.0.0.1:9", scheme="http", poi_area=None)
    in_madrid = req("Royal Palace", marker="poi", context=["Madrid"], nearby=["Madrid"])
    in_stockholm = req("Royal Palace", marker="poi", context=["Stockholm"], nearby=["Stockholm"])
    assert geocoder.cache_key(in_madrid) != geocoder.cache_key(in_stockholm)
    plain = geocoder.cache_key(req("Lisbon", context=["Porto"]))
    assert plain == geocoder.cache_key(req("Lisbon")) == "nominatim:lisbon"


@pytest.mark.slow
def test_poi_box_comes_from_the_gazetteer_town(stub: NominatimStub) -> None:
    """The default area: the town the offline gazetteer would place the landmark at (real index)."""
    stub.reply(DEBOD)
    geocoder = make(stub)
    [out] = geocoder.geocode([req("Temple of Debod", marker="poi", context=["Madrid", "Spain", "Barcelona"],
                                  nearby=["Madrid", "Barcelona"])])
    lon1, lat1, lon2, lat2 = _box(stub.requests[0])
    assert min(lat1, lat2) < 40.4165 < max(lat1, lat2) and min(lon1, lon2) < -3.70 < max(lon1, lon2)
    assert out.hit is not None and out.hit.latitude == 40.42403


def test_a_name_said_with_its_region_is_asked_with_it_first(stub: NominatimStub) -> None:
    """"Venice, Italy": Nominatim is asked "Venice, Italy", and the plain name only when that
    finds nothing; the region is part of the cache key."""
    venice = NominatimStub.place(45.4371, 12.3327, "Venezia, Veneto, Italia", country_code="it")
    stub.reply(venice).reply().reply(LISBON)
    geocoder = make(stub)
    outs = geocoder.geocode([req("Venice", qualifier="Italy"), req("Lisbon", qualifier="Nowhere Land")])
    assert [r.query["q"] for r in stub.requests] == [["Venice, Italy"], ["Lisbon, Nowhere Land"], ["Lisbon"]]
    assert outs[0].hit is not None and outs[0].hit.country_code == "IT"
    assert outs[1].hit is not None and outs[1].hit.country_code == "PT"
    assert geocoder.cache_key(req("Venice", qualifier="Italy")) != geocoder.cache_key(req("Venice"))
