"""summary.html: a self-contained page (no external resource) a person can skim: counts, score
histograms, the best and worst labels with their highlighted held-out examples, failures with reasons."""

from __future__ import annotations

from pathlib import Path

import jinja2

from sleuth.atomic_files import write_atomically
from sleuth.label.records import LabelRecord
from sleuth.label.spec import LabelSpec
from sleuth.scorers.registry import get_scorer

BINS = 10
SHOWN = 5  # best and worst labels on the page


def histogram(values: list[float]) -> list[int]:
    counts = [0] * BINS
    for v in values:
        counts[min(BINS - 1, max(0, int(v * BINS)))] += 1
    return counts


def _key_scorer(spec: LabelSpec) -> str:
    """The scorer labels are ranked by: the first configured one that reads the words."""
    return next((n for n in spec.preset.scorers if get_scorer(n).reads_words), spec.preset.scorers[0])


def _value(record: LabelRecord, name: str) -> float | None:
    s = record.score(name)
    return s["value"] if s and s["status"] == "scored" else None


def _spans(window, threshold: float) -> list[dict]:
    peak = max(max(window.values), 1e-9)
    return [{"text": t.replace("\n", "↵"), "alpha": round(max(0.0, v) / peak, 2), "fires": v >= threshold}
            for t, v in zip(window.tokens, window.values)]


def _shown(record: LabelRecord, name: str) -> dict:
    firing = [w for w in record.test if max(w.values) >= (record.fire_threshold or 0)][:3]
    quiet = [w for w in record.test if max(w.values) < (record.fire_threshold or 0)][:1]
    return {"record": record, "value": _value(record, name),
            "examples": [_spans(w, record.fire_threshold or 0) for w in firing + quiet]}


def render_summary(spec: LabelSpec, records: list[LabelRecord], totals: dict) -> str:
    name = _key_scorer(spec)
    ranked = sorted((r for r in records if _value(r, name) is not None),
                    key=lambda r: (r.status != "validated", -_value(r, name)))
    scorers = [s for s in spec.preset.scorers if any(_value(r, s) is not None for r in records)]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True)
    return env.get_template("summary.html.j2").render(
        spec=spec, totals=totals, key_scorer=name, bins=BINS,
        counts={s: sum(r.status == s for r in records) for s in ("validated", "rejected", "failed")},
        histograms={s: histogram([_value(r, s) for r in records if _value(r, s) is not None]) for s in scorers},
        best=[_shown(r, name) for r in ranked[:SHOWN]],
        worst=[_shown(r, name) for r in sorted(ranked[SHOWN:], key=lambda r: _value(r, name))[:SHOWN]],
        failed=[r for r in records if r.status == "failed"])


def write_summary(out: Path, spec: LabelSpec, records: list[LabelRecord], totals: dict) -> None:
    write_atomically(out / "summary.html", render_summary(spec, records, totals))
