"""Offline GeoNames gazetteer and the ``gazetteer`` geocoder (real data, no network)."""

from __future__ import annotations

import math
import time

import pytest

from pipeline.datatypes import GeocodeRequest
from pipeline.geo.gazetteer import GazetteerGeocoder, distance_km, get_gazetteer, load_gazetteer
from pipeline.stages.geocode import get_geocoder


@pytest.fixture(scope="module")
def gz():
    return get_gazetteer()


@pytest.fixture(scope="module")
def geocoder(gz):
    return GazetteerGeocoder(gz)


def _one(geocoder, query, context=(), marker="other", qualifier=""):
    (out,) = geocoder.geocode([GeocodeRequest(query=query, marker=marker, context=list(context), qualifier=qualifier)])
    return out


def test_singleton_and_registry(gz):
    assert get_gazetteer() is gz
    assert isinstance(get_geocoder("gazetteer"), GazetteerGeocoder)
    assert len(gz) > 200_000


def test_load_from_cache_is_fast(gz, tmp_path):
    t0 = time.perf_counter()
    again = load_gazetteer()  # default cache dir: the file written by the first load
    assert time.perf_counter() - t0 < 20  # a guard against rebuilding; the budget itself is in BENCHMARKS.md
    assert again.version == gz.version


def test_candidates_fields(gz):
    cands = gz.candidates("Lisbon")
    city = next(e for e in cands if e.country_code == "PT" and e.feature_class == "P")
    assert city.geonameid == 2267057
    assert city.feature_code == "PPLC"
    assert distance_km(city.lat, city.lon, 38.7223, -9.1393) < 10
    assert city.population > 400_000
    assert gz.candidates("Nowhereville-on-Nothing") == []


@pytest.mark.parametrize(
    ("name", "cc", "lat", "lon"),
    [("台北", "TW", 25.04, 121.56), ("成都", "CN", 30.66, 104.06), ("Porto", "PT", 41.15, -8.61)],
)
def test_names_resolve(geocoder, name, cc, lat, lon):
    out = _one(geocoder, name)
    assert out.hit is not None, out.error
    assert out.hit.country_code == cc
    assert distance_km(out.hit.latitude, out.hit.longitude, lat, lon) < 50
    assert out.hit.gazetteer_id.startswith("geonames:")


def test_country_is_representative_point_not_capital(geocoder):
    out = _one(geocoder, "United States", marker="country")
    assert out.hit.feature == "A.PCLI"
    # Washington DC is ~1,500 km from the middle of the country
    assert distance_km(out.hit.latitude, out.hit.longitude, 38.9, -77.0) > 1000
    brazil = _one(geocoder, "Brazil").hit
    assert distance_km(brazil.latitude, brazil.longitude, -15.8, -47.9) > 300  # not Brasilia


def test_former_and_native_names_of_states(geocoder):
    for name, cc in (("Soviet Union", "RU"), ("USSR", "RU"), ("Czechoslovakia", "CZ"), ("Zaire", "CD")):
        hit = _one(geocoder, name).hit
        assert hit is not None and (hit.country_code, hit.feature) == (cc, "A.PCLI"), name
    for name, cc in (("Italia", "IT"), ("Deutschland", "DE"), ("España", "ES"), ("Suisse", "CH")):
        hit = _one(geocoder, name).hit  # a country's own name (countryinfo's nativeName)
        assert hit is not None and (hit.country_code, hit.feature) == (cc, "A.PCLI"), name
    from pipeline.geo.recogniser import recognize

    assert [m.surface for m in recognize("Well good morning from Milano, Italia.")] == ["Milano", "Italia"]
    said = "do you think that the Soviet Union represents a threat to us"
    assert [m.surface for m in recognize(said)] == ["Soviet Union"]


def test_short_country_names_and_prominent_travel_features(geocoder):
    # "Korea" is South Korea (not Koréa, a town in Côte d'Ivoire); "Persia" is Iran
    for name, cc in (("Korea", "KR"), ("Bosnia", "BA"), ("Persia", "IR")):
        hit = _one(geocoder, name).hit
        assert hit is not None and (hit.country_code, hit.feature) == (cc, "A.PCLI"), name
    # islands, bays and regions that no populated place or admin area of the extracts names
    features = (("Mallorca", "ES", 39.6, 2.9), ("Ha Long Bay", "VN", 20.9, 107.1), ("Uluru", "AU", -25.3, 131.0))
    for name, cc, lat, lon in features:
        hit = _one(geocoder, name).hit
        assert hit is not None and hit.country_code == cc, name
        assert distance_km(hit.latitude, hit.longitude, lat, lon) < 30, name


def test_nicknames_are_their_places(geocoder):
    # nicknames.tsv: "the Eternal City" is Rome, "Sin City" Las Vegas, "the Land of the Rising Sun"
    # Japan, "the Emerald Isle" Ireland (not Emerald Isle, North Carolina)
    for name, cc, lat, lon in (("the Eternal City", "IT", 41.89, 12.51), ("Sin City", "US", 36.17, -115.14),
                               ("Land of the Rising Sun", "JP", 36.0, 138.0), ("Emerald Isle", "IE", 53.0, -8.0)):
        hit = _one(geocoder, name).hit
        assert hit is not None and hit.country_code == cc, name
        assert distance_km(hit.latitude, hit.longitude, lat, lon) < 100, name


def test_generic_district_is_the_video_towns_part(geocoder):
    # "Old Town" is an alternate name of Bratislava's Staré Mesto: not meant in a Warsaw video
    hit = _one(geocoder, "Old Town", context=["Warsaw", "Poland", "Krakow"]).hit
    assert hit is not None and hit.country_code == "PL" and hit.feature.startswith("approx:")
    assert distance_km(hit.latitude, hit.longitude, 52.23, 21.01) < 20
    # near the places the video names, the gazetteer's namesake stands
    near = _one(geocoder, "Old Town", context=["Bratislava", "Slovakia"]).hit
    assert near is not None and near.country_code == "SK" and not near.feature.startswith("approx:")


def test_generic_district_named_after_a_country_is_not_in_that_country(geocoder):
    # "Little Italy" in a video about Rome and Italy: a part of the video's town (New York's or
    # Rome's), never Italy's representative point by the country its name contains
    (out,) = geocoder.geocode([GeocodeRequest(query="little italy", marker="city",
                                              context=["Rome", "Italy", "Peru"], nearby=["Rome"])])
    assert out.hit is not None and out.hit.feature == "approx:nearby-city"
    assert distance_km(out.hit.latitude, out.hit.longitude, 41.89, 12.51) < 20


def test_small_first_level_region_named_like_a_word_is_no_strong_name(gz):
    # Slovenia's municipalities and the Isle of Man's parishes are ADM1s: "store" (Štore), "grad",
    # "pool" must not count as strong names; big regions named like words still do ("Georgia")
    from pipeline.geo.toponyms import build as b

    assert not any(gz.flags.get(k, 0) & b.KEY_STRONG for k in ("store", "grad", "pool", "forest", "bride"))
    assert gz.flags.get("georgia", 0) & b.KEY_STRONG and gz.flags.get("victoria", 0) & b.KEY_STRONG


def test_context_disambiguates(geocoder):
    france = _one(geocoder, "Paris").hit
    assert france.country_code == "FR"
    texas = _one(geocoder, "Paris", context=["Texas", "Dallas"]).hit
    assert texas.country_code == "US"
    assert distance_km(texas.latitude, texas.longitude, 33.66, -95.56) < 20
    il = _one(geocoder, "Springfield", context=["Illinois"]).hit
    assert distance_km(il.latitude, il.longitude, 39.80, -89.64) < 20
    ga_state = _one(geocoder, "Georgia", context=["Atlanta", "Ohio"]).hit
    ga_country = _one(geocoder, "Georgia", context=["Tbilisi", "Russia"]).hit
    assert (ga_state.country_code, ga_country.country_code) == ("US", "GE")


def test_state_abbreviation_and_admin_region(geocoder):
    wv = _one(geocoder, "W.Va.").hit
    assert wv.country_code == "US" and wv.feature == "A.ADM1"
    tx = _one(geocoder, "Texas").hit
    assert distance_km(tx.latitude, tx.longitude, 31.25, -99.25) < 250


def test_cache_key_and_config(geocoder):
    a = geocoder.cache_key(GeocodeRequest("Paris", context=["Texas", "Dallas"]))
    b = geocoder.cache_key(GeocodeRequest("Paris", context=["dallas", "TEXAS"]))
    c = geocoder.cache_key(GeocodeRequest("Paris", context=["France"]))
    d = geocoder.cache_key(GeocodeRequest("Paris"))
    assert a == b
    assert len({a, c, d}) == 3
    cfg = geocoder.config()
    assert cfg["name"] == "gazetteer" and cfg["data_version"] and cfg["method"]


def test_unknown_and_poi(geocoder):
    out = _one(geocoder, "Qwxzplace")
    assert out.hit is None and "gazetteer" in out.error and not out.transient
    poi = _one(geocoder, "Taipei 101", context=["台北"], marker="poi").hit
    assert poi is not None and poi.feature.startswith("approx:")
    assert distance_km(poi.latitude, poi.longitude, 25.034, 121.565) < 15
    temple = _one(geocoder, "Longshan Temple", context=["Taipei"], marker="poi").hit
    assert temple is not None and temple.feature == "approx:context-city"
    assert math.isclose(temple.score, 0.3)


def test_joint_assignment_escapes_local_optimum(geocoder):
    """Paris, Tennessee lies in Henry County, Tennessee: the coherent pair wins over two big namesakes."""
    ctx = ["Henry County"]
    paris = _one(geocoder, "Paris", ctx)
    county = _one(geocoder, "Henry County", ["Paris"])
    assert paris.hit.country_code == "US" and distance_km(paris.hit.latitude, paris.hit.longitude, 36.30, -88.33) < 30
    assert distance_km(county.hit.latitude, county.hit.longitude, 36.33, -88.32) < 50


def test_unsupported_namesake_abroad_is_not_used(geocoder):
    """A Taipei walk: "Beitou"/"Xinyi" only exist in the gazetteer as towns in mainland China."""
    names = ["Taipei", "Taiwan", "Tamsui", "Xinyi", "Beitou"]
    for q in ("Xinyi", "Beitou"):
        out = _one(geocoder, q, [n for n in names if n != q])
        assert out.hit is not None and out.hit.country_code == "TW", out
        assert out.hit.feature.startswith("approx:")
    # without the Taiwanese context the Chinese town is still found
    assert _one(geocoder, "Xinyi").hit.country_code == "CN"


def test_a_namesake_abroad_is_not_used_when_other_countries_are_named_in_passing(geocoder):
    """A Madrid walk that also says "Egypt" (the Temple of Debod) and "Canada": "Crystal Palace"
    (the Retiro's glass palace) is no London district; a town in a named country still counts."""
    names = ["Spain", "Madrid", "Toledo", "Goya", "Egypt", "Canada"]
    palace = _one(geocoder, "Crystal Palace", names).hit
    assert palace is not None and palace.country_code == "ES" and palace.feature.startswith("approx:")
    alexandria = _one(geocoder, "Alexandria", [*names, "Crystal Palace"]).hit
    assert alexandria is not None and alexandria.country_code == "EG"
    # two named countries with as many towns each: no one country the text is about
    even = ["France", "Spain", "Lyon", "Grenoble", "Toledo", "Girona"]
    assert _one(geocoder, "Crystal Palace", even).hit.country_code == "GB"


def test_first_level_regions_at_their_representative_points(geocoder):
    # iso3166-2 points, not the median of the province's towns (which sits near its southern cities)
    ontario = _one(geocoder, "Ontario", marker="region").hit
    assert ontario.feature == "A.ADM1"
    assert distance_km(ontario.latitude, ontario.longitude, 49.25, -84.5) < 161  # GeoNames' own point
    dagestan = _one(geocoder, "Dagestan").hit  # an English name from iso3166-2 ("Dagestan, Respublika")
    assert dagestan is not None and dagestan.country_code == "RU" and dagestan.feature == "A.ADM1"


def test_a_bordering_country_supports_a_place():
    from pipeline.geo.gazetteer import Resolver

    resolver = Resolver(get_gazetteer())
    alone = resolver.resolve(["Gaza"])["gaza"].entry
    with_israel = resolver.resolve(["Gaza", "Israel"])["gaza"].entry
    with_south_africa = resolver.resolve(["Gaza", "South Africa"])["gaza"].entry
    assert alone.country_code == "PS"  # the town, more populous than the province of Mozambique
    assert with_israel.country_code == "PS"  # Israel borders the Palestinian territories, not Mozambique
    assert with_south_africa.country_code == "MZ"  # South Africa borders Mozambique


def test_curated_features(geocoder, gz):
    pacific = _one(geocoder, "Pacific Ocean").hit
    assert pacific.gazetteer_id.startswith("features:")
    assert pacific.country_code in ("", None)
    darfur = _one(geocoder, "Darfur", context=["Sudan"]).hit
    assert darfur.country_code == "SD"
    assert distance_km(darfur.latitude, darfur.longitude, 13.5, 24.0) < 161
    yangtze = _one(geocoder, "长江").hit
    assert yangtze.gazetteer_id.startswith("features:") and yangtze.country_code == "CN"
    java = next(e for e in gz.candidates("Java") if e.feature_code == "ISL")
    assert gz.describe(java) == "Island in Indonesia"


def test_new_york_and_the_eu(geocoder):
    # a video's "New York" is the city; "Buffalo, New York" (marker region) the state
    assert _one(geocoder, "New York").hit.feature.startswith("P.")
    assert _one(geocoder, "New York", marker="region").hit.feature == "A.ADM1"
    eu = _one(geocoder, "EU").hit
    assert distance_km(eu.latitude, eu.longitude, 50.85, 4.35) < 20  # at its seat, Brussels


def test_small_us_communities_from_postal_data(geocoder):
    # not in GeoNames' cities500; the USPS name of ZIP 06791 (Harwinton, Connecticut)
    out = _one(geocoder, "Harwinton", context=["Torrington"]).hit
    assert out.gazetteer_id == "uspostal:06791"
    assert out.display_name == "Harwinton, Connecticut, United States"
    assert distance_km(out.latitude, out.longitude, 41.77, -73.07) < 10
    # a name GeoNames has keeps its GeoNames entry
    assert _one(geocoder, "Torrington", context=["Harwinton", "Connecticut"]).hit.gazetteer_id.startswith("geonames:")


def test_chinese_counties_and_prefectures(geocoder):
    county = _one(geocoder, "万荣县").hit  # a county of Shanxi, not in GeoNames' Chinese names
    assert county.gazetteer_id == "cn-adcode:140822"
    assert distance_km(county.latitude, county.longitude, 35.42, 110.84) < 10
    lijiang = _one(geocoder, "丽江").hit
    assert distance_km(lijiang.latitude, lijiang.longitude, 26.86, 100.23) < 50


def test_home_areas_of_a_source():
    from pipeline.geo.gazetteer import get_gazetteer, home_areas

    gz = get_gazetteer()
    geo = GazetteerGeocoder(gz)

    def ids(*names):
        outs = geo.geocode([GeocodeRequest(n, "city", [m for m in names if m != n]) for n in names])
        return [o.hit.gazetteer_id for o in outs]

    texas = [ids("Tyler", "Texas"), ids("Sulphur Springs", "Texas"), ids("Texarkana", "Mount Pleasant", "Texas")]
    assert home_areas(gz, texas) == ["US", "US.TX"]
    assert home_areas(gz, texas[:2]) == []  # too few items to tell
    mixed = [*texas, ids("Lyon", "France"), ids("Osaka", "Japan"), ids("Kyoto", "Japan"), ids("Perth", "Australia")]
    assert home_areas(gz, mixed) == []  # an international source has no home
    paris = GeocodeRequest("Paris", "city", [], home=["US", "US.TX"])
    assert geo.geocode([paris])[0].hit.country_code == "US"
    assert geo.cache_key(paris) != geo.cache_key(GeocodeRequest("Paris", "city", []))


def test_entries_found_again_by_their_gazetteer_id(gz):
    for i in (0, len(gz) // 3, len(gz) - 1):
        e = gz.entry(i)
        assert gz.by_gazetteer_id(e.gazetteer_id).index == i
    assert gz.by_gazetteer_id("geonames:4314550").name == "Alexandria"
    assert gz.by_gazetteer_id("nominatim:123") is None and gz.by_gazetteer_id("geonames:x") is None


def test_a_region_smaller_than_a_town_of_its_name_stands_behind_it(geocoder):
    """Gaza (a province of Mozambique, 385,000 people) and Manchester (a parish of Jamaica) are
    the lesser-known namesakes of the towns; with their country named they are still found."""
    assert _one(geocoder, "Gaza").hit.country_code == "PS"
    assert _one(geocoder, "Manchester").hit.country_code == "GB"
    assert _one(geocoder, "Gaza", ["Mozambique", "Maputo"]).hit.country_code == "MZ"
    assert _one(geocoder, "Texas").hit.feature == "A.ADM1"  # no town called Texas is bigger


def test_a_capital_before_the_region_named_like_it(geocoder):
    """ "Washington" alone is the capital, not the state; with Seattle, or among other states, the state."""
    dc = _one(geocoder, "Washington").hit
    assert dc.feature == "P.PPLC" and distance_km(dc.latitude, dc.longitude, 38.9, -77.04) < 20
    assert _one(geocoder, "Buenos Aires").hit.feature == "P.PPLC"
    assert _one(geocoder, "Washington", ["Seattle"]).hit.feature == "A.ADM1"
    assert _one(geocoder, "Washington", ["Alberta", "Canada", "Texas"]).hit.feature == "A.ADM1"


def test_a_region_named_with_other_regions_of_its_country(geocoder):
    """ "New York" alone is the city; in a list of states it is the state."""
    assert _one(geocoder, "New York").hit.feature.startswith("P.")
    assert _one(geocoder, "New York", ["Alabama", "Mississippi"]).hit.feature == "A.ADM1"


def test_a_country_said_in_passing_does_not_pull_a_guides_names_abroad(geocoder):
    """A Delhi-to-Kolkata guide that says "US dollars" once: "Lodi Gardens" (Delhi) is not Lodi,
    California; with fewer of the country's towns named, the named country still counts."""
    guide = ["India", "Delhi", "Old Delhi", "Kolkata", "Jaipur", "Agra", "Varanasi", "Jodhpur", "Jaisalmer", "US"]
    lodi = _one(geocoder, "Lodi", guide).hit
    assert lodi is not None and lodi.country_code == "IN" and lodi.feature.startswith("approx:")
    assert _one(geocoder, "Lodi", ["India", "Delhi", "Old Delhi", "Agra", "US"]).hit.country_code == "US"


def test_a_saint_written_without_a_space_is_the_well_known_town(geocoder):
    """Tweets write "St.Louis" and "Ft.Worth": the same towns as "St. Louis" and "Fort Worth",
    not the Seychelles village that carries "St.Louis" as an alternate name."""
    louis = _one(geocoder, "St.Louis").hit
    assert louis is not None and louis.country_code == "US" and abs(louis.latitude - 38.63) < 0.2
    worth = _one(geocoder, "Ft.Worth").hit
    assert worth is not None and worth.country_code == "US" and abs(worth.latitude - 32.7) < 0.3


def test_a_name_said_with_its_region_is_the_one_in_it(geocoder):
    """"Now we're in Venice, Italy" in a video that talks of Las Vegas and the US: the
    qualifier the runner reads from the evidence decides (not Dayton, which GeoNames also
    calls Venice); a qualifier with no such place inside it changes nothing."""
    from pipeline.datatypes import Place
    from pipeline.runner.graph import geocode_requests

    evidence = "I love Las Vegas and the US. Now we're in Venice, Italy. Then Georgia, Oklahoma, Texas."
    names = ("Las Vegas", "US", "Venice", "Italy", "Georgia", "Oklahoma", "Texas")
    requests = geocode_requests([Place(name=n, evidence=evidence) for n in names])
    assert [r.qualifier for r in requests] == ["", "", "Italy", "", "", "", ""]  # not inside a list of states
    out = geocoder.geocode(requests)
    assert out[2].hit.country_code == "IT" and "Veneto" in out[2].hit.display_name
    assert _one(geocoder, "Lisbon", qualifier="Texas").hit.country_code == "PT"
    # a country is never a namesake inside the name after it, nor a list's first name qualified
    assert _one(geocoder, "Brazil", qualifier="Argentina").hit.feature == "A.PCLI"
    floods = "Floods in Brazil, Argentina and Chile."
    listed = [Place(name=n, evidence=floods) for n in ("Brazil", "Argentina", "Chile")]
    assert [r.qualifier for r in geocode_requests(listed)] == ["", "", ""]
