"""Neuronpedia: the explanation lines every label run writes (`neuronpedia.jsonl`, its database's explanation
form, which `neuronpedia.np_explanation.Explanation.from_np_db_json` reads), and the upload batch that
`sleuth label export neuronpedia` builds with the official `neuronpedia` package's own types (the optional
`exports` extra): one Feature per labeled unit with its density, its label (validated or not) and its
held-out activating windows with their quantile bins.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
from pathlib import Path

from sleuth.atomic_files import write_atomically
from sleuth.errors import SleuthError
from sleuth.label.records import LabelRecord
from sleuth.label.spec import LabelSpec
from sleuth.target import Site

EXACT = "sleuth"  # the "model" of a scorer that uses no LLM (rule; embedding's MiniLM is named as such)
KEY_VARIABLE = "NEURONPEDIA_API_KEY"  # read by the package itself; sleuth only checks that it is set
URL_VARIABLE = "SLEUTH_NEURONPEDIA_URL"  # another Neuronpedia (a self-hosted one): its API root, e.g. http://host/api


class NeuronpediaError(SleuthError):
    """An export or upload that cannot go ahead (one line, exit 2)."""

    exit_code = 2


def source_id(record: LabelRecord, neuronpedia_id: str | None) -> str:
    """Neuronpedia's source (`<layer>-<source set>`): `6-res-jb` from the SAE's neuronpedia_id, else
    `<layer>-<sae name or hook>`."""
    if neuronpedia_id:
        return neuronpedia_id.split("/", 1)[-1]
    site = Site.parse(record.item.hookpoint)
    return f"{site.layer if site.layer is not None else 0}-{site.sae or site.hook.replace('.', '-')}"


def method(record: LabelRecord) -> str:
    """The explanation's method as Neuronpedia shows it: sleuth, and whether the label passed held-out scoring."""
    return f"sleuth-{record.status}"


def explanation_line(spec: LabelSpec, record: LabelRecord, neuronpedia_id: str | None) -> dict:
    def scorer_model(name: str) -> str:
        return {"rule": EXACT, "embedding": "all-MiniLM-L6-v2"}.get(name, spec.llm or "unknown")

    return {"modelId": spec.model, "source": source_id(record, neuronpedia_id), "index": str(record.item.index),
            "description": record.label, "explanationModelName": record.explainer or spec.llm,
            "typeName": method(record), "status": record.status,
            "scores": [{"explanationScoreTypeName": s["scorer"], "explanationScoreModelName": scorer_model(s["scorer"]),
                        "value": s["value"]} for s in record.scores if s["status"] == "scored"]}


def _package():
    try:
        import neuronpedia.np_activation as activation
        import neuronpedia.np_explanation as explanation
        import neuronpedia.np_feature as feature
    except ImportError:
        raise NeuronpediaError("the neuronpedia package is not installed: pip install 'sleuth[exports]'") from None
    return activation.Activation, explanation.Explanation, feature.Feature


def features(records: list[LabelRecord], model_id: str, source: str) -> list:
    """One `neuronpedia.np_feature.Feature` per labeled unit (a failed item has no label and is left out)."""
    Activation, Explanation, Feature = _package()
    built = []
    for r in records:
        if r.label is None:
            continue
        index = r.item.index
        shown = sorted((w for w in r.test if w.kind != "random"), key=lambda w: -w.max_value)
        activations = [Activation(modelId=model_id, source=source, index=index, tokens=w.tokens, values=w.values,
                                  quantileMax=w.bin.high if w.bin else None, quantileMin=w.bin.low if w.bin else None,
                                  quantileFraction=w.bin.share if w.bin else None) for w in shown]
        explanation = Explanation(modelId=model_id, source=source, index=index, text=r.label, method=method(r),
                                  explainer_model=r.explainer or None)
        built.append(Feature(modelId=model_id, source=source, index=index, density=r.frequency,
                             explanations=[explanation], activations=activations))
    return built


def batch(records: list[LabelRecord], model_id: str, source: str) -> dict:
    """What `Source.upload_batch` takes (model, source, features), as plain data, with each label's status,
    scores and rule beside it (the package's Explanation has no field for them)."""
    labeled = [r for r in records if r.label is not None]
    return {"modelId": model_id, "source": source,
            "features": [dataclasses.asdict(f) for f in features(labeled, model_id, source)],
            "sleuth": [{"index": r.item.index, "component": r.item.component, "status": r.status, "rule": r.rule,
                        "reason": r.reason, "scores": {s["scorer"]: s["value"] for s in r.scores
                                                       if s["status"] == "scored"}} for r in labeled]}


def read_batch(path: Path) -> tuple[str, str, list]:
    """(model id, source, Features) from a batch file, rebuilt as the package's own types."""
    Activation, Explanation, Feature = _package()
    try:
        data = json.loads(path.read_text())
        built = [Feature(**{**f, "explanations": [Explanation(**e) for e in f["explanations"] or []],
                            "activations": [Activation(**a) for a in f["activations"] or []]}) for f in data["features"]]
        return data["modelId"], data["source"], built
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise NeuronpediaError(f"{path} is not a Neuronpedia batch written by sleuth: {exc}") from None


def write_batch(path: Path, records: list[LabelRecord], model_id: str, source: str) -> dict:
    data = batch(records, model_id, source)
    if not data["features"]:
        raise NeuronpediaError("no labeled unit to export: every item failed or none is finished")
    write_atomically(path, json.dumps(data))
    return data


def upload(path: Path, api_url: str | None = None) -> list:
    """Send a batch file with the package: the source set's source for the batch's layer, then
    `upload_batch` in chunks of the package's limit. The key is read by the package from the environment."""
    _package()
    from neuronpedia.np_source_set import SourceSet
    from neuronpedia.requests.base_request import NPRequest
    from neuronpedia.requests.feature_request import MAX_FEATURES_PER_BATCH

    if not os.environ.get(KEY_VARIABLE):
        raise NeuronpediaError(f"--upload needs a Neuronpedia API key in {KEY_VARIABLE}")
    url = api_url or os.environ.get(URL_VARIABLE)
    if url:
        NPRequest.BASE_URL = url.rstrip("/")
    model_id, source, built = read_batch(path)
    layer, _, source_set = source.partition("-")
    if not layer.isdigit() or not source_set:
        raise NeuronpediaError(f"source '{source}' is not Neuronpedia's <layer>-<source set>")
    replies = []
    with contextlib.redirect_stdout(sys.stderr):  # the package prints each request; stdout stays for --json
        try:
            target = SourceSet.get(model_id, source_set).get_source_for_layer_number(int(layer))
            for start in range(0, len(built), MAX_FEATURES_PER_BATCH):
                replies.append(target.upload_batch(built[start : start + MAX_FEATURES_PER_BATCH]))
        except Exception as exc:  # the package raises requests' and its own errors: one line, the key never in it
            raise NeuronpediaError(f"Neuronpedia upload failed: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    return replies
