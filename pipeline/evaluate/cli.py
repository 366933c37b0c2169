"""Command line of the evaluation harness: ``python -m pipeline.evaluate CORPUS_PATH...``."""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

from .core import __doc__ as EVALUATE_DOC
from .core import evaluate_paths, load_variants, markdown_table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.evaluate", description=(EVALUATE_DOC or "").split("\n\n")[0])
    ap.add_argument(
        "paths",
        nargs="+",
        help="corpus files/folders (LGL, GeoVirus, Weibo CoNLL, speech-en, SwNE, GeoCorpora) and POI gold files "
        "(*-pois.tsv: pipeline/evaluate/data/travel-vlog-pois.tsv)",
    )
    ap.add_argument(
        "--vlogs",
        type=Path,
        default=None,
        help="the travel-vlog transcripts a POI gold file refers to (default: ../shared/eval/travel-vlogs-en/)",
    )
    ap.add_argument("--baseline", action="store_true", help="also run spaCy small NER + population baseline")
    ap.add_argument("--limit", type=int, default=None, help="only the first N documents of each corpus")
    ap.add_argument(
        "--split", choices=("even", "odd"), default=None, help="only documents of even/odd index (held-out check)"
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the scores as JSON")
    ap.add_argument("--no-lower", action="store_true", help="skip the lower-cased, unpunctuated run of every corpus")
    ap.add_argument("--no-areas", action="store_true", help="skip the area-answer Acc@161 (Natural Earth outlines)")
    ap.add_argument(
        "--rule-report",
        action="store_true",
        help="recognition only: what each recogniser rule decided on each corpus (decided/wrong against gold)",
    )
    ap.add_argument(
        "--caption-agreement",
        action="store_true",
        help="recognition only, travel-vlog folders: lower-cased output against the cased output on the vlogs the "
        "gold does not sample (how much automatic captions lose, measured without annotation)",
    )
    ap.add_argument(
        "--ablation", action="store_true", help="with --rule-report: also the span F1 change with each rule disabled"
    )
    ap.add_argument("--extractor", choices=("offline", "llm"), default="offline",
                    help="the extract stage to measure (llm: needs --llm-model and the network; the key comes "
                         "from VIDEOMAP_LLM_API_KEY)")
    ap.add_argument("--llm-model", default=None, help="litellm model name for --extractor llm")
    ap.add_argument("--llm-api-base", default=None, help="an OpenAI-compatible endpoint for --extractor llm")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    options = None
    if args.extractor == "llm":
        from ..errors import ConfigurationError
        from ..runner.options import AnalysisOptions

        options = AnalysisOptions(offline=False).set(extractor="llm", llm_model=args.llm_model,
                                                     llm_api_base=args.llm_api_base, geocoder="gazetteer")
        try:
            options.extractor_name()
        except ConfigurationError as exc:
            ap.error(exc.message)
    t0 = time.perf_counter()
    from .poi import DEFAULT_VLOGS, evaluate_pois, is_poi_gold
    from .poi import markdown_table as poi_table

    poi_golds = [p for p in args.paths if is_poi_gold(p)]
    args.paths = [p for p in args.paths if not is_poi_gold(p)]
    for gold in poi_golds:
        poi_rows = evaluate_pois(gold, args.vlogs or DEFAULT_VLOGS)
        print(f"Points of interest ({gold}):\n")
        print(poi_table(poi_rows))
        for r in poi_rows:
            if r.half != "all" and r.misses:
                print(f"\n{r.half}: not within 5 km: " + "; ".join(r.misses))
        print()
    if not args.paths:
        print(f"(total {time.perf_counter() - t0:.1f} s)")
        return 0
    if args.caption_agreement:
        from .vlogs import agreement_table, caption_agreement, is_vlog_folder

        folders = [Path(p) for p in args.paths if is_vlog_folder(Path(p))]
        if not folders:
            ap.error("--caption-agreement needs a travel-vlog folder")
        print(agreement_table([a for f in folders for a in caption_agreement(f)]))
        print(f"\n(total {time.perf_counter() - t0:.1f} s)")
        return 0
    if args.rule_report:
        from .rules import report_markdown, rule_report

        corpora = load_variants(args.paths, limit=args.limit, split=args.split, lower=not args.no_lower)
        print(report_markdown(rule_report(corpora, ablation=args.ablation)))
        print(f"\n(total {time.perf_counter() - t0:.1f} s)")
        return 0
    rows, notes = evaluate_paths(
        args.paths,
        baseline=args.baseline,
        limit=args.limit,
        split=args.split,
        lower=not args.no_lower,
        areas=not args.no_areas,
        options=options,
    )
    print(markdown_table(rows))
    for n in notes:
        print()
        print(n)
    print(f"\n(total {time.perf_counter() - t0:.1f} s)")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2), encoding="utf-8")
    return 0
