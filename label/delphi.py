"""Delphi's run layout, as its own analysis (`delphi.log.result_analysis.load_data`, eai-delphi 0.1.3) reads it.

- `explanations/<hookpoint>_latent<i>.txt`: the label as a JSON string;
- `scores/<scorer>/<hookpoint>_latent<i>.txt`: one record per judged example, with every field Delphi's
  ClassifierOutput has (str_tokens, activations, distance, activating, prediction, probability, correct);
- `run_config.json`: Delphi's RunConfig field names where sleuth has the value;
- `log/hookpoint_firing_counts.pt`: {hookpoint: tokens each latent fired on} for its frequency-weighted F1.

Delphi's per-latent balanced accuracy over a scorer's records equals sleuth's score for the judges
(detection, fuzzing): the records are exactly the examples that judge saw, with its answers.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import torch

from sleuth.atomic_files import write_atomically, write_bytes_atomically
from sleuth.label.records import LabelRecord, Window
from sleuth.label.spec import LabelSpec

# sleuth's scorer -> Delphi's folder (Delphi names its fuzzing scorer "fuzz")
SCORER_FOLDERS = {"detection": "detection", "fuzzing": "fuzz", "read_back": "read_back"}
COUNTS_FILE = Path("log") / "hookpoint_firing_counts.pt"


def _per_example(score: dict) -> list[dict]:
    """A scorer's answers per test example (index, answer, and the truth it was judged against), where it has them."""
    details = score.get("details") or {}
    rows = details.get("judged") or details.get("windows") or []
    return rows if rows and "example" in rows[0] else []


def _distance(window: Window) -> int:
    """Delphi's `distance`: the quantile of an activating example (1 = weakest bin), -1 for a random one."""
    if window.kind == "random":
        return -1
    return window.quantile + 1 if window.quantile is not None else 0


def score_records(record: LabelRecord, score: dict) -> list[dict]:
    """Delphi's records of one scorer, from the examples it judged (or a read-back rule was applied to).
    A judged example carries the truth the judge was scored against (a marked token's, where tokens were
    marked); sleuth has no probabilities, so `probability` is null (Delphi then reports no AUC)."""
    rows = []
    for j in _per_example(score):
        window = record.test[j["example"]]
        activating = j["active"] if "active" in j else window.max_value >= (record.fire_threshold or 0)
        rows.append({"str_tokens": window.tokens, "activations": window.values, "distance": _distance(window),
                     "activating": bool(activating), "prediction": bool(j["answer"]), "probability": None,
                     "correct": bool(j["answer"]) == bool(activating)})
    return rows


def run_config(spec: LabelSpec, hookpoints: list[str]) -> dict:
    p = spec.preset
    return {"model": spec.model, "sparse_model": spec.source, "hookpoints": hookpoints,
            "explainer_model": spec.llm, "explainer": "default", "name": f"sleuth-{spec.fingerprint()}",
            "scorers": [SCORER_FOLDERS[s] for s in p.scorers if s in SCORER_FOLDERS],
            "max_latents": None, "seed": spec.seed, "num_examples_per_scorer_prompt": p.scorer_batch,
            "log_probs": False, "filter_bos": False,
            "constructor_cfg": {"example_ctx_len": p.test_tokens, "n_non_activating": p.test_random,
                                "non_activating_source": "random", "min_examples": 1},
            "sampler_cfg": {"n_examples_train": p.explain_top + p.explain_quantile, "n_examples_test": p.test_top + p.test_quantile,
                            "n_quantiles": p.quantiles, "train_type": "mix" if p.explain_quantile else "top",
                            "test_type": "quantiles"},
            "cache_cfg": {"dataset_repo": "sleuth corpus (explain split)", "cache_ctx_len": p.test_tokens},
            "sleuth": spec.model_dump()}


def write(out: Path, spec: LabelSpec, records: list[LabelRecord], firing_counts: dict[str, torch.Tensor] | None) -> None:
    for r in records:
        if r.label is None:
            continue
        name = f"{r.item.key}.txt"
        write_atomically(out / "explanations" / name, json.dumps(r.label))
        for s in r.scores:
            if s["status"] == "scored" and s["scorer"] in SCORER_FOLDERS and _per_example(s):
                write_atomically(out / "scores" / SCORER_FOLDERS[s["scorer"]] / name, json.dumps(score_records(r, s)))
    hookpoints = sorted({r.item.hookpoint for r in records})
    write_atomically(out / "run_config.json", json.dumps(run_config(spec, hookpoints), indent=2))
    if firing_counts:
        buffer = io.BytesIO()
        torch.save(firing_counts, buffer)
        write_bytes_atomically(out / COUNTS_FILE, buffer.getvalue())
