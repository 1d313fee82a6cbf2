"""kind: behaviour: the heads behind a behaviour, from contrast prompt pairs.

Attribution patching on the explain pairs shortlists heads (a layer x head heatmap); exact patching of
each shortlisted head alone on the held-out pairs decides its status (`patch_recovery`, the agent's
threshold); head ablation and path patching into the strongest head add the rest of the picture. Each
head's description is stated by code from these measurements, so its words are exactly what was measured.
"""

from __future__ import annotations

from sleuth.audit.runlog import Finding, Plot
from sleuth.audit.tasks import task_kind


def split(pairs: list, fraction: float) -> tuple[list, list]:
    held = max(1, min(len(pairs) - 1, round(len(pairs) * fraction)))
    return pairs[:-held], pairs[-held:]


def pair_args(pairs: list) -> dict:
    return {"clean": [p.clean for p in pairs], "corrupt": [p.corrupt for p in pairs],
            "answers": [p.answer for p in pairs], "foils": [p.foil for p in pairs]}


def _grid(labels: list[str], scores: list[float], shape: list[int]) -> list[list[float]]:
    rows, cols = shape
    return [[round(scores[r * cols + c], 4) for c in range(cols)] for r in range(rows)]


def path_patch_senders(task, record, job, held, receiver: str, attribution: dict) -> list[str]:
    """Path patching into the receiver's queries from each of the strongest earlier heads (by attribution), alone."""
    from sleuth.target import Site

    layer = Site.parse(receiver).layer
    earlier = [(abs(v), lbl) for v, lbl in zip(attribution["scores"], attribution["labels"]) if Site.parse(lbl).layer < layer]
    senders = [lbl for _, lbl in sorted(earlier, reverse=True)[: task.senders]]
    values, ids = [], []
    for sender in senders:
        result, found = job.tool(record, "path_patch", {**pair_args(held), "receivers": [receiver], "senders": [sender]})
        values.append(round(result.data["scores"][0], 4))
        ids += found
    if senders:
        record.plots.append(Plot(kind="bars", title=f"path patching from each sender alone into {receiver}'s queries "
                                 "(held-out pairs)", labels=senders, values=values, evidence_id=ids[0] if ids else None))
    return ids


@task_kind("behaviour", title=lambda task: task.behaviour)
def run_behaviour(task, record, job) -> None:
    from sleuth.memory import Description
    from sleuth.target import Site

    explain, held = split(task.pairs, task.heldout_fraction)
    record.findings, record.plots, record.notes = [], [], []  # a resumed task measures again; ids stay the same
    attribution, attr_ids = job.tool(record, "attribution_patch",
                                     {**pair_args(explain), "sweep": "heads", "top": task.candidates})
    data = attribution.data
    n_layers, n_heads = data["grid_shape"]
    record.plots.append(Plot(kind="heatmap", title="attribution patching (explain pairs): estimated recovery per head",
                             rows=[f"L{layer}" for layer in range(n_layers)], cols=[f"H{h}" for h in range(n_heads)],
                             grid=_grid(data["labels"], data["scores"], data["grid_shape"]), evidence_id=attr_ids[0]))
    ranked = sorted(zip(data["scores"], data["labels"]), key=lambda x: -x[0])[: task.candidates]
    shortlist = [label for _, label in ranked]
    estimate = dict((label, score) for score, label in ranked)
    patch, patch_ids = job.tool(record, "patch", {**pair_args(held), "sweep": "sites", "sites": shortlist})
    recovery = dict(zip(shortlist, patch.data["scores"]))
    record.plots.append(Plot(kind="bars", title="exact patching (held-out pairs): recovery of each head alone",
                             labels=shortlist, values=[round(recovery[h], 4) for h in shortlist], evidence_id=patch_ids[0]))
    effects, ablation_ids = {}, {}
    for head in shortlist:
        result, ids = job.tool(record, "ablate", {"components": [head], "texts": [p.clean for p in held],
                                                  "answers": [p.answer for p in held], "foils": [p.foil for p in held],
                                                  "method": "mean"})
        effects[head], ablation_ids[head] = result.data["mean_logit_diff_delta"], ids
    record.plots.append(Plot(kind="bars", title="mean-ablation of each head (held-out clean prompts): logit-difference change",
                             labels=shortlist, values=[round(effects[h] or 0.0, 4) for h in shortlist]))
    best = max(shortlist, key=lambda h: recovery[h])
    sender_ids = path_patch_senders(task, record, job, held, best, data)
    if task.exact_sweep:
        sweep, sweep_ids = job.tool(record, "patch", {**pair_args(held), "sweep": "heads"})
        record.plots.append(Plot(kind="heatmap", title="exact patching of every head alone (held-out pairs): recovery",
                                 rows=[f"L{layer}" for layer in range(n_layers)], cols=[f"H{h}" for h in range(n_heads)],
                                 grid=_grid(sweep.data["labels"], sweep.data["scores"], sweep.data["grid_shape"]),
                                 evidence_id=sweep_ids[0]))
    threshold = job.settings.agent.thresholds.get("patch_recovery", 0.1)
    descriptions = []
    for head in shortlist:
        site = str(Site.parse(head))
        value = recovery[head]
        effect = effects[head]
        text = (f"{head} carries part of '{task.behaviour}': patching it alone from the clean into the corrupt run "
                f"restores {value:.2f} of the logit difference between the clean and the corrupt answer on {len(held)} "
                f"held-out pairs (attribution estimate {estimate[head]:.2f} on "
                f"{len(explain)} explain pairs); mean-ablating it changes that difference by "
                f"{effect if effect is not None else 0.0:+.2f}.")
        status = "validated" if value >= threshold else "rejected"
        score = {"scorer": "patch_recovery", "status": "scored", "value": round(value, 4), "threshold": threshold,
                 "reason": None if status == "validated" else f"held-out recovery {value:.2f} < {threshold}"}
        cited = attr_ids + patch_ids + ablation_ids[head] + (sender_ids if head == best else [])
        desc = Description(model=job.target.name, component=site, text=text, scores={"patch_recovery": score["value"]},
                           score_states=[score], evidence_ids=cited, status=status, failure_reason=score["reason"],
                           run_id=job.run_id)
        descriptions.append(desc)
        record.findings.append(Finding(component=site, short=head, text=text, status=status, written_by="code",
                                       scores=[score], description_id=desc.id, evidence_ids=cited, reason=score["reason"]))
    job.store.put(descriptions)
    validated = [f.short for f in record.findings if f.status == "validated"]
    record.answer = (f"{len(validated)} of {len(shortlist)} shortlisted heads restore at least {threshold} of the logit "
                     f"difference on held-out pairs: {', '.join(validated) or 'none'}. Strongest: {best} "
                     f"({recovery[best]:.2f}).")
