"""The recogniser's rules as data: named, documented, ordered, traceable and switchable."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from pipeline.geo import recogniser as rc
from pipeline.geo.toponyms.text import word_list


def test_rules_are_named_documented_and_unique():
    names = [r.name for r in rc.RULES]
    assert len(names) == len(set(names))
    assert rc.DEFAULT_ACCEPT not in names
    for r in rc.RULES:
        assert re.fullmatch(r"[a-z_]+", r.name)
        assert len(r.doc) > 20, f"{r.name} needs a docstring saying what it decides and why"
        assert r.case in ("any", "cased", "lower")
        assert isinstance(r.verdict, rc.Verdict)


def test_rule_order_is_the_documented_one():
    names = [r.name for r in rc.RULES]
    assert names[0] == "stopword"  # the hot loop skips stop-words with the same test, so it must be first
    # a cased name in lower case is judged before anything that looks at capitals or persons
    assert names.index("uncapitalised_word") < names.index("uncapitalised_settlement") < names.index("dateline")
    assert (
        names.index("english_word_at_start") < names.index("english_word_unplaced") < names.index("english_word_kept")
    )
    assert names.index("person_name_cued") < names.index("person_name")
    assert names[-1] == "many_candidates"
    cases = [r.case for r in rc.RULES]
    # every-text rules, then cased, then lower-case, then the last every-text rule
    assert cases == sorted(cases[:-1], key=("any", "cased", "lower").index) + ["any"]


def test_thresholds_are_one_frozen_table():
    with pytest.raises(dataclasses.FrozenInstanceError):
        rc.THRESHOLDS.big_person_place = 1  # type: ignore[misc]
    assert rc.THRESHOLDS.big_person_place > rc.THRESHOLDS.big_person_region
    src = Path(rc.__file__).read_text(encoding="utf-8")
    assert "POPULATION[" not in src


def test_moved_word_lists_are_read_from_data():
    assert "Township" in word_list("division_heads")
    assert {"white house", "holy spirit"} <= rc._NON_PLACE_PHRASES
    assert {"town", "city", "village"} <= word_list("settlement_nouns")


def test_trace_names_the_deciding_rule():
    trace: list[rc.RuleDecision] = []
    text = "Reading is fun. Dr. Evans flew to Boston with Mike Fitzgerald and visited Paris."
    mentions = rc.recognize(text, trace=trace)
    assert {m.surface for m in mentions} >= {"Boston", "Paris"}
    by_surface = {text[d.start : d.end]: d for d in trace}
    assert by_surface["Evans"].rule == "title_before"
    assert by_surface["Evans"].verdict is rc.Verdict.SURNAME
    assert by_surface["Boston"].rule == rc.DEFAULT_ACCEPT
    assert by_surface["Reading"].verdict is rc.Verdict.REJECT


def test_disabling_a_rule_changes_what_it_decided():
    text = "The report was read by Dr. Evans in his office."
    assert not any(m.surface == "Evans" for m in rc.recognize(text))
    trace: list[rc.RuleDecision] = []
    rc.recognize(text, trace=trace, disabled=frozenset({"title_before"}))
    assert "title_before" not in {d.rule for d in trace}
    with pytest.raises(KeyError):
        rc.recognize(text, disabled=frozenset({"no_such_rule"}))


def test_lower_case_rules_only_run_on_lower_case_text():
    trace: list[rc.RuleDecision] = []
    rc.recognize("we drove from boston to a small town called springfield", trace=trace)
    cases = {rc.rule_by_name(d.rule).case for d in trace if d.rule != rc.DEFAULT_ACCEPT}
    assert "cased" not in cases


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I lived in the U S for years and in L A too", [("U S", "U.S."), ("L A", "L.A.")]),
        ("we flew to d c and then on to the u s a", [("d c", "D.C."), ("u s a", "U.S.A.")]),
        ("Plan A B C D is fine", []),  # a run of letters is no abbreviation
        ("They moved to the U S in May", [("U S", "U.S.")]),
    ],
)
def test_spelled_letters_are_abbreviations(text, expected):
    got = [(text[m.start : m.end], m.surface) for m in rc.recognize(text) if m.key.count(".") >= 2]
    assert got == expected


def test_spelled_letters_in_lower_case_only_in_lower_case_text():
    text = "In the Senate today, the u s delegation met leaders from Texas and Ohio."
    assert not any(m.key == "u.s." for m in rc.recognize(text))


def _names(text: str) -> list[str]:
    return [m.surface for m in rc.recognize(text)]


def test_lower_case_town_kept_in_the_region_the_text_names():
    # "zanesville" has no cue ("in"), but the text names ohio and columbus for sure
    assert "zanesville" in _names("officials in ohio said zanesville and the city of columbus will vote on tuesday")
    # the same town without a region of its own in the text stays out
    assert "zanesville" not in _names("officials said zanesville will vote on tuesday")


def test_lower_case_country_that_is_a_word_needs_its_country_in_the_text():
    assert "china" in _names("a farmer in fujian china fell ill last week")
    assert "china" not in _names("she put the good china on the table for dinner")
    assert "turkey" not in _names("we cooked a turkey for dinner with friends")


def test_lower_case_abbreviation_in_lower_case_text():
    assert "uk" in _names("the tests were made at a laboratory run by uk government officials")
    assert "uk" not in _names("Tests were made by uk officials in London on Tuesday.")  # cased: a word


def test_a_cue_belongs_to_its_own_sentence():
    # "around" / "in" end the sentence before: no cue for the English word or given name after them
    assert "Pop" not in _names("We have shrimp and pork wrapped around. Pop that in your mouth.")
    assert "Sam" not in _names("Yes. Let's go in. Sam, you got your favorite flavor?")
    assert "Bath" in _names("We spent a week in Bath with friends.")


def test_romance_landmarks_are_taken_whole():
    text = "We walked from Plaza Mayor to Puerta del Sol, then to Palacio de la Moneda in Santiago."
    got = {m.surface: m.marker for m in rc.recognize(text)}
    assert got == {"Plaza Mayor": "poi", "Puerta del Sol": "poi", "Palacio de la Moneda": "poi", "Santiago": "city"}
    assert "Mayor" not in got  # a town elsewhere: never the landmark's last word alone
    assert {m.surface: m.marker for m in rc.recognize("Calle Ocho is busy at night.")} == {"Calle Ocho": "street"}


def test_small_town_needs_its_country_among_the_sure_places():
    # a video about Ireland: "Baileys" (a hamlet in the US) is the liqueur, "Catalan" a people's word
    text = "So hello from Ireland. We are here in Dublin. I'm getting the Baileys Coffee and a Catalan hat."
    names = _names(text)
    assert "Ireland" in names and "Dublin" in names
    assert "Baileys" not in names and "Catalan" not in names
    trace: list[rc.RuleDecision] = []
    rc.recognize(text, trace=trace)
    assert any(d.rule == "small_town_elsewhere" for d in trace)
    # a text that names no sure place keeps the town (a tweet), and so does a placed one
    assert "Zanesville" in _names("Snow again in Zanesville tonight.")
    assert "Zanesville" in _names("Zanesville and Columbus, Ohio will vote on Tuesday.")
    with_rule_off = {m.surface for m in rc.recognize(text, disabled=frozenset({"small_town_elsewhere"}))}
    assert "Baileys" in with_rule_off or "Catalan" in with_rule_off


def test_ruler_titles_in_the_plural_are_people():
    assert "Queens" not in _names("In Costa Brava we ate like Kings and Queens all week.")
    assert "Queens" in _names("She grew up in Queens and moved to Boston.")


def test_colloquial_words_and_toasts_are_no_places():
    assert not {"Wanna", "Salud"} & set(_names("In Madrid, Spain. Wanna try some? Cheers! Salud!"))


def test_lower_case_plurals_and_the_word():
    names = _names("the monks built monasteries in the valley near kalambaka greece")
    assert "monasteries" not in names and "the valley" not in names
    assert rc._english_plural(rc._recognizer().gz, "monasteries")
    assert rc._english_plural(rc._recognizer().gz, "churches")
    assert not rc._english_plural(rc._recognizer().gz, "texas")


def test_lower_case_the_feature_is_the_feature():
    assert "pyrenees" in _names("we flew over the pyrenees mountains at dawn")
    both = frozenset({"lower_the_feature", "lower_feature_name"})
    said = "we flew over the pyrenees mountains at dawn"
    assert "pyrenees" not in {m.surface for m in rc.recognize(said, disabled=both)}


def test_lower_case_the_us_is_the_country():
    # captions write "U.S." as "us": after "the" it is no pronoun
    text = "the us army said it could not tell us more"
    assert [text[m.start : m.end] for m in rc.recognize(text)] == ["us"]
    assert "us" not in _names("let us go and tell us more about it")
    assert "us" not in _names("The us of old, they said.")  # cased: a word


def test_lower_case_town_before_its_state():
    # the state (or its abbreviation, without its full stop) right after a town places it
    text = "a man from orlando fla was hurt and sioux falls s d too"
    got = {text[m.start : m.end]: m.surface for m in rc.recognize(text)}
    assert got == {"orlando": "orlando", "fla": "Fla.", "sioux falls": "sioux falls", "s d": "S.D."}
    assert "canton" in _names("julia kinsey of canton ohio was preparing her dogs")
    assert "canton" not in _names("julia kinsey of canton was preparing her dogs")
    # a state code that is a spoken word, and two persons' names, are not
    assert _names("i teach for dallas oh you do") == ["dallas"]
    assert "george" not in _names("we went across the george washington bridge")


def test_lower_case_one_sense_per_text():
    # "kent" is an English word: without a cue it waits for the same name used as a place
    assert _names("the board met in kent on monday and kent will see decreases") == ["kent", "kent"]
    assert "kent" not in _names("the board met on monday and kent will see decreases")
    trace: list[rc.RuleDecision] = []
    rc.recognize("the board met in kent on monday and kent will see decreases", trace=trace)
    assert any(d.verdict is rc.Verdict.NEEDS_NAME for d in trace)


def test_lower_case_streets_and_landmarks_by_their_words():
    # no capitals mark the name: the words before the head word that are no English words do
    got = {m.surface: m.marker for m in rc.recognize("a crash at the intersection of north nokomis street and main")}
    assert got.get("north nokomis street") == "street"
    assert "bucknell drive" in _names("she lives on bucknell drive and works near the long road")
    assert "lake texoma" in _names("we used to go fishing in lake texoma every summer")
    # inflected English words the word list lacks are words too
    assert "wichita drive" in _names("residents are using wichita drive instead")
    assert not _names("we drove down the long road to the park and let him drive")
    assert not _names("we have got the tofu simmering on the stove")
    assert rc._english_inflection(rc._recognizer().gz, "simmering")
    assert not rc._english_inflection(rc._recognizer().gz, "niger")


def test_lower_case_landmark_names_of_several_words_and_two_word_heads():
    # up to three name words before the head, and a head of two words ("national park")
    assert "old alton edwardsville road" in _names("the intersection of route 159 and old alton edwardsville road")
    assert "kruger national park" in _names("this morning we are driving through kruger national park")
    assert "shilin night market" in _names("tonight we are eating our way through shilin night market")
    # a modifier with no name before it is no landmark
    assert not _names("tonight we are eating our way through the night market")


def test_lower_case_kind_of_landmark_is_no_name():
    # a people's name or a word of its kind before the head says what the landmark is, not which
    assert not _names("we had some amazing taiwanese street food for lunch")
    assert not _names("this is actually a hindu temple that was dedicated to shiva")
    assert "british fortress" not in _names("the citadel is the largest british fortress in north america")
    assert "inca trail" in _names("we are hiking the inca trail to machu picchu")  # trails are named after peoples
    # unless the words are a place's own name
    assert "indian ocean" in _names("the energy generated by the indian ocean earthquake")


def test_lower_case_multi_word_name_in_the_region_the_text_names():
    # "magnetic island" (a few thousand people) lies in the region of townsville, which the text names
    text = "located just a few kilometers from townsville magnetic island was the perfect getaway"
    assert "magnetic island" in _names(text)
    assert "magnetic island" not in _names("a few kilometers from here magnetic island was the perfect getaway")


def test_lower_case_village_of_names_a_small_town():
    # "flumeri" (a village in Campania) needs no region named when the text calls it a village
    assert "flumeri" in _names("he was born in the small village of flumeri in 1931")
    assert "flumeri" not in _names("he said flumeri was fine")
    assert "angels" not in _names("welcome to the city of angels")  # an English word stays a word


def test_lower_case_locative_before_a_word_that_modifies_a_noun_is_no_cue():
    # "from buffalo skin": the word is the animal; one such cue made every "buffalo" of a text the city
    assert "buffalo" not in _names("we have a paste made from buffalo skin and some buffalo jerky")
    assert "buffalo" in _names("my cousin drove to buffalo yesterday")
    assert "buffalo" in _names("we flew from buffalo and landed in denver")


def test_lower_case_prominent_feature_needs_no_cue():
    # a curated prominent feature or travel region is known by its name alone
    assert "meteora" in _names("sam and i are currently visiting meteora which means suspended in the air")
    assert "south ossetia" in _names("tensions have only escalated in breakaway south ossetia")


def test_peoples_and_languages_named_like_towns_are_no_places():
    # "Romans" (Romans-sur-Isère), "Inca" (Mallorca), "Hindi": the people or language, as the "the Aztecs"
    said = ("it was seized by the Romans", "bread in Hindi and Malay", "the Inca built it", "an Aztec temple")
    for text in said:
        assert not _names(text), text


def test_name_ending_a_romance_of_phrase_is_no_town():
    # "Dulce de Leche", "Champ de Mars", "Francisco de Goya": the end of a longer name
    assert not _names("It kind of reminds me of Dulce de Leche.")
    assert not _names("They have works by artists like Francisco de Goya, and El Greco.")
    # after a division word, or a well-known place, it is the place
    assert "Buenos Aires" in _names("We drove across the Provincia de Buenos Aires all day.")
    assert "Montréal" in _names("The top of the day is at Fête des neiges de Montréal.")


def test_contraction_is_no_town():
    assert not _names("Aren't we clever? Health officials aren't sure why.")


def test_currency_after_an_amount_is_no_town():
    assert not _names("It came in at three Lira which is about a dollar fifty.")
    assert not _names("the ride cost us 50 cordobas")
    assert "Lira" in _names("We drove north to Lira, Uganda.")


def test_capitalised_compass_word_does_not_place_an_english_word():
    # "the Central Market" is a market's name, not central Market (a town); "central Reading" places it
    assert not _names("Right now we're visiting the Central Market which has a large fish section.")
    assert "Terminal" not in _names("Journeys begin at Penn Station or Grand Central Terminal, and then you walk.")
    assert "Reading" in _names("The fire spread across central Reading on Monday.")


def test_lower_case_cues_of_age_and_services():
    # "roswell" needs a cue in lower-case text: a person's age and "of", or "police" after it
    assert "roswell" in _names("daniel ray hufstetler 29 of roswell was listed in stable condition")
    assert "roswell" in _names("a man roswell police say shoplifted a drill")
    assert "roswell" not in _names("a man roswell say shoplifted a drill")
    assert "delta" not in _names("the large delta area is a destination for birds")  # an English word


def test_lower_case_landmarks_after_place_names_and_romance_heads():
    got = _names("next up we are climbing the holy spirit rock and then the castello di malpaga")
    assert "holy spirit rock" in got and "castello di malpaga" in got
    assert "costa brava" in _names("this week we are in costa brava spain")
    assert "brava" not in _names("this week we are in costa brava spain")


def test_lower_case_country_word_beside_another_country():
    names = _names("officials in other countries such as mexico china japan and brazil also reported cases")
    assert {"china", "japan"} <= set(names)
    assert "turkey" not in _names("we cooked a turkey for dinner and put out the good china")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Rebels said the black box was sent to #Moscow For analysis.", "Moscow"),
        ("Thousands march. #Gaza Pro-Palestinian rally in London", "Gaza"),
    ],
)
def test_a_hashtag_before_a_capitalised_word_is_no_given_name(text, name):
    """ "#Moscow For ...": a hashtag is a word on its own, not the first name of "Moscow For"."""
    assert name in [m.surface for m in rc.recognize(text)]
    assert "Paris" not in [m.surface for m in rc.recognize("Paris Hilton arrived.")]  # (the rule itself stays)


def test_hashtags_the_name_matching_cannot_see():
    """Tweets: camel-case tags taken whole or by their longest strong name, lower-case tags of
    strong names; no abbreviation or given name inside a tag, no English word."""
    text = "Pray for #SierraLeone and #SupportGaza, storm in #miami; #DCFerguson #MichaelBrown #turkey #RockIsland"
    got = {(text[m.start : m.end], m.surface) for m in rc.recognize(text)}
    assert {("SierraLeone", "Sierra Leone"), ("Gaza", "Gaza"), ("miami", "miami"), ("RockIsland", "Rock Island")} <= got
    assert not {s for s, _ in got} & {"DC", "Michael", "turkey", "Ferguson"}


def test_a_place_before_a_company_word_names_the_firm():
    text = "Do you work for Texas Instruments ?\nI work in Dallas , Texas ."
    assert [text[m.start : m.end] for m in rc.recognize(text)] == ["Dallas", "Texas"]
    assert text.index("Texas") not in {m.start for m in rc.recognize(text)}
    assert text.index("Texas") in {m.start for m in rc.recognize(text, disabled=frozenset({"company_name"}))}
    assert "texas" not in _names("my daughter s a temp at texas instruments in austin")
    assert "Texas" in _names("I moved to Texas in the spring.")


def test_a_name_ending_its_phrase_after_a_or_my_is_a_thing():
    assert "Winnebago" not in _names("if they had like a Winnebago or something they were fine")
    assert "Pontiac" not in _names("my dad recently got a , um , a Pontiac , uh , last year")
    assert "Pontiac" in _names("my dad drove to Pontiac , uh , last year")
    assert "Paris" in _names("A Paris man was arrested Sunday.")
    assert "Denison" in _names("Representatives of a Denison, Iowa-based firm came.")
    assert "Winnebago" in _names_without("if they had like a Winnebago or something", "owned_thing")


def _names_without(text: str, rule: str) -> list[str]:
    return [m.surface for m in rc.recognize(text, disabled=frozenset({rule}))]


def test_lower_case_direction_phrase_is_no_region():
    text = "councillors backed the north west bicester plan and it is too far north for me"
    assert not {"north west", "far north"} & set(_names(text))
    assert {"north west", "far north"} <= set(_names_without(text, "lower_direction_phrase"))


def test_a_possessive_ending_the_phrase_after_at_is_a_shop():
    text = "We eat at Shoney 's .\nbut we live in Shoney , near the lake ."
    assert text.index("Shoney") not in {m.start for m in rc.recognize(text)}
    assert text.index("Shoney") in {m.start for m in rc.recognize(text, disabled=frozenset({"possessive_business"}))}
    assert "Cambridge" in _names("He swam 26 miles in the pool at Cambridge's Chesterton sports centre.")


def test_lower_case_the_name_before_a_newspaper_word_is_the_newspaper():
    text = "mr kemp told the new york times that the shop in new york was closed"
    assert [text[m.start : m.end] for m in rc.recognize(text)] == ["new york"]
    assert len(rc.recognize(text, disabled=frozenset({"lower_the_institution"}))) == 2
    assert "kentucky" in _names("a senior at the university of kentucky college of law")

def test_a_city_that_is_no_persons_name_before_a_capitalised_word_is_the_city():
    """Tweets capitalise the nouns after a place ("Gaza Militants", "Manchester Dogs Home"); a
    city's name that is nobody's is no given name there; a brand's is ("his Toyota Hilux")."""
    assert "Gaza" in _names("Officials in Israel say Gaza Militants crossed the border overnight.")
    assert "Manchester" in _names("Hello people up North! After Manchester Dogs Home fire, 150 dogs need a home.")
    assert "Toyota" not in _names("He owns a vandalised Toyota Hilux and a car.")
    assert "Paris" not in _names("Paris Hilton arrived.")


def test_a_state_postal_code_with_a_cue_in_a_tweet():
    """ "Napa, CA" needs no cue; without the comma a two-letter code needs a locative word or a
    hashtag of its own, and no code that is a word in capitals ("IN", "OK") nor a road ("NJ-33")."""
    assert "CA" in _names("Number of #Measles in CA now 46, officials say.")
    assert {"AR", "TN"} <= set(_names("New #tornado warnings straddle the #AR and #TN state line."))
    assert "OK" not in _names("We are in OK shape after the storm, thanks.")
    assert "NJ" not in _names("Flood conditions on NJ-33 blocking the right lane.")


def test_a_name_inside_a_users_handle_is_no_place():
    """ "@AIESEC_Lagos", "@Queen_UK": part of an account's name; the same name in the text stays."""
    names = _names("RT @Queen_UK: The RAF are heading to Iraq. cc @AIESEC_Lagos")
    assert "Iraq" in names
    assert not {"UK", "Lagos"} & set(names)


def test_a_well_known_place_written_in_lower_case_in_a_tweet():
    """ "pray for malaysia", "in las vegas": a strong name that is no English word is the place;
    English words the American word list lacks, compass phrases and ends of names stay out."""
    assert "malaysia" in _names("Please pray for malaysia, the Flood is Bad.")
    assert "las vegas" in _names("The first person who has Measles in las vegas was confirmed.")
    assert "centre" not in _names("Keep in mind this is the city centre of Dublin.")
    assert "north west" not in _names("Before Pamela came to live in the north west, we had not met.")
    assert "bharu" not in _names("Kota bharu after the Flood.")


def test_lower_case_persons_name_after_in_is_the_town():
    """Lower-case text: "protest in ferguson" is the town; "from linda wasserman", "at williams"
    and a possessive ("in johnson's office") are persons."""
    assert "ferguson" in _names("police fire teargas in ferguson days after the shooting")
    assert "linda" not in _names("she gets a lunch delivery from linda wasserman every day")
    assert "johnson" not in _names("we met in johnson's office after lunch")


def test_a_world_famous_surname_is_the_person_unless_placed():
    """ "Obama promised ...": the person, not Obama (Fukui); "in Obama, Fukui" is the town, but
    "in Obama's stimulus law" is the person's."""
    assert "Obama" not in _names("No worries; Obama promised to stop all bad weather.")
    assert "Obama" not in _names("A provision in Obama's stimulus law was changed.")
    assert "Obama" in _names("The ferry leaves from a harbour in Obama, Fukui, every morning.")
    assert "Kennedy" not in _names("I guess Kennedy may be the one that actually started the thing.")
    assert "Reagan" not in _names("and even from Reagan , it was all just like a commercial")
    assert "Kennedy" not in _names("I guess even back to Kennedy , as a matter of fact")
    assert "Kennedy" in _names("We took the TransMilenio out to Kennedy, Bogota, for the market.")


def test_names_of_god_and_of_a_company_are_no_places():
    """ "the Holy Spirit" (an English name of Sancti Spiritus, Cuba), "Allah" (Hamidiyeh, Iran),
    "Google it" (Topeka's name for a while): never the place."""
    assert _names("a heart set ablaze by the Holy Spirit, full of love") == []
    assert _names("They just want you to kill each other. Allah is great") == []
    assert "Google" not in _names("Patented in 2009. Google it if you don't believe me.")


def test_lower_case_name_before_an_event_noun_is_the_place():
    """Lower-case text: "the napa earthquake", "japan earthquake" are places; "monster tornado"
    and "the post earthquake" are words."""
    assert "grantham" in _names("we felt the grantham earthquake while watching tv")
    assert "japan" in _names("powerful magnitude japan earthquake triggers tsunami advisory")
    assert "monster" not in _names("largest tornadoes monster tornado caught on tape")


def test_a_name_before_an_event_noun_is_the_place_in_cased_text_too():
    """ "the Ferguson riot" is the town (a person's name elsewhere); "Tim Flood plays" is a person."""
    assert "Ferguson" in _names("Stop comparing the Ferguson riot picture to the old one.")
    assert "Tim" not in _names("RT: Tim Flood plays music from and for the soul.")


def test_an_area_named_with_a_common_noun_after_a_capitalised_word_ends_a_longer_name():
    """ "the Gulf Coast", "the East Midlands": not Coast (Kenya) nor the Midlands alone."""
    assert "Coast" not in _names("Dangerous day along the Gulf Coast for storms.")
    assert "Midlands" not in _names("There were reports of an earthquake in parts of the East Midlands.")


def test_lower_case_state_postal_code_after_in():
    """A lower-cased tweet: "lyme disease is in ny" names New York (as "NY"); "in pa's house" and
    English words ("in ma") do not."""
    assert "NY" in _names("it's terrifying how common lyme disease is in ny people are so casual")
    assert "PA" not in _names("we stayed in pa's old house all summer long")


def test_lower_case_foreign_multi_word_name_after_a_cue_is_the_place():
    """ "we hiked to machu picchu": no word of it is English or a person's name, so a cue is
    enough although the town is small; uncued, or with an English word, it still needs more."""
    assert "machu picchu" in _names("then we hiked to machu picchu with a guide")
    assert "machu picchu" not in _names("machu picchu postcards and magazines")


def test_lower_case_generic_district_is_the_district_not_its_last_word():
    """ "little italy": the district of the video's town (the geocoder's ``generic_districts``),
    not Italy; "a 27 year old city man" is an age."""
    names = _names("little italy may be slowly shrinking but it's still a great place")
    assert "little italy" in names and "italy" not in names
    assert "old city" not in _names("a 27 year old city man was shot twice early tuesday in springfield")


def test_lower_case_name_before_in_and_its_state_is_cued():
    """ "where is raleigh in north carolina": the state after "in" cues the town although Raleigh
    is also a surname; an English word is not cued so ("the bank in texas")."""
    assert "raleigh" in _names("yeah where is raleigh in north carolina uh well")
    assert "bank" not in _names("we went to the bank in texas yesterday")


def test_centre_is_a_word_but_a_street_may_be_named_so():
    """ "the historic centre of warsaw", "the Centre to ensure help": the word, not the French
    region; a non-place word still begins a street's name ("Centre Street", "Duke Street")."""
    assert _names("st anne's church is located here in the historic centre of warsaw") == ["warsaw"]
    assert "Centre" not in _names("Centre to ensure all possible help to flood-hit Jammu and Kashmir")
    assert "Centre Street" in _names("Gee Gong Chinese restaurant, Centre Street. It didn't survive the flood")
    assert "Duke Street" in _names("The bakery on Duke Street reopened on Monday.")


def test_place_before_a_capitalised_event_noun_is_the_place_unless_that_is_a_surname():
    """Headlines capitalise the event: "Ferguson Protest Leader" is Ferguson although Ferguson is
    also a surname; "Flood" is a surname too, so a person's name before it stays the person."""
    assert "Ferguson" in _names("via @weaselzippers: Ferguson Protest Leader Urges The Police To Keep Calm")
    assert "Tim" not in _names("RT: Tim Flood plays music from and for the soul.")


def test_names_of_peoples_named_like_towns_are_no_places():
    """ "more tolerant of Blacks and Hispanics", "half or more Oriental": peoples (OntoNotes NORP),
    not Oriental, North Carolina."""
    assert _names("both of my children are more tolerant of Blacks and Hispanics than I was") == []
    assert _names("the valedictorian and salutatorian were half or more Oriental .") == []


def test_place_name_with_a_romance_of_tail_is_the_longer_name():
    """ "Santa Maria del Pi" (a Barcelona church), "Bois de Boulogne": the longer name, not Santa
    Maria (a Galician parish) nor Bois; not after a given name ("Dominique de Villepin")."""
    assert _names("Santa Maria del Pi is another nearby church.") == ["Santa Maria del Pi"]
    assert _names("The Bois de Boulogne is the second largest park in Paris.") == ["Bois de Boulogne", "Paris"]
    assert "Dominique de Villepin" not in _names("Dominique de Villepin has stated on French radio")


def test_nicknames_are_recognised_in_any_case():
    """ "the Eternal City", "sin city", "San Antone": nicknames (``nicknames.tsv``) are names."""
    assert "Eternal City" in _names("Rome is known as the Eternal City and we love it")
    assert "sin city" in _names("a vacation to sin city is the best")
    assert "San Antone" in _names("you have n't lived until you have been to San Antone , to the Alamo")


def test_spelled_abbreviation_before_the_article_a():
    """ "I do n't like D C a whole lot": in cased text the letters are capitals, so the article
    after them is no third letter."""
    assert "D.C." in _names("um , I really do n't like D C a whole lot at all .")


def test_the_feature_before_punctuation_written_apart_is_the_feature():
    """ "we sailed on the Mediterranean ." (a tokenised transcript): the noun, as "the Mediterranean."."""
    assert "Mediterranean" in _names("and then we sailed on the Mediterranean . Lots of sun .")


def test_a_name_and_the_word_after_it_that_name_a_thing_are_no_place():
    """ "we tried Guinea Pig", "a Mars bar", "Dulce De Leche": the animal and the sweets, not the
    country or the towns of those names; "from Guinea to Mali" stays the country."""
    assert "Guinea" not in _names("In Cusco we tried Guinea Pig for the first time.")
    assert "Mars" not in _names("I grabbed a Mars bar at the station in Lima.")
    assert "Dulce" not in _names("The pancakes came with Dulce De Leche on top.")
    assert "Guinea" in _names("We flew from Guinea to Mali last spring.")


def test_a_dish_named_like_a_town_is_the_dish_unless_placed():
    """ "we ate Thali", "Tonkatsu and Udon": the food; "the night bus to Udon" places the name, so
    there it is the town (Udon Thani's short name)."""
    assert "Thali" not in _names("For lunch in Jaipur we ate Thali with lots of chapati.")
    assert "Udon" not in _names("We had Tonkatsu and Udon near the station in Tokyo.")
    assert "Udon" in _names("From Bangkok we took the night bus to Udon.")


def test_the_and_a_word_before_of_heads_a_longer_phrase():
    """ "nicknamed The Center of the Universe": not The Center, Texas."""
    assert _names("Fremont is nicknamed The Center of the Universe by its people.") == ["Fremont"]


def test_a_lower_case_noun_after_a_is_no_well_known_place():
    """ "staying in a haveli" is the house, not Haveli District; "pray for malaysia" stays."""
    assert _names("We are staying in a haveli in Jodhpur.") == ["Jodhpur"]
    assert "malaysia" in _names("Please pray for malaysia, the Flood is Bad.")


def test_a_name_spoken_to_is_a_person_everywhere_in_the_text():
    """The presenters call each other by name: "Right, Sam?" makes every lone "Sam" of the text
    the person ("according to Sam"); a town named in a question to someone stays the town."""
    text = "We did the conversion according to Sam and it is very cheap. Right, Sam? Yeah, it is."
    assert "Sam" not in _names(text)
    assert "Sam" in _names_without(text, "addressed_person")
    assert _names("Have you been to Salem, Sam?") == ["Salem"]
    assert "Kerry" in _names("I'm planning a trip up to Kerry and I'm going to be coming back.")


def test_goodbyes_and_cheers_are_no_places():
    """ "see you next time. Tata.", "Woo Hoo!": Tata (Hungary) and Hoo (Kent) are not meant."""
    assert _names("That's a wrap from Seoul. Tata. Woo Hoo!") == ["Seoul"]


def test_a_word_broken_off_in_speech_is_no_place():
    """ "We went to Pana- , he went to Panama": "Pana-" is the start of another word."""
    assert _names("We went to Pana- , he went to Panama when he was young .") == ["Panama"]
    assert "Pana" in _names_without("We went to Pana- , he went to Panama when he was young .", "cut_off_word")
