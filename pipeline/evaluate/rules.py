"""What each recogniser rule decides on each corpus, and what it is worth there.

``python -m pipeline.evaluate CORPUS... --rule-report [--ablation]`` runs recognition only (the
span P/R/F1 depend on nothing else) with a trace of the rules of ``recogniser.RULES``: per rule
and corpus (as written and lower-cased), how many candidate spans it decided and how many of those
decisions were wrong against the gold spans (exact offsets) — a rejection is wrong when the span
is a gold toponym, a keep (accept, given name, person's name) when it is not, a discount when
it is not (it lowered the confidence of a non-place: right); given-name, needs-support and
needs-country (and needs-name) keeps are provisional (most are dropped later for want of
support), so their "wrong" counts the non-gold spans among them, not the errors left.
``--ablation`` also runs each rule's corpora with that rule disabled and reports the span F1
change (positive: the rule costs F1).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from .documents import Corpus, Document, prf

log = logging.getLogger(__name__)

# verdicts that reject the span (the rest keep it, or only lower its confidence)
_REJECTING = frozenset({"reject", "surname"})
_DISCOUNT = "discount"


@dataclass
class RuleTally:
    """Decisions of one rule on one corpus: how many, how many wrong against gold."""

    decided: int = 0
    wrong: int = 0


@dataclass
class RuleReport:
    """The rule report of one run: per corpus name, per rule name, its tally and F1 change."""

    corpora: list[str] = field(default_factory=list)
    f1: dict[str, float] = field(default_factory=dict)  # corpus -> span F1 with every rule
    tallies: dict[tuple[str, str], RuleTally] = field(default_factory=dict)  # (corpus, rule)
    delta_f1: dict[tuple[str, str], float] = field(default_factory=dict)  # (corpus, rule): F1 without - with


def _span_prf(docs: list[Document], mentions: list[list[tuple[int, int]]]) -> tuple[float, float, float]:
    """Exact-span P/R/F1, counted as ``core.score`` counts them."""
    tp = n_pred = n_gold = 0
    for doc, all_spans in zip(docs, mentions, strict=True):
        spans = [sp for sp in all_spans if not _ignored(doc, sp)]
        predicted = set(spans)
        n_pred += len(spans)
        n_gold += len(doc.gold)
        tp += sum(1 for g in doc.gold if (g.start, g.end) in predicted)
    return prf(tp, n_pred, n_gold)


def _ignored(doc: Document, span: tuple[int, int]) -> bool:
    """The span overlaps one the gold neither counts nor penalises (``Document.ignore``)."""
    return any(span[0] < g.end and g.start < span[1] for g in doc.ignore)


def _recognise(corpus: Corpus, disabled: frozenset[str] = frozenset(), trace: list | None = None) -> list:
    from ..geo.recogniser import recognize

    out = []
    for doc in corpus.docs:
        doc_trace: list = [] if trace is not None else None  # type: ignore[assignment]
        ms = recognize(doc.text, language=doc.language, trace=doc_trace, disabled=disabled)
        out.append([(m.start, m.end) for m in ms])
        if trace is not None:
            trace.append(doc_trace)
    return out


def rule_report(corpora: list[Corpus], *, ablation: bool = False) -> RuleReport:
    """Tally every rule's decisions on every corpus; with ``ablation`` the F1 change without it."""
    from ..geo.recogniser import RULES

    report = RuleReport()
    for corpus in corpora:
        t0 = time.perf_counter()
        traces: list[list] = []
        spans = _recognise(corpus, trace=traces)
        report.corpora.append(corpus.name)
        report.f1[corpus.name] = _span_prf(corpus.docs, spans)[2]
        fired: Counter[str] = Counter()
        for doc, trace in zip(corpus.docs, traces, strict=True):
            gold = {(g.start, g.end) for g in doc.gold}
            for d in trace:
                if _ignored(doc, (d.start, d.end)):
                    continue
                tally = report.tallies.setdefault((corpus.name, d.rule), RuleTally())
                tally.decided += 1
                is_gold = (d.start, d.end) in gold
                keeps = d.verdict not in _REJECTING and d.verdict != _DISCOUNT
                tally.wrong += is_gold != keeps
                fired[d.rule] += 1
        if ablation:
            for rule in RULES:
                if not fired[rule.name]:
                    report.delta_f1[(corpus.name, rule.name)] = 0.0  # never fired: nothing changes
                    continue
                f1 = _span_prf(corpus.docs, _recognise(corpus, frozenset({rule.name})))[2]
                report.delta_f1[(corpus.name, rule.name)] = f1 - report.f1[corpus.name]
        log.info("rule report on %s: %.1f s", corpus.name, time.perf_counter() - t0)
    return report


def report_markdown(report: RuleReport) -> str:
    """One row per rule (in the order they run), one column per corpus: "decided/wrong" and,
    after an ablation, the F1 change without the rule."""
    from ..geo.recogniser import DEFAULT_ACCEPT, RULES

    names = [(r.name, r.verdict.value, r.case) for r in RULES] + [(DEFAULT_ACCEPT, "accept", "any")]
    head = "| rule | verdict | text | " + " | ".join(report.corpora) + " |"
    lines = [
        head,
        "|" + "---|" * (3 + len(report.corpora)),
        "| (span F1 with every rule) | | | " + " | ".join(f"{report.f1[c]:.3f}" for c in report.corpora) + " |",
    ]
    for name, verdict, case in names:
        cells = []
        for c in report.corpora:
            t = report.tallies.get((c, name))
            cell = f"{t.decided}/{t.wrong}" if t else "-"
            if (c, name) in report.delta_f1:
                cell += f" {report.delta_f1[(c, name)]:+.3f}"
            cells.append(cell)
        lines.append(f"| {name} | {verdict} | {case} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
