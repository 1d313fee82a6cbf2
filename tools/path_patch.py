"""path_patch: path patching from sender heads to receiver heads (the IOI circuit method).

Step 1: run the corrupt input with the senders' hook_z set to their clean values and
every other head frozen at its corrupt value; record the receivers' q, k or v.
Step 2: run the corrupt input with only the receivers' q/k/v set to those values.
The score is the normalised recovery of the logit difference through that path alone.
With no senders given, every head in layers before the first receiver is swept.
On GQA models, k and v belong to a KV head shared by a group of query heads.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from sleuth.target import Edit, Site
from sleuth.tools.metrics import answer_ids, logit_diff
from sleuth.tools.patch import PairedPromptsArgs, normalised, paired_batches
from sleuth.tools.registry import ToolError, tool
from sleuth.tools.result import ToolOutput


class PathPatchArgs(PairedPromptsArgs):
    receivers: list[str] = Field(min_length=1, description="Receiver heads, e.g. L23H3")
    receiver_input: Literal["q", "k", "v"] = "q"
    senders: list[str] | None = Field(None, description="Sender heads patched together; omit to sweep every earlier head")


class PathPatchOut(ToolOutput):
    receivers: list[str]
    receiver_input: str
    labels: list[str]
    scores: list[float]


def _heads(target, names: list[str]) -> list[Site]:
    sites = [target.check_site(n) for n in names]
    for s in sites:
        if s.hook != "attn.hook_z" or s.index is None:
            raise ToolError(f"'{s}' is not a head; name heads as L4H5 or blocks.4.attn.hook_z[5]")
    return sites


def _receiver_site(target, head: Site, which: str) -> Site:
    index = head.index
    if which != "q":
        index = head.index // (target.shape.n_heads // target.shape.n_kv_heads)
    return Site(hook=f"attn.hook_{which}", layer=head.layer, index=index)


def path_score(target, xb, clean_z, corrupt_z, senders, receivers, answer, foil, clean_m, corrupt_m) -> float:
    freeze = []
    for layer, z in corrupt_z.items():
        value = z.clone()
        for s in senders:
            if s.layer == layer:
                value[:, :, s.index] = clean_z[layer][:, :, s.index]
        freeze.append(Edit(site=Site(hook="attn.hook_z", layer=layer), op="set", value=value))
    recorded = target.run(xb, reads=receivers, edits=freeze, last_only=True)
    edits = [Edit(site=r, op="set", value=recorded[r]) for r in receivers]
    metric = logit_diff(target.run(xb, edits=edits, last_only=True), xb, answer, foil)
    return normalised(metric, clean_m, corrupt_m)


@tool("path_patch", "Path patching: effect of sender heads on the logit diff only through receiver heads' q/k/v.")
def path_patch(args: PathPatchArgs, ctx) -> PathPatchOut:
    target = ctx.target
    cb, xb = paired_batches(target, args.clean, args.corrupt)
    answer, foil = answer_ids(target, args.answers, len(cb)), answer_ids(target, args.foils, len(cb))
    receivers_heads = _heads(target, args.receivers)
    first = min(r.layer for r in receivers_heads)
    if first == 0:
        raise ToolError("receivers in layer 0 have no earlier sender heads")
    receivers = list({_receiver_site(target, r, args.receiver_input) for r in receivers_heads})
    z_sites = [Site(hook="attn.hook_z", layer=layer) for layer in range(first)]
    clean = target.run(cb, reads=z_sites, last_only=True)
    corrupt = target.run(xb, reads=z_sites, last_only=True)
    clean_z = {s.layer: clean[s] for s in z_sites}
    corrupt_z = {s.layer: corrupt[s] for s in z_sites}
    clean_m = float(logit_diff(clean, cb, answer, foil).mean())
    corrupt_m = float(logit_diff(corrupt, xb, answer, foil).mean())
    if args.senders:
        senders = _heads(target, args.senders)
        if any(s.layer >= first for s in senders):
            raise ToolError(f"senders must be in layers before the first receiver (layer {first})")
        groups = [senders]
    else:
        groups = [[Site(hook="attn.hook_z", layer=layer, index=h)] for layer in range(first)
                  for h in range(target.shape.n_heads)]
    with torch.no_grad():
        scores = [path_score(target, xb, clean_z, corrupt_z, g, receivers, answer, foil, clean_m, corrupt_m)
                  for g in groups]
    labels = ["+".join(s.short for s in g) for g in groups]
    best = sorted(zip(scores, labels), key=lambda x: -abs(x[0]))[:8]
    summary = (f"path patching into {', '.join(r.short for r in receivers_heads)} ({args.receiver_input}): "
               + ", ".join(f"{lbl} {sc:+.4f}" for sc, lbl in best))
    return PathPatchOut(summary=summary, receivers=[r.short for r in receivers_heads],
                        receiver_input=args.receiver_input, labels=labels, scores=[round(x, 5) for x in scores])
