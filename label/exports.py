"""What a label run leaves in DIR besides the item files: labels.jsonl, Neuronpedia's explanation lines and
Delphi's run layout, each rebuilt from the item files (so a resumed run's outputs equal an uninterrupted one's)."""

from __future__ import annotations

import json
from pathlib import Path

from sleuth.atomic_files import write_atomically
from sleuth.label import delphi, neuronpedia
from sleuth.label.records import LabelRecord
from sleuth.label.spec import LabelSpec


def label_line(record: LabelRecord) -> dict:
    return {"component": record.item.component, "hookpoint": record.item.hookpoint, "index": record.item.index,
            "status": record.status, "label": record.label, "rule": record.rule, "explainer": record.explainer,
            "written_by": record.written_by, "rule_syntax": record.rule_syntax, "reason": record.reason,
            "scores": {s["scorer"]: s["value"] for s in record.scores if s["status"] == "scored"},
            "llm_tokens": record.llm_tokens, "refined": any(r.get("kept") == "revised" for r in record.rounds),
            "description_id": record.description_id}


def write_exports(out: Path, spec: LabelSpec, records: list[LabelRecord], neuronpedia_id: str | None,
                  firing_counts: dict | None = None) -> None:
    write_atomically(out / "labels.jsonl", "".join(json.dumps(label_line(r)) + "\n" for r in records))
    labeled = [r for r in records if r.label is not None]
    write_atomically(out / "neuronpedia.jsonl",
                     "".join(json.dumps(neuronpedia.explanation_line(spec, r, neuronpedia_id)) + "\n" for r in labeled))
    delphi.write(out, spec, records, firing_counts)
