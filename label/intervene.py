"""intervene: held-out prompts continued with and without the unit pushed up (for the intervention scorer).

An SAE latent moves the site by its decoder row; a neuron is raised directly. Each prompt is the
start of a held-out non-activating test window, and both continuations are greedy, computed in one
batch per step. Heads and synthetic units have no single steerable output here: they get a reason.
"""

from __future__ import annotations

import torch

from sleuth.label.records import Collected
from sleuth.label.spec import LabelSpec
from sleuth.scorers.examples import SteeredText
from sleuth.target import Edit

STEERABLE = ("latent", "neuron")


def not_steerable(ctx, component: str) -> str | None:
    """Why this unit cannot be steered, or None."""
    site = ctx.target.check_site(component)
    if site.index_kind not in STEERABLE:
        return f"intervention steers SAE latents and MLP neurons, not {site.index_kind or 'this'} units ({component})"
    if site.sae is not None and ctx.target.saes[site.sae].is_transcoder:
        return f"intervention cannot steer transcoder latents ({component})"
    return None


def _continue(target, ids: torch.Tensor, steps: int, edits: list[Edit]) -> list[str]:
    for _ in range(steps):
        nxt = target.run(ids, edits=edits, last_only=True).last_logits.argmax(-1)
        ids = torch.cat([ids, nxt[:, None]], dim=1)
    return [target.tokenizer.decode(row[-steps:].tolist()) for row in ids]


def steer(collected: Collected, spec: LabelSpec, ctx) -> list[SteeredText]:
    """One SteeredText per held-out quiet window (up to the preset's count)."""
    p = spec.preset
    target = ctx.target
    rows = [w.window for w in collected.test if w.kind == "random"][: p.steer_prompts]
    if not rows:
        return []
    ids = torch.as_tensor(ctx.windows.tokens[rows][:, : p.steer_prompt_tokens], dtype=torch.long)
    push = Edit(site=target.check_site(collected.item.component), op="add", value=p.steer_factor * collected.max)
    with torch.no_grad():
        baseline = _continue(target, ids, p.steer_tokens, [])
        steered = _continue(target, ids, p.steer_tokens, [push])
    prompts = [target.tokenizer.decode(row.tolist()) for row in ids]
    return [SteeredText(prompt=t, baseline=b, steered=s) for t, b, s in zip(prompts, baseline, steered)]


def measure(collected: Collected, spec: LabelSpec, ctx, forward_lock) -> list[SteeredText] | str | None:
    """The steering samples when the preset scores intervention; the reason when the unit cannot be steered."""
    if "intervention" not in spec.preset.scorers:
        return None
    why = not_steerable(ctx, collected.item.component)
    if why:
        return why
    with forward_lock:
        return steer(collected, spec, ctx)
