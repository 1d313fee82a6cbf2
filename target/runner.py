"""One forward pass through nnsight that reads and edits any set of sites.

Hook points are visited in execution order (nnsight requires it); every read
and edit at one hook point is done on the same tensor, edits first, so a read
sees what flows on.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import torch

from sleuth.target.adapters import Adapter, HookPoint
from sleuth.target.interventions import Edit, apply_edit, apply_latent_edit, direction_read, selector
from sleuth.target.site import Site


@dataclass
class RunOutput:
    logits: torch.Tensor  # [batch, pos, vocab], or [batch, kept, vocab] for last-token-only runs
    cache: dict[Site, torch.Tensor] = field(default_factory=dict)
    last_logits: torch.Tensor | None = None  # [batch, vocab] at each example's last real token

    def __getitem__(self, site: Site | str) -> torch.Tensor:
        return self.cache[Site.parse(site) if isinstance(site, str) else site]


@dataclass
class _Visit:
    hookpoint: HookPoint
    order: tuple
    reads: list[Site] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)


def plan_visits(adapter: Adapter, reads: list[Site], edits: list[Edit]) -> list[_Visit]:
    visits: dict[tuple, _Visit] = {}
    by_point: dict[tuple, list] = defaultdict(list)
    for site in reads:
        by_point[(adapter.hookpoint(site)[:2])].append(("read", site))
    for edit in edits:
        by_point[(adapter.hookpoint(edit.site)[:2])].append(("edit", edit))
    for key, items in by_point.items():
        sites = [item if kind == "read" else item.site for kind, item in items]
        hp = adapter.hookpoint(sites[0])
        visit = visits.setdefault(key, _Visit(HookPoint(hp.module, hp.io), min(s.order for s in sites)))
        for kind, item in items:
            (visit.reads if kind == "read" else visit.edits).append(item)
    return sorted(visits.values(), key=lambda v: v.order)


def _element(raw, item: int | None) -> torch.Tensor:
    if isinstance(raw, (tuple, list)):
        return raw[item or 0]
    return raw


def _visit(adapter: Adapter, envoy, visit: _Visit, mask, directions, saes, cache, copy: bool) -> None:
    hp = visit.hookpoint
    raw = envoy.output if hp.io == "output" else envoy.input
    if visit.edits:
        raw = _edited(adapter, raw, visit, mask, directions, saes)
        if hp.io == "output":
            envoy.output = raw
        else:
            envoy.input = raw
    for site in visit.reads:
        tensor = _element(raw, adapter.hookpoint(site).item)
        view = adapter.view(site, tensor)
        if site.direction is not None:
            cache[site] = direction_read(view, directions[site.direction], None).detach().clone()
        elif site.sae is not None:
            latents = saes[site.sae].encode(view)
            cache[site] = latents[selector(site, None)].detach()
        else:
            value = view[selector(site, None)].detach()
            cache[site] = value.clone() if copy else value


def _edited(adapter: Adapter, raw, visit: _Visit, mask, directions, saes):
    """A copy of the raw value with every edit of this hook point applied."""
    items = list(raw) if isinstance(raw, (tuple, list)) else None
    for edit in visit.edits:
        item = adapter.hookpoint(edit.site).item or 0
        tensor = (items[item] if items is not None else raw).clone()
        view = adapter.view(edit.site, tensor)
        if edit.site.sae is not None:
            apply_latent_edit(view, edit, mask, saes[edit.site.sae])
        else:
            apply_edit(view, edit, mask, directions.get(edit.site.direction))
        if items is not None:
            items[item] = tensor
        else:
            raw = tensor
    return tuple(items) if items is not None else raw


def run_traced(
    nn_model,
    adapter: Adapter,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    reads: list[Site],
    edits: list[Edit],
    directions: dict[str, torch.Tensor],
    last_only: bool = False,
    saes: dict | None = None,
    logits: bool = True,
) -> RunOutput:
    """Run the wrapped model once with the given reads and edits.

    last_only computes logits only at each example's last real token (HF logits_to_keep),
    which skips most of the unembedding in patching sweeps. logits=False (reads only, no edits)
    stops the forward pass after the last read: a scan of layer 6 of 30 runs 7 blocks, not 30.
    """
    from nnsight import save  # nnsight is imported by Target, with sleuth's settings (no .save on every object)

    visits = plan_visits(adapter, reads, edits)
    cache: dict[Site, torch.Tensor] = {}
    copy = bool(edits)  # without edits nothing is modified in place, so views are safe to keep
    last = attention_mask.sum(1) - 1
    kwargs = {"attention_mask": attention_mask}
    if last_only:
        kept = torch.unique(last)
        kwargs["logits_to_keep"] = kept
    stop_early = not logits and not edits and not last_only
    with nn_model.trace(input_ids, **kwargs) as tracer:
        for visit in visits:
            envoy = _envoy(nn_model, visit.hookpoint.module)
            _visit(adapter, envoy, visit, attention_mask, directions, saes or {}, cache, copy)
        if stop_early:
            tracer.stop()
        else:
            logits = save(nn_model.output.logits)
    if stop_early:
        return RunOutput(logits=torch.empty(0), cache=cache, last_logits=torch.empty(0))
    rows = torch.arange(len(input_ids))
    column = torch.searchsorted(kept, last) if last_only else last
    return RunOutput(logits=logits, cache=cache, last_logits=logits[rows, column])


def _envoy(nn_model, path: str):
    envoy = nn_model
    for part in path.split("."):
        if part:
            envoy = envoy[int(part)] if part.isdigit() else getattr(envoy, part)
    return envoy
