"""Offline place extraction (gazetteer + rules), with the real gazetteer."""

from __future__ import annotations

import pytest

from pipeline.datatypes import GeocodeRequest, Segment, Window
from pipeline.geo.gazetteer import GazetteerGeocoder, distance_km
from pipeline.geo.recogniser import OfflineExtractor, recognize
from pipeline.stages.extract import get_extractor


def _names(text, **kw):
    return [m.surface for m in recognize(text, **kw)]


def _windows(*texts):
    segs = [Segment(start=10.0 * i, end=10.0 * i + 9, text=t) for i, t in enumerate(texts)]
    return [Window(index=0, start=0.0, end=10.0 * len(texts), segments=segs)]


def test_lisbon_trip_end_to_end():
    text = "Our trip starts in Lisbon, Portugal. Then we take the train to Porto."
    result = get_extractor("offline").extract(_windows(text), language="en")
    assert [p.name for p in result.places] == ["Lisbon", "Portugal", "Porto"]
    assert result.extractor.startswith("offline:")
    assert result.options["method"]
    by = {p.name: p for p in result.places}
    assert by["Portugal"].marker == "country" and by["Portugal"].description == "Country in Europe"
    assert by["Porto"].marker == "city" and "Portugal" in by["Porto"].description
    assert by["Lisbon"].evidence == text
    names = [p.name for p in result.places]
    reqs = [GeocodeRequest(p.name, p.marker, [n for n in names if n != p.name]) for p in result.places]
    truth = {"Lisbon": (38.72, -9.14), "Portugal": (39.69, -8.13), "Porto": (41.15, -8.61)}
    for out in GazetteerGeocoder().geocode(reqs):
        assert out.hit is not None, out.error
        assert distance_km(out.hit.latitude, out.hit.longitude, *truth[out.query]) < 50


def test_mention_offsets():
    text = "Flights from Springfield, Ill., to Kansas City were late."
    ms = recognize(text)
    assert [m.surface for m in ms] == ["Springfield", "Ill.", "Kansas City"]
    for m in ms:
        assert text[m.start : m.end] == m.surface
        assert m.candidate_ids


def test_demonyms_and_common_words_are_not_places():
    assert _names("And so my fellow Americans, ask not what your country can do for you.") == []
    assert _names("The French and the Chinese delegations met the Russian envoy.") == []
    assert _names("Nice to meet you. Reading is fun. The Man of the Year. May I come in March?") == []
    assert _names("Mobile phones are everywhere. Bath time for the kids.") == []


def test_multiword_names_win_over_parts():
    assert _names("They moved from New York City to West Virginia.") == ["New York City", "West Virginia"]


def test_lower_case_transcripts():
    assert _names("the paris plant like that at the crystal palace was a temporary exhibit") == ["paris"]
    for text in (
        "this evening they all said",
        "the greeting of the apostle is refreshing",
        "he hoped there would be stew for dinner turnips and carrots",
        "nice to see you reading in the bath man",
    ):
        assert _names(text) == [], text
    assert "china" in _names("last year we travelled to china and japan")
    assert _names("the romantic and fascinating town of sintra") == ["sintra"]


def test_lower_case_spelling_after_a_settlement_noun_in_cased_text():
    # tiny.en's transcript of a FLEURS clip: capitalised "Lord Byron", lower-case "cintra"
    text = "within easy reach is a romantic and fascinating town of cintra made famous by Lord Byron"
    assert _names(text) == ["cintra"]
    assert _names("He moved to the city of commerce, said Bob Smith.") == []  # an English word


def test_chinese_names():
    ms = recognize("我们在台北和成都玩了三天", language="zh")
    assert [m.surface for m in ms] == ["台北", "成都"]
    assert _names("我叫赵新民，去过中国和日本") == ["中国", "日本"]  # 新民 here is a given name


def test_person_names_are_not_places():
    text = "Dr. Brian Evans said the clinic in Franklin was full. Evans added that George Bush visited."
    assert _names(text) == ["Franklin"]


def test_text_structure_sets_markers():
    ms = {m.surface: m for m in recognize("A girl from Buffalo, New York, and pupils in Egypt and Niger.")}
    assert ms["New York"].marker == "region" and ms["Buffalo"].qualifier == "New York"
    assert ms["Niger"].marker == "country"


def test_pois_and_landmarks():
    text = "We climbed Taipei 101, visited Longshan Temple and ate at the Night Market."
    result = OfflineExtractor().extract(_windows(text))
    by = {p.name: p for p in result.places}
    assert by["Longshan Temple"].marker == "poi" and "landmark" in by["Longshan Temple"].tags
    assert by["Night Market"].marker == "poi"
    assert by["Taipei 101"].marker == "poi"


def test_dedup_keeps_first_mention_and_timecode():
    result = OfflineExtractor().extract(
        _windows("Nothing here.", "We arrive in Porto tonight.", "Porto again, then Lisbon."),
        title="Porto trip",
    )
    assert [p.name for p in result.places] == ["Porto", "Lisbon"]
    assert result.places[0].start_seconds == 10.0
    assert result.places[0].evidence == "We arrive in Porto tonight."
    assert all(0 < p.confidence <= 1 for p in result.places)


@pytest.mark.parametrize("text", ["", "   ", "12345", "!!!"])
def test_degenerate_input(text):
    assert OfflineExtractor().extract(_windows(text)).places == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a place name naming a disease is not a place
        ("Both Ebola and the related Marburg virus were found in monkeys.", []),
        ("The symptoms of Marburg haemorrhagic fever are dramatic.", []),
        # the building, not White House, Tennessee
        ("A spokesman at the White House declined to comment on the talks.", []),
        # a capital that speaks (metonymy) is still the place
        ("Tensions rose in the region on Friday. Tbilisi says the separatists attacked first.", ["Tbilisi"]),
        # "the City of X": the place is X
        ("A thief stole tools from the City of Richmond on Friday.", ["Richmond"]),
        # a list of two places is not one landmark
        ("The hikers walked between Kisumu and Rift Valley on Monday.", ["Kisumu", "Rift Valley"]),
        # plural titles are not the French town of Sens
        ("The bill was sponsored by Sens. Tim Grendell and Bob Gibbs on Monday.", []),
        # hyphenated pairs of places (but not "Wal-Mart")
        ("A survey of Egyptian-US relations. The Washington-Moscow route was cut.", ["US", "Washington", "Moscow"]),
        ("He toured the Paris-Henry County Heritage Center.", ["Paris", "Henry County"]),
        ("Wal-Mart opened a store. The Holder-Wooloff family said so.", []),
        # a dateline in capitals
        ("Huckabee campaigns in town. ROANOKE -- Former Gov. Mike Huckabee spoke.", ["ROANOKE"]),
        # "Drive", "Parkway" are street heads: the street, not the city inside it
        ("The crash happened on Wichita Drive near the school on Tuesday.", ["Wichita Drive"]),
    ],
)
def test_recognition_rules(text, expected):
    assert _names(text) == expected


def test_places_naming_an_institution_are_not_places():
    text = "According to the New York Times and China Daily, Columbia University staff flew to Lagos."
    assert _names(text) == ["Lagos"]


def test_civil_township_keeps_its_head_word():
    assert _names("Crews worked in Madison Township on Monday.") == ["Madison Township"]


def test_seas_rivers_mountains_and_regions():
    text = "Birds cross the Pacific and the Atlantic. Fighting in Darfur and South Ossetia; we hiked the Alps."
    assert _names(text) == ["Pacific", "Atlantic", "Darfur", "South Ossetia", "Alps"]
    assert _names("The Mediterranean diet is good; the Pacific coast is cold.") == []  # adjectives
    assert _names("我们去了长江三峡，还爬了泰山。") == ["长江", "三峡", "泰山"]


def test_ampersand_names_a_firm():
    text = "The city owes Stevens & Wilkinson money. We flew to Antigua & Barbuda from Topeka."
    assert _names(text) == ["Antigua", "Barbuda", "Topeka"]


def test_small_us_communities_are_recognised():
    assert _names("Lamont visits Harwinton supporters. A Tennessee Colony man was hurt.") == [
        "Harwinton",
        "Tennessee Colony",
    ]


def test_comma_after_a_title_is_not_a_place_cue():
    # "Minister" is also a spelling of Minster, Ohio; ", Abdel" is a person, not a region
    text = "The case in Iraq was announced by the country's Health Minister, Abdel Mutalib Mohammed."
    assert _names(text) == ["Iraq"]
    assert _names("He was born in Bath, England, and lives in Union, N.J.") == ["Bath", "England", "Union", "N.J."]


def test_chinese_county_and_prefecture_names():
    assert _names("山西有个万荣县，人好滑稽。丽江，什么时候才可以去") == ["山西", "万荣县", "丽江"]
    assert _names("世界和平，新华书店") == []  # district names are not indexed in short form


def test_chinese_landmarks_after_a_place_name():
    assert _names("转载龙门石窟潜溪寺。我们在北京火车站见面") == ["龙门石窟", "北京火车站"]


def test_street_named_after_towns_is_not_a_person():
    text = "The road meets Old Alton Edwardsville Road. The City Council of Edwardsville approved it."
    assert "Edwardsville" in _names(text)


def test_person_like_name_in_a_list_of_places():
    # "Trenton" is also a given name; next to Monroe and Middletown it is the town
    assert _names("New routes through Monroe, Trenton and Middletown.") == ["Monroe", "Trenton", "Middletown"]
    assert "Trenton" not in _names("Trenton Smith scored twice.")


def test_mount_town_before_an_institution_word():
    assert _names("It was raised at the Mount Pleasant City Council meeting.") == ["Mount Pleasant"]
    assert _names("We climbed Mount Kosciuszko and swam in Lake Tahoe.") == ["Mount Kosciuszko", "Lake Tahoe"]


def test_title_word_ending_a_sentence_is_not_a_title():
    text = "Hyles unseats Turner for Municipal Court Judge. Columbus attorney Stephen Hyles won."
    assert _names(text) == ["Columbus"]
    assert _names("Judge Columbus Smith ruled.") == []


def test_currencies_and_strain_names_are_not_places():
    text = "Libya settled for US$460 million. The vaccine covers A/California/7/2009 and Reston ebolavirus."
    assert _names(text) == ["Libya"]


def test_name_before_said_at_sentence_end_is_a_person():
    assert _names('"There is no danger in eating pork," Hartl said. Hartl works in Rome.') == ["Rome"]


def test_elided_articles_inside_names():
    assert _names("He flew to Côte d'Ivoire, then to Valle d’Aosta.") == ["Côte d'Ivoire", "Valle d’Aosta"]


def test_country_or_region_name_as_a_given_name():
    assert _names("Officers Ron McCurry and Chad Walker were dispatched to Sudan.") == ["Sudan"]
    assert _names("In the Honda, driver Virginia L. Lane, 77, died.") == []
    assert _names("Paul Mifsud, the late chief of staff, spoke.") == []
    assert _names("Houses not selling. BY KENT MALLETT Advocate Reporter") == []
    # the name of a place before a word or another place stays a place
    assert _names("Troops from Chad Sudan and the Chad Basin.") == ["Chad", "Sudan", "Chad"]
    assert _names("Victoria Falls and Virginia Beach.") == ["Victoria Falls", "Virginia Beach"]


def test_street_names_keep_their_compass_word():
    assert _names("He was driving on North Main Street at night.") == ["North Main Street"]
    assert _names("City Hall, 1200 E. Broad St. Lanier said.") == ["E. Broad St."]
    assert _names("The crash on Old Lexington Highway near El Dorado Avenue.") == [
        "Old Lexington Highway",
        "El Dorado Avenue",
    ]


def test_poi_names_take_their_whole_span():
    assert _names("The fire damaged an Indian Lake Road residence.") == ["Indian Lake Road"]
    assert _names("A storm is moving into the Red River Valley from Nebraska.") == ["Red River Valley", "Nebraska"]
    assert _names("Cans were found in St. Marys River.") == ["St. Marys River"]
    assert _names("Forests of the Neches River National Wildlife Refuge.") == ["Neches River"]
    assert _names("Two women crossed Browns Bridge Road Wednesday evening.") == ["Browns Bridge Road"]


def test_division_word_after_a_region_name():
    assert _names("Cases rose in Nyanza Province and Pointe Coupee Parish.") == [
        "Nyanza Province",
        "Pointe Coupee Parish",
    ]
    out = GazetteerGeocoder().geocode([GeocodeRequest("Madison Township", "region", ["Ohio"])])[0]
    assert out.hit is not None and out.hit.country_code == "US"


def test_a_list_of_countries_makes_its_members_countries():
    text = "Niger borders Nigeria. Cases were reported in Mauritania, Mali, Niger, and Senegal."
    result = get_extractor("offline").extract(_windows(text), language="en")
    by = {p.name: p for p in result.places}
    assert by["Niger"].marker == "country"
    names = [p.name for p in result.places]
    req = GeocodeRequest("Niger", by["Niger"].marker, [n for n in names if n != "Niger"])
    assert GazetteerGeocoder().geocode([req])[0].hit.country_code == "NE"


def test_place_name_ending_a_longer_name_is_not_the_place():
    assert _names("He criticised United Russia over the vote in Murmansk.") == ["Murmansk"]
    assert _names("Crolley was taken to Palmetto Health Richland in stable condition.") == []
    # words that describe a part of the place keep it
    assert _names("Darby Street in Historic Dublin will be renamed.") == ["Darby Street", "Dublin"]


def test_lists_of_people_are_no_headline():
    text = "Present were Harwinton First Selectman Frank Chiaramonte, Litchfield Selectman Marsha Bernstein."
    assert _names(text) == ["Harwinton", "Litchfield"]


def test_demonyms_formed_from_place_names():
    text = "Ohioans, Ontarians and South Ossetians met New Yorkers in Trenton, Hawaii and Indiana."
    assert _names(text) == ["Trenton", "Hawaii", "Indiana"]


def test_plural_words_connectors_and_two_word_demonyms():
    assert _names("Samples from the ducks were sent. Plans are made for the Urals.") == ["Urals"]
    assert _names("The forum met in Dar es Salaam, Tanzania.") == ["Dar es Salaam", "Tanzania"]
    assert _names("Saudi Arabian authorities warned pilgrims bound for Saudi Arabia.") == ["Saudi Arabia"]
    assert _names("The vice chairman of the California Republican Party spoke.") == ["California"]
    assert _names("She was found inside her Van Dorn Street apartment.") == ["Van Dorn Street"]


def test_area_words_dotted_capital_i_and_state_after_a_town():
    assert _names("Three children from northern Sumatra province were ill.") == ["Sumatra"]
    assert _names("Wild birds in the Fife area are infected. Many area cities plan.") == ["Fife"]
    assert _names("The United States flu season began; the Marburg virus spread.") == ["United States"]
    assert _names("The flight landed in İstanbul on Monday.") == ["İstanbul"]
    assert _names("The hospital in Rockville, Maryland admitted a patient.") == ["Rockville", "Maryland"]


def test_state_word_or_governor_makes_the_region():
    text = "New York state governor David Paterson spoke. New York has 28 cases."
    result = get_extractor("offline").extract(_windows(text), language="en")
    assert [(p.name, p.marker) for p in result.places] == [("New York", "region")]
    out = GazetteerGeocoder().geocode([GeocodeRequest("New York", "region", [])])[0]
    assert distance_km(out.hit.latitude, out.hit.longitude, 43.0, -75.5) < 100


# ------------------------------------------------------------------ scaling (linear extraction)
def _many_places_text(n_sentences: int, offset: int = 0) -> str:
    """Sentences naming distinct, well-known towns: the joint disambiguation sees many names."""
    from pipeline.geo.gazetteer import get_gazetteer
    from pipeline.geo.toponyms import build as _build

    gz = get_gazetteer()
    names = []
    for key in sorted(gz.flags):
        if (
            gz.flags[key] & _build.KEY_STRONG
            and not gz.flags[key] & (_build.KEY_COMMON | _build.KEY_PERSON)
            and key.isalpha()
            and len(key) >= 6
        ):
            cands = gz.candidates(key)
            if cands and cands[0].feature_class == "P":
                names.append(key.capitalize())
    names = names[offset : offset + 2 * n_sentences]
    assert len(names) == 2 * n_sentences
    pairs = zip(names[::2], names[1::2], strict=True)
    return " ".join(f"Then we drove from {a} to {b} and ate well." for a, b in pairs)


def _cpu_seconds(fn, args=((),)) -> float:
    """Best CPU time of ``fn(*a)`` over the argument tuples (distinct inputs: no cache hits)."""
    import time

    best = float("inf")
    for a in args:
        t0 = time.process_time()
        fn(*a)
        best = min(best, time.process_time() - t0)
    return best


@pytest.mark.timeout(300)
def test_extraction_time_grows_linearly_with_many_names():
    """4x the text (and 4x the distinct names) costs about 4x, not 16x: the joint
    disambiguation used to rebuild the evidence of all other names for every name (quadratic;
    cubic with its restarts), span selection tested every taken span per mention."""
    ex = OfflineExtractor()
    ex.extract(_windows(_many_places_text(20)))  # warm up
    # distinct names in every run: the joint resolution of a set of names is memoised
    small = [(_many_places_text(100, offset=i * 200),) for i in range(2)]
    big = [(_many_places_text(400, offset=400 + i * 800),) for i in range(2)]
    assert len(ex.extract(_windows(big[0][0])).places) > 600
    big = [(_many_places_text(400, offset=2000 + i * 800),) for i in range(2)]
    t_small = _cpu_seconds(lambda t: ex.extract(_windows(t)), small)
    t_big = _cpu_seconds(lambda t: ex.extract(_windows(t)), big)
    assert t_big / t_small < 8, (t_small, t_big)  # measured: 4.8 now, 10.1 before (restarts: more)


@pytest.mark.timeout(120)
def test_span_selection_is_not_quadratic():
    from pipeline.geo.recogniser import Mention, _select

    def mentions(n):  # every name also matched as its first word: half of them lose
        out = []
        for i in range(n):
            s = 20 * i
            out += [Mention(s, s + 12, "x", "x"), Mention(s, s + 5, "y", "y"), Mention(s + 10, s + 15, "z", "z")]
        return out

    chosen = _select(mentions(3))
    assert [(m.start, m.end) for m in sorted(chosen, key=lambda m: m.start)] == [(0, 12), (20, 32), (40, 52)]
    small, big = mentions(5000), mentions(20000)
    t_small = _cpu_seconds(lambda: _select(list(small)), [()] * 2)
    t_big = _cpu_seconds(lambda: _select(list(big)), [()] * 2)
    assert t_big / t_small < 10, (t_small, t_big)


# ------------------------------------------------------------------ fifth round rules
def test_speech_words_and_titles_in_capitals_are_no_places():
    assert _names("Okay. Welcome to Dallas, hey.") == ["Dallas"]
    assert "Texas" not in _names("I read THE HISTORY OF YOAKUM COUNTY , TEXAS last year in Austin.")
    assert _names("We moved to NEW YORK in May.") == ["NEW YORK"]  # the name fills the capitals


def test_postal_codes_after_a_place():
    assert _names("Wildfires near Napa, CA and Springfield, IL this week.") == ["Napa", "CA", "Springfield", "IL"]
    assert "CA" not in _names("Congressman Henry Waxman (D-CA) will hold a hearing in Washington.")
    assert _names("we stayed in chicago, in 2009 it snowed") == ["chicago"]


def test_lower_case_words_nicknames_and_person_names():
    assert _names("we got to the point where we saw the mountains and the lakes") == []
    assert _names("oil prices in the middle east") == ["middle east"]
    assert _names("michael said it was nice") == []  # a sheading of the Isle of Man, no cue
    assert _names("the paris plant like that at the crystal palace was a temporary exhibit") == ["paris"]


def _placed(text):
    """(name, country code, feature) per place, as the job places them: extractor, then geocoder."""
    result = get_extractor("offline").extract(_windows(text), language="en")
    names = [p.name for p in result.places]
    reqs = [GeocodeRequest(p.name, p.marker, [n for n in names if n != p.name]) for p in result.places]
    return [(o.query, o.hit.display_name.split(",")[0] if o.hit else None)
            for o in GazetteerGeocoder().geocode(reqs)]


def test_cities_short_forms_in_capitals():
    """short_forms.tsv: "LA", "SF", "KL", "HK" written in capitals are their cities; "LA" right
    after a town and a comma stays Louisiana's postal code; not the film, nor a brand's first word."""
    assert _placed("Back in HK after a week in KL") == [("HK", "Hong Kong"), ("KL", "Kuala Lumpur")]
    assert _placed("The last time a tornado hit LA was 1984. I didnt know you were in SF!") == [
        ("LA", "Los Angeles"), ("SF", "San Francisco")]
    assert _placed("We flew from Baton Rouge, LA to Dallas.") == [
        ("Baton Rouge", "Baton Rouge"), ("LA", "Louisiana"), ("Dallas", "Dallas")]
    assert _names("OH LA LA, we watched LA LA LAND", cased=True) == []
    assert _names("PREP delivered 40 LA Cargo trailers.") == []
    # captions: the lower-case form after a locative word only; "la" is the article there
    assert _names("we moved to la last year and then to kl", cased=False) == ["kl"]
    assert _names("the sf giants won and kl is great", cased=False) == []
