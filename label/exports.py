"""What a label run leaves in DIR besides the item files: labels.jsonl, a Neuronpedia export and
Delphi's explanations/ and scores/ layout, each rebuilt from the item files (so a resumed run's
outputs equal an uninterrupted one's)."""

from __future__ import annotations

import json
from pathlib import Path

from sleuth.atomic_files import write_atomically
from sleuth.label.records import LabelRecord
from sleuth.label.spec import LabelSpec
from sleuth.target import Site

EXACT = "sleuth"  # the "model" of a scorer that uses no LLM (rule, embedding's MiniLM is named as such)


def label_line(record: LabelRecord) -> dict:
    return {"component": record.item.component, "hookpoint": record.item.hookpoint, "index": record.item.index,
            "status": record.status, "label": record.label, "rule": record.rule, "explainer": record.explainer,
            "written_by": record.written_by, "rule_syntax": record.rule_syntax, "reason": record.reason,
            "scores": {s["scorer"]: s["value"] for s in record.scores if s["status"] == "scored"},
            "llm_tokens": record.llm_tokens, "refined": any(r.get("kept") == "revised" for r in record.rounds),
            "description_id": record.description_id}


def neuronpedia_layer(record: LabelRecord, neuronpedia_id: str | None) -> str:
    """Neuronpedia's source form: `6-res-jb` from the SAE's neuronpedia_id, else `<layer>-<source>`."""
    if neuronpedia_id:
        return neuronpedia_id.split("/", 1)[-1]
    site = Site.parse(record.item.hookpoint)
    return f"{site.layer if site.layer is not None else 0}-{site.sae or site.hook.replace('.', '-')}"


def neuronpedia_line(spec: LabelSpec, record: LabelRecord, neuronpedia_id: str | None) -> dict:
    def scorer_model(name: str) -> str:
        return {"rule": EXACT, "embedding": "all-MiniLM-L6-v2"}.get(name, spec.llm or "unknown")

    return {"modelId": spec.model, "layer": neuronpedia_layer(record, neuronpedia_id),
            "index": str(record.item.index), "description": record.label,
            "explanationModelName": record.explainer or spec.llm,
            "typeName": "oai_token-act-pair",
            "scores": [{"explanationScoreTypeName": s["scorer"], "explanationScoreModelName": scorer_model(s["scorer"]),
                        "value": s["value"]} for s in record.scores if s["status"] == "scored"]}


def _per_example(score: dict) -> list[dict]:
    """A scorer's answers per test example (index and bool), where it has them."""
    details = score.get("details") or {}
    rows = details.get("judged") or details.get("windows") or []
    return rows if rows and "example" in rows[0] else []


def delphi_scores(record: LabelRecord, score: dict) -> list[dict]:
    """Delphi's per-example records of a scorer, from the examples a judge judged or a read-back rule
    was applied to."""
    rows = []
    examples = record.test
    for j in _per_example(score):
        window = examples[j["example"]]
        activating = max(window.values) >= (record.fire_threshold or 0)
        rows.append({"str_tokens": window.tokens, "activations": window.values, "activating": activating,
                     "quantile": window.quantile if window.quantile is not None else (-1 if window.kind == "random" else 0),
                     "prediction": bool(j["answer"]), "correct": bool(j["answer"]) == activating})
    return rows


def write_exports(out: Path, spec: LabelSpec, records: list[LabelRecord], neuronpedia_id: str | None) -> None:
    write_atomically(out / "labels.jsonl", "".join(json.dumps(label_line(r)) + "\n" for r in records))
    validated = [r for r in records if r.status == "validated"]
    write_atomically(out / "neuronpedia.jsonl",
                     "".join(json.dumps(neuronpedia_line(spec, r, neuronpedia_id)) + "\n" for r in validated))
    for r in records:
        if r.label is None:
            continue
        name = f"{r.item.key}.txt"
        write_atomically(out / "explanations" / name, json.dumps(r.label))
        for s in r.scores:
            if s["status"] == "scored" and _per_example(s):
                write_atomically(out / "scores" / s["scorer"] / name, json.dumps(delphi_scores(r, s)))
