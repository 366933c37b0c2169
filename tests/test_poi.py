"""Points of interest: their own point when the gazetteer has one near the video's places, else
placed approximately at the right town, and the ``approximate`` mark in every output."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from pipeline.datatypes import GeocodeOutcome, GeocodeRequest, GeoHit, Place
from pipeline.geo.gazetteer import GazetteerGeocoder, distance_km, get_gazetteer
from pipeline.stages.geocode import nearby_names
from pipeline.storage.export import CSV_COLUMNS, effective_places, export_bytes, map_visualizations

MADRID = (40.4165, -3.7026)
BARCELONA = (41.3888, 2.1590)
SPAIN_VIDEO = ["Spain", "Madrid", "Barcelona", "Toledo", "Girona", "Egypt"]


@pytest.fixture(scope="module")
def geocoder():
    return GazetteerGeocoder(get_gazetteer())


def place(geocoder, query, context, nearby=(), marker="poi"):
    (out,) = geocoder.geocode([GeocodeRequest(query=query, marker=marker, context=list(context),
                                              nearby=list(nearby))])
    return out


def km(hit: GeoHit, point: tuple[float, float]) -> float:
    return distance_km(hit.latitude, hit.longitude, *point)


def test_nearby_names_are_the_names_said_just_before_then_after():
    near = nearby_names([("Spain", 0), ("Madrid", 10), ("Royal Palace", 20), ("Barcelona", 30),
                         ("Sagrada Familia", 40), ("Madrid", 50)])
    assert near["Sagrada Familia"] == ["Barcelona", "Royal Palace", "Madrid", "Spain"]
    assert near["Royal Palace"] == ["Madrid", "Spain", "Barcelona"]
    assert near["Spain"] == ["Madrid"]
    many = nearby_names([(f"Sight {i}", i) for i in range(20)])
    assert many["Sight 15"][:2] == ["Sight 14", "Sight 13"] and len(many["Sight 15"]) == 11  # 10 back, 1 on


def test_an_airport_is_at_its_own_point(geocoder):
    out = place(geocoder, "Incheon International Airport", ["Seoul", "Korea"], ["Seoul"])
    assert out.hit is not None and out.hit.feature == "S.AIRP" and out.hit.gazetteer_id == "iata:ICN"
    assert km(out.hit, (37.4602, 126.4407)) < 5
    short = place(geocoder, "Heathrow Airport", ["London"], ["London"])
    assert short.hit is not None and short.hit.gazetteer_id == "iata:LHR"


def test_an_airport_entry_is_described_and_found_again_by_its_id(geocoder):
    gz = geocoder.gazetteer
    entry = gz.by_gazetteer_id("iata:ICN")
    assert entry is not None and entry.marker == "poi"
    assert gz.describe(entry).startswith("Airport in ")


def test_an_ambiguous_poi_name_takes_the_one_near_the_video(geocoder):
    """"Santa Ana Airport": Orange County (California), Colombia and the Solomon Islands."""
    in_california = place(geocoder, "Santa Ana Airport", ["Los Angeles", "California", "Anaheim"], ["Anaheim"])
    assert in_california.hit is not None and in_california.hit.gazetteer_id == "iata:SNA"
    nowhere_near = place(geocoder, "Santa Ana Airport", ["Tokyo", "Japan", "Kyoto"], ["Tokyo"])
    assert nowhere_near.hit is not None and nowhere_near.hit.feature.startswith("approx")
    assert km(nowhere_near.hit, (35.68, 139.69)) < 50  # at the video's town, marked approximate


def test_a_landmark_without_a_point_is_placed_at_the_town_said_before_it(geocoder):
    debod = place(geocoder, "Temple of Debod", SPAIN_VIDEO, ["Madrid", "Spain"])
    assert debod.hit is not None and debod.hit.feature == "approx:nearby-city" and km(debod.hit, MADRID) < 5
    boqueria = place(geocoder, "Mercat de la Boqueria", SPAIN_VIDEO, ["Barcelona", "Madrid"])
    assert boqueria.hit is not None and km(boqueria.hit, BARCELONA) < 5
    # without what was said around it: the video's biggest town
    plain = place(geocoder, "Mercat de la Boqueria", SPAIN_VIDEO)
    assert plain.hit is not None and plain.hit.feature == "approx:context-city" and km(plain.hit, MADRID) < 5


def test_two_namesake_hamlets_far_from_the_video_do_not_anchor_its_landmarks(geocoder):
    """"La Rambla" and "Pedrera" (a Barcelona street and house) are also two Andalusian
    villages 44 km apart: each supports the other, but nothing else the video names is near."""
    video = [*SPAIN_VIDEO, "Catalunya", "La Rambla", "Pedrera", "Sagrada Familia"]
    museum = place(geocoder, "Museum of Catalan History", video, ["La Rambla", "Sagrada Familia", "Barcelona"])
    assert museum.hit is not None and km(museum.hit, BARCELONA) < 5
    punxes = place(geocoder, "Casa Les Punxes", video, ["Pedrera", "Barcelona"])
    assert punxes.hit is not None and km(punxes.hit, BARCELONA) < 5
    # a small town in a region the text names still anchors (a West Virginia article)
    wv = ["West Virginia", "South Charleston", "St. Albans", "Virginia Beach", "Virginia"]
    park = place(geocoder, "Shawnee Park", wv, ["St. Albans", "Virginia"])
    assert park.hit is not None and park.hit.feature == "approx:nearby-city"
    assert km(park.hit, (38.3857, -81.8362)) < 5


def test_a_town_in_a_landmarks_name_counts_only_where_the_video_is(geocoder):
    cathedral = place(geocoder, "Barcelona Cathedral", SPAIN_VIDEO, ["Madrid"])
    assert cathedral.hit is not None and cathedral.hit.feature == "approx:contained-name"
    assert km(cathedral.hit, BARCELONA) < 5
    # "Jardines" is part of a Mexican town's name: not where a Spain video's garden is
    sabatini = place(geocoder, "Jardines de Sabatini", SPAIN_VIDEO, ["Royal Palace", "Madrid"])
    assert sabatini.hit is not None and sabatini.hit.country_code == "ES" and km(sabatini.hit, MADRID) < 5
    # "Santiago" is a town the video never names: the stadium is not in Santiago de Compostela
    stadium = place(geocoder, "Santiago Bernabéu Stadium", SPAIN_VIDEO, ["Egypt", "Madrid"])
    assert stadium.hit is not None and km(stadium.hit, MADRID) < 5


def test_the_cache_key_keeps_the_names_around_a_poi(geocoder):
    a = GeocodeRequest(query="Royal Palace", marker="poi", context=SPAIN_VIDEO, nearby=["Madrid"])
    b = GeocodeRequest(query="Royal Palace", marker="poi", context=SPAIN_VIDEO, nearby=["Barcelona"])
    assert geocoder.cache_key(a) != geocoder.cache_key(b)


def test_area_for_is_where_the_poi_would_be_placed(geocoder):
    area = geocoder.area_for(GeocodeRequest(query="Wat Pho", marker="poi", context=["Bangkok", "Thailand"],
                                            nearby=["Bangkok"]))
    assert area is not None and area.name == "Bangkok"


# ------------------------------------------------------------------ exports
def _rows():
    """Two stored places as ``Storage.latest_places`` returns them, one placed approximately
    (through the runner's ``apply_outcome``) and one corrected by the analyst."""
    from pipeline.runner.runner import apply_outcome

    hit = GeoHit(40.4165, -3.7026, "geonames:3117735", "Temple of Debod (near Madrid)", "ES",
                 feature="approx:nearby-city", score=0.3)
    debod = apply_outcome(Place("Temple of Debod", marker="poi", tags=["landmark"], confidence=0.8),
                          GeocodeOutcome("Temple of Debod", hit, geocoder="gazetteer"))
    exact = apply_outcome(Place("Madrid", marker="city", tags=["city"], start_seconds=5.0),
                          GeocodeOutcome("Madrid", GeoHit(40.4165, -3.7026, feature="P.PPLC"), geocoder="gazetteer"))
    rows = []
    for p in (debod, exact):
        row = {**p.to_dict(), "video_id": "file:v1", "place_key": p.name.lower(), "video_title": "Madrid walk"}
        rows.append(row)
    moved = {**rows[0], "place_key": "moved", "name": "Palacio", "c_latitude": 40.418, "c_longitude": -3.714}
    return [*rows, moved]


def test_approximate_places_are_marked_in_every_export():
    places = effective_places(_rows())
    by_name = {p["location"]: p for p in places}
    assert by_name["Temple of Debod"]["approximate"] is True
    assert by_name["Madrid"]["approximate"] is False
    assert by_name["Palacio"]["approximate"] is False  # the analyst put it where it is

    import io

    frame = pd.read_csv(io.BytesIO(export_bytes(places, "csv")))
    assert "approximate" in CSV_COLUMNS and list(frame.columns) == CSV_COLUMNS
    assert dict(zip(frame["location"], frame["approximate"], strict=True)) == {
        "Temple of Debod": True, "Madrid": False, "Palacio": False}
    assert "approximate" in frame.loc[frame["location"] == "Temple of Debod", "tags"].iloc[0]

    parquet = pd.read_parquet(io.BytesIO(export_bytes(places, "parquet")))
    assert parquet.set_index("location")["approximate"].to_dict()["Temple of Debod"]

    features = json.loads(export_bytes(places, "geojson"))["features"]
    props = {f["properties"]["location"]: f["properties"] for f in features if f["geometry"]["type"] == "Point"}
    assert props["Temple of Debod"]["approximate"] is True and props["Madrid"]["approximate"] is False

    kml = ET.fromstring(export_bytes(places, "kml"))
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    described = {pm.find("k:name", ns).text: pm.find("k:description", ns).text
                 for pm in kml.iter("{http://www.opengis.net/kml/2.2}Placemark") if pm.find("k:Point", ns) is not None}
    assert "Approximate position" in described["Temple of Debod"]
    assert "Approximate position" not in described["Madrid"]

    [video] = map_visualizations(places)  # the original design's shape: the mark is a tag there
    assert {r["location"]: "approximate" in r["tags"] for r in video["routes"]} == {
        "Temple of Debod": True, "Madrid": False, "Palacio": False}
    assert "approximate" in json.loads(export_bytes(places, "json"))[0]["routes"][0]["tags"]


def test_the_api_route_schema_keeps_the_mark():
    from pipeline.service.schemas import MapVisualization

    [video] = map_visualizations(effective_places(_rows()))
    parsed = MapVisualization.model_validate(video).model_dump()
    assert {r["location"]: "approximate" in r["tags"] for r in parsed["routes"]} == {
        "Temple of Debod": True, "Madrid": False, "Palacio": False}


# ------------------------------------------------------------------ recognition and evaluation
def test_head_first_landmarks_are_one_name():
    from pipeline.geo.recogniser import recognize

    text = ("In Madrid we saw the Temple of Debod. In Barcelona the Museum of Catalan History and Park Güell, "
            "and in England the Church of England and the Tower of London.")
    surfaces = [m.surface for m in recognize(text)]
    assert "Temple of Debod" in surfaces and "Museum of Catalan History" in surfaces
    assert "Park Güell" in surfaces
    assert "Catalan" not in surfaces
    # what follows "of" is a strong place: that place is what the text names
    assert "Church of England" not in surfaces and "Tower of London" not in surfaces
    assert "London" in surfaces


def test_poi_evaluation_scores_a_small_gold(tmp_path):
    import gzip

    from pipeline.evaluate.poi import evaluate_pois, markdown_table

    text = ("Welcome to Spain. Today we are in Madrid and this is the Temple of Debod. "
            "Later we flew into Madrid Barajas International Airport. Then the Royal Palace.")
    vlogs = tmp_path / "vlogs.jsonl.gz"
    with gzip.open(vlogs, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "v1", "text": text}) + "\n")
    gold = tmp_path / "mine-pois.tsv"
    gold.write_text("# half\tvideo_id\tname\tlat\tlon\tcity\tkind\n"
                    "dev\tv1\tTemple of Debod\t40.4240\t-3.7177\tMadrid\ttemple\n"
                    "dev\tv1\tMadrid Barajas International Airport\t40.4936\t-3.5668\tMadrid\tairport\n"
                    "held-out\tv1\tRoyal Palace\t59.3268\t18.0717\tStockholm\tpalace\n"  # deliberately wrong
                    "held-out\tv1\tHoly Spirit Rock\tuncertain\tuncertain\tMeteora\trock\n", encoding="utf-8")
    dev, held, both = evaluate_pois(gold, vlogs)
    assert (dev.half, dev.gold, dev.found, dev.within, dev.own_point) == ("dev", 2, 2, 2, 1)
    assert (held.gold, held.found, held.within) == (1, 1, 0) and held.misses[0].startswith("Royal Palace")
    assert both.gold == 3 and both.uncertain_skipped == 1
    assert "| dev | 1 | 2 | 2 (1.000) | 2 (1.000) |" in markdown_table([dev, held, both])


def test_an_airport_said_in_a_video_is_one_landmark_at_its_point():
    from pipeline.datatypes import Segment, Window
    from pipeline.geo.recogniser import OfflineExtractor

    text = "We flew from Madrid to Barcelona and landed at Barcelona International Airport."
    window = Window(index=0, start=0.0, end=5.0, segments=[Segment(start=0.0, end=5.0, text=text)])
    places = {p.name: p for p in OfflineExtractor().extract([window], title="").places}
    airport = places["Barcelona International Airport"]
    assert airport.marker == "poi" and airport.tags == ["landmark"]
    assert airport.description.startswith("Airport in")


def test_a_feature_word_in_a_landmarks_name_is_not_the_place_it_is_in(geocoder):
    """"Island" is an alternate name of Iceland and "Islands" a Hong Kong district: neither is
    where "Rikers Island" or "the Kuril Islands" lie. With nothing else said, they stay unplaced."""
    for name in ("Rikers Island", "Kuril Islands"):
        out = place(geocoder, name, [], [])
        assert out.hit is None, (name, out.hit)
    # the name's own town still counts: the video names New York
    rikers = place(geocoder, "Rikers Island", ["New York"], ["New York"])
    assert rikers.hit is not None and rikers.hit.country_code == "US"


def test_a_street_is_not_in_the_place_it_is_named_after(geocoder):
    """"Avenida Corrientes" and "Florida Street" in a Buenos Aires guide are streets of Buenos
    Aires, not in Corrientes (900 km away) or Florida; "Fortaleza do Monte" (a fortress) is not
    in Fortaleza, Brazil."""
    guide = ["Argentina", "Buenos Aires", "Palermo", "San Telmo", "America"]
    buenos_aires = (-34.61, -58.38)
    for name in ("Avenida Corrientes", "Florida Street", "Calle Florida"):
        out = place(geocoder, name, guide, ["Buenos Aires"])
        assert out.hit is not None and km(out.hit, buenos_aires) < 20, (name, out.hit)
    fort = place(geocoder, "Fortaleza do Monte", ["Macau", "Taipa", "Cotai", "Hong Kong", "China"], ["Macau"])
    assert fort.hit is not None and fort.hit.country_code == "MO", fort.hit
