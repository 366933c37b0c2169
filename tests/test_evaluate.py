"""Geoparsing evaluation harness on tiny hand-made corpora (tests/data/eval/, written for these tests)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pipeline.evaluate import core as ev
from pipeline.evaluate.cli import main as evaluate_main

DATA = Path(__file__).parent / "data" / "eval"
LGL = DATA / "lgl-sample.xml"
GEOVIRUS = DATA / "geovirus-sample.xml"
WEIBO = DATA / "weibo-sample.conll"


@pytest.mark.parametrize(("path", "kind"), [(LGL, "lgl"), (GEOVIRUS, "geovirus"), (WEIBO, "weibo")])
def test_detect_format(path, kind):
    assert ev.detect_format(path) == kind


def test_detect_format_rejects_unknown(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("just some text\n", encoding="utf-8")
    with pytest.raises(ValueError):
        ev.detect_format(other)


def test_loaders_give_exact_spans():
    for path in (LGL, GEOVIRUS, WEIBO):
        corpus = ev.load_corpus(path)
        assert corpus.docs
        for doc in corpus.docs:
            for g in doc.gold:
                assert doc.text[g.start : g.end] == g.name  # GeoVirus' 1-based offsets are converted
    lgl = ev.load_corpus(LGL)
    assert lgl.has_coordinates and lgl.docs[0].gold[0].lat == pytest.approx(39.80172)
    weibo = ev.load_corpus(WEIBO)
    assert not weibo.has_coordinates
    assert [g.name for g in weibo.docs[0].gold] == ["北京", "上海", "成都"]
    assert weibo.docs[1].gold == []  # LOC.NOM is not a named toponym
    assert weibo.docs[2].text == "21年去南京"  # a digit character carries its own segmentation digit
    assert [g.name for g in weibo.docs[2].gold] == ["南京"]
    assert weibo.docs[3].text == "Zu去成都"  # positions past 9 take two digits ("Z10", "u11")
    assert [g.name for g in weibo.docs[3].gold] == ["成都"]
    assert ev.load_corpus(LGL, limit=1).docs[0].doc_id == "101"


def test_metrics_helpers():
    gold = [ev.GoldToponym(0, 5, "Paris"), ev.GoldToponym(20, 25, "Texas")]
    preds = [ev.Prediction(2, 7, "paris"), ev.Prediction(40, 45, "Texas")]
    assert ev.match_lenient(gold, preds) == {0: 0}  # same string, midpoints 2 apart; Texas too far
    assert ev.prf(1, 2, 4) == pytest.approx((0.5, 0.25, 1 / 3))
    assert ev.auc_log_error([0.0, 0.0]) == 0.0
    assert ev.auc_log_error([ev.MAX_ERROR_KM - 1] * 3) == pytest.approx(1.0)
    assert math.isnan(ev.auc_log_error([5.0]))


def test_offline_system_scores_samples():
    rows, notes = ev.evaluate_paths([str(LGL), str(GEOVIRUS), str(WEIBO)])
    by = {(r.corpus, r.system): r for r in rows}
    lgl = by[("lgl-sample", "offline")]
    assert lgl.docs == 2 and lgl.gold == 8
    assert lgl.exact[0] >= 0.8 and lgl.exact[1] >= 0.8
    assert lgl.acc161_recognised == 1.0  # Springfield, Ill. is Illinois' capital, Porto is Portugal's
    assert lgl.geo_gold == 7  # "Spain" has no gaztag (no coordinates)
    assert lgl.acc161_e2e <= lgl.acc161_recognised
    gv = by[("geovirus-sample", "offline")]
    assert gv.lenient[1] == 1.0 and gv.acc161_e2e == 1.0
    weibo = by[("weibo-sample", "offline")]
    assert weibo.exact == pytest.approx((1.0, 1.0, 1.0))
    assert weibo.acc161_recognised is None
    assert notes == []
    assert all(r.docs_per_s > 0 for r in rows)


def test_cli_prints_markdown_table(capsys, tmp_path):
    out_json = tmp_path / "scores.json"
    assert evaluate_main([str(GEOVIRUS), "--limit", "1", "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("| corpus | system |")
    assert "| geovirus-sample | offline | 1 |" in printed
    assert '"corpus": "geovirus-sample"' in out_json.read_text(encoding="utf-8")


def test_split_keeps_alternate_documents():
    full = ev.load_corpus(LGL)
    even, odd = ev.load_corpus(LGL, split="even"), ev.load_corpus(LGL, split="odd")
    assert [d.doc_id for d in even.docs] == [d.doc_id for d in full.docs[0::2]]
    assert [d.doc_id for d in odd.docs] == [d.doc_id for d in full.docs[1::2]]
    rows, _ = ev.evaluate_paths([str(LGL)], split="odd")
    assert rows[0].corpus == "lgl-sample (odd)" and rows[0].docs == len(odd.docs)


SWNE = DATA / "swne-sample"
GEOCORPORA = DATA / "geocorpora-sample"


def test_swne_and_geocorpora_loaders():
    assert ev.detect_format(SWNE) == "swne" and ev.detect_format(GEOCORPORA) == "geocorpora"
    swne = ev.load_corpus(SWNE)
    assert not swne.has_coordinates
    doc = swne.docs[0]
    assert doc.text.splitlines()[0] == "I grew up in Dallas , uh , Texas ."  # tokens joined by spaces
    assert [g.name for g in doc.gold] == ["Dallas", "Texas"]
    assert [(g.name, g.kind) for g in doc.non_places] == [
        ("Jordan", "PERSON"),
        ("Spanish", "LANGUAGE"),
        ("Mexican", "NORP"),
    ]
    assert [g.name for g in swne.docs[1].non_places] == ["Dances with Wolves"]
    assert [g.name for g in swne.docs[1].gold] == ["Rocky Mountains"]  # DATE is not kept
    geo = ev.load_corpus(GEOCORPORA)
    assert geo.has_coordinates and len(geo.docs) == 3
    for d in geo.docs:
        for g in d.gold:
            assert d.text[g.start : g.end] == g.name
    zurich = geo.docs[0].gold[0]
    assert zurich.name == "Zürich" and zurich.lat == pytest.approx(47.36667)  # the cp1252 TSV, joined
    assert geo.docs[1].gold == []


def test_lower_cased_variant_carries_spans():
    from pipeline.evaluate.corpora import speech_like_text

    text, mapping = speech_like_text('"Lisbon," she said. Don\'t miss Wilkes-Barre!')
    assert text == "lisbon she said don't miss wilkes barre "
    low = ev.lower_cased(ev.load_corpus(SWNE))
    assert low.name == "swne-sample (lower-case, no punctuation)"
    doc = low.docs[0]
    assert doc.text.startswith("i grew up in dallas uh texas we watched jordan")
    assert [doc.text[g.start : g.end] for g in doc.gold] == ["dallas", "texas"]
    assert [g.name for g in doc.non_places] == ["jordan", "spanish", "mexican"]


def test_swne_non_places_and_lower_case_rows():
    rows, notes = ev.evaluate_paths([str(SWNE)])
    by = {r.corpus: r for r in rows}
    cased, low = by["swne-sample"], by["swne-sample (lower-case, no punctuation)"]
    assert cased.gold == 3 and cased.non_places == 4
    assert cased.exact[2] >= 0.6  # Dallas, Texas (and the Rocky Mountains)
    reported = cased.extra["non_places_reported"]
    assert set(reported) == {"PERSON", "LANGUAGE", "NORP", "WORK_OF_ART"}
    assert cased.non_place_share == pytest.approx(sum(int(v.split("/")[0]) for v in reported.values()) / 4)
    assert low.non_place_share is not None
    assert any("non-place names reported as places" in n for n in notes)


def test_parts_of_a_longer_gold_name_count_once_in_the_overlap_figure():
    """OntoNotes writes "Dallas , Texas" as one GPE: the exact figure counts the two parts as two
    false alarms and the name as missed; the overlap figure counts them as the one name found."""
    text = "I live in Dallas , Texas and work in Austin ."
    gold = [ev.GoldToponym(10, 24, "Dallas , Texas"), ev.GoldToponym(37, 43, "Austin")]
    preds = [ev.Prediction(10, 16, "Dallas"), ev.Prediction(19, 24, "Texas"), ev.Prediction(37, 43, "Austin")]
    corpus = ev.Corpus("talk", "swne", [ev.Document("d", text, gold)])
    row = ev.score(corpus, "offline", [(corpus.docs[0], preds)], 1.0, 0.0)
    assert row.exact == pytest.approx((1 / 3, 1 / 2, 0.4))
    assert row.extra["parts_of_longer_gold_names"] == 2
    assert row.extra["overlap_prf"] == pytest.approx((1.0, 1.0, 1.0))


def test_area_answers_count_when_the_gold_point_is_inside():
    from pipeline.evaluate.areas import AreaJudge
    from pipeline.geo.gazetteer import get_gazetteer

    gz = get_gazetteer()
    judge = AreaJudge()
    china = next(e for e in gz.candidates("china") if e.feature_code == "PCLI")
    assert judge.inside(china.gazetteer_id, 30.59, 114.31)  # Wuhan: far from China's point, inside it
    assert not judge.inside(china.gazetteer_id, 35.68, 139.69)  # Tokyo
    europe = next(e for e in gz.candidates("europe") if e.feature_code == "CONT")
    assert judge.inside(europe.gazetteer_id, 41.9, 12.5) and not judge.inside(europe.gazetteer_id, 30.0, 31.2)
    texas = next(e for e in gz.candidates("texas") if e.feature_code == "ADM1")
    assert judge.inside(texas.gazetteer_id, 29.42, -98.49)  # San Antonio
    assert not judge.inside(texas.gazetteer_id, 35.47, -97.52)  # Oklahoma City
    paris = next(e for e in gz.candidates("paris") if e.feature_code.startswith("PPL"))
    assert judge.inside(paris.gazetteer_id, 48.85, 2.35) is None  # a town is judged by distance
    rows, _ = ev.evaluate_paths([str(GEOCORPORA)], lower=False)
    row = rows[0]
    assert row.acc161_area is not None and row.acc161_area >= row.acc161_recognised


def test_rule_report_tallies_decisions_against_gold(capsys):
    from pipeline.evaluate.rules import report_markdown, rule_report

    corpora = ev.load_variants([str(LGL)], lower=True)
    report = rule_report(corpora, ablation=True)
    assert report.corpora == [c.name for c in corpora]
    accepted = sum(t.decided for (c, r), t in report.tallies.items() if r == "default_accept" and c == corpora[0].name)
    assert accepted > 0
    for t in report.tallies.values():
        assert 0 <= t.wrong <= t.decided
    assert all(-1.0 <= d <= 1.0 for d in report.delta_f1.values())
    table = report_markdown(report)
    assert table.splitlines()[0].startswith("| rule | verdict |")
    assert "| stopword | reject | any |" in table
    assert evaluate_main([str(LGL), "--rule-report", "--no-lower"]) == 0
    out = capsys.readouterr().out
    assert "| default_accept |" in out and "lower-case" not in out


def test_the_llm_extractor_is_measured_through_the_same_harness(capsys, monkeypatch):
    """``--extractor llm``: the extract stage with the LLM (a loopback OpenAI-compatible stub),
    its places matched to their occurrences, the names grounding dropped counted."""
    import os

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from stubs import OpenAIStub, StubResponse

    from pipeline.config import get_settings

    def place(name: str) -> dict:
        return {"name": name, "description": "", "tags": [], "marker": "city", "evidence": name, "confidence": 0.9}

    reply = {"places": [place("Kenya"), place("Nairobi"), place("Uganda"), place("Atlantis")],
             "topics": ["health"], "summary": "Cases in Kenya."}
    monkeypatch.setenv("VIDEOMAP_LLM_API_KEY", "sk-test-0123456789")
    get_settings.cache_clear()
    try:
        with OpenAIStub(max_requests=4) as stub:
            stub.responder = lambda request: StubResponse(200, OpenAIStub.completion(reply))
            code = evaluate_main([str(GEOVIRUS), "--limit", "1", "--no-lower", "--no-areas",
                                  "--extractor", "llm", "--llm-model", "openai/stub", "--llm-api-base", stub.api_base])
            assert stub.calls == 1
    finally:
        get_settings.cache_clear()
    assert code == 0
    printed = capsys.readouterr().out
    row = next(line for line in printed.splitlines() if line.startswith("| geovirus-sample | llm:openai/stub |"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[3:8] == ["3", "3", "1.000", "1.000", "1.000"]  # gold, predicted, P, R, F1
    assert "geovirus-sample (llm:openai/stub): 1 name(s) the extractor gave were not in the text" in printed


def test_an_llm_run_without_a_model_is_refused_with_a_message(capsys):
    with pytest.raises(SystemExit):
        evaluate_main([str(GEOVIRUS), "--extractor", "llm"])
    assert "No LLM model configured" in capsys.readouterr().err


VLOGS = DATA / "vlogs-sample"


def test_vlog_sample_is_read_with_its_halves_and_ignored_spans():
    from pipeline.evaluate import vlogs

    assert ev.detect_format(VLOGS) == "vlogs"
    corpus = ev.load_corpus(VLOGS)
    assert [d.doc_id for d in corpus.docs] == ["r00", "r10"]  # every 10th record by id
    assert [d.split for d in corpus.docs] == ["dev", "held-out"]
    dev = corpus.docs[0]
    assert [g.name for g in dev.gold] == ["Lisbon", "Portugal", "Belem Tower"]
    assert [g.name for g in dev.ignore] == ["Casa Pinto"]
    for doc in corpus.docs:
        for g in doc.gold + doc.ignore:
            assert doc.text[g.start : g.end] == g.name
    # cues are joined as the extractor joins segments
    assert dev.text.startswith("Good morning from Lisbon, Portugal! We are taking")
    # the stored gold is what the annotations resolve to
    rebuilt = VLOGS / "rebuilt.jsonl"
    try:
        vlogs.build_gold(VLOGS, VLOGS / "annotations.tsv", rebuilt)
        assert rebuilt.read_text(encoding="utf-8") == (VLOGS / "vlog-gold.jsonl").read_text(encoding="utf-8")
    finally:
        rebuilt.unlink(missing_ok=True)
    parts = ev.gold_parts(corpus)
    assert [p.name for p in parts] == ["vlogs-sample dev", "vlogs-sample held-out"]


def test_vlog_text_change_is_refused(tmp_path):
    import shutil

    from pipeline.evaluate import vlogs

    folder = tmp_path / "vlogs"
    shutil.copytree(VLOGS, folder)
    gold = (folder / "vlog-gold.jsonl").read_text(encoding="utf-8").replace('"cues": 4', '"cues": 3')
    (folder / "vlog-gold.jsonl").write_text(gold, encoding="utf-8")
    with pytest.raises(ValueError, match="differs"):
        vlogs.load_vlogs(folder)
    with pytest.raises(ValueError, match="not in the window"):
        vlogs.resolve("We went to Lisbon.", [("Porto", "city", "*")])
    # an earlier line wins where spans overlap; occurrence numbers pick single mentions
    got = vlogs.resolve(
        "77 Hong Kong dollars in Hong Kong", [("Hong Kong dollars", "ignore", "*"), ("Hong Kong", "city", "*")]
    )
    assert [(m["name"], m["type"]) for m in got] == [("Hong Kong dollars", "ignore"), ("Hong Kong", "city")]
    assert [m["start"] for m in vlogs.resolve("Kyoto, Kyoto, Kyoto", [("Kyoto", "city", "2")])] == [7]


def test_caption_agreement_on_the_vlogs_the_gold_does_not_sample(capsys):
    from pipeline.evaluate import vlogs
    from pipeline.evaluate.cli import main

    rows = vlogs.caption_agreement(VLOGS)
    whole, a, b = rows
    assert (whole.docs, a.docs, b.docs) == (10, 5, 5)  # the 12 records but the two sampled ones
    assert whole.cased == a.cased + b.cased and whole.agreed == a.agreed + b.agreed
    assert 0 < whole.agreed <= min(whole.cased, whole.lower)
    assert whole.recall == whole.agreed / whole.cased and 0 < whole.f1 <= 1
    assert main([str(VLOGS), "--caption-agreement"]) == 0
    assert "| vlogs-sample unannotated | 10 |" in capsys.readouterr().out


def test_ignored_spans_are_neither_right_nor_wrong():
    rows, _ = ev.evaluate_paths([str(VLOGS)], areas=False)
    by = {(r.corpus, r.system): r for r in rows}
    assert set(by) >= {
        ("vlogs-sample dev", "offline"),
        ("vlogs-sample held-out", "offline"),
        ("vlogs-sample dev (lower-case, no punctuation)", "offline"),
    }
    doc = ev.load_corpus(VLOGS).docs[0]
    s, e = doc.ignore[0].start, doc.ignore[0].end
    preds = [ev.Prediction(s, e, "Casa Pinto"), ev.Prediction(s + 5, e, "Pinto"), ev.Prediction(18, 24, "Lisbon")]
    assert [p.surface for p in doc.scored(preds)] == ["Lisbon"]
    corpus = ev.Corpus("x", "vlogs", [doc], has_coordinates=False)
    row = ev.score(corpus, "test", [(doc, preds)], 1.0, 0.0)
    assert row.predicted == 1 and row.exact[0] == 1.0 and row.gold == 3
