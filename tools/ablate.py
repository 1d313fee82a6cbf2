"""ablate: zero, mean or resample ablation of components; effect on loss, answer prob, logit diff."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, Field

from sleuth.target import Edit
from sleuth.tools.metrics import answer_ids, answer_prob, logit_diff, per_example_loss
from sleuth.tools.registry import ToolError, tool
from sleuth.tools.result import ToolOutput


class AblateArgs(BaseModel):
    components: list[str] = Field(min_length=1, max_length=64,
                                  description="Heads (L4H5), neurons (L3N100), or whole sites (blocks.2.attn.hook_attn_out)")
    texts: list[str] = Field(min_length=1, max_length=64)
    method: Literal["zero", "mean", "resample"] = "zero"
    answers: list[str] | None = Field(None, description="Expected next token per text (or one for all)")
    foils: list[str] | None = Field(None, description="Competing token per text (or one for all), for logit diff")


class ExampleEffect(BaseModel):
    text: str
    loss_clean: float
    loss_ablated: float
    prob_clean: float | None
    prob_ablated: float | None
    logit_diff_clean: float | None
    logit_diff_ablated: float | None


class AblateOut(ToolOutput):
    components: list[str]
    method: str
    mean_loss_delta: float
    mean_prob_delta: float | None
    mean_logit_diff_delta: float | None
    per_example: list[ExampleEffect]


def ablation_edits(target, sites, method: str, batch) -> list[Edit]:
    if method != "resample":
        return [Edit(site=s, op=method) for s in sites]
    if len(batch) < 2:
        raise ToolError("resample ablation needs at least 2 texts (each takes another's activations)")
    clean = target.run(batch, reads=sites)
    return [Edit(site=s, op="set", value=torch.roll(clean[s], 1, dims=0)) for s in sites]


def _r(x):
    return None if x is None else round(float(x), 5)


@tool("ablate", "Zero/mean/resample-ablate heads, neurons or whole sites; per-example effect on loss, answer prob and logit diff.")
def ablate(args: AblateArgs, ctx) -> AblateOut:
    target = ctx.target
    sites = [target.check_site(c) for c in args.components]
    for n, given in (("answers", args.answers), ("foils", args.foils)):
        if given and len(given) not in (1, len(args.texts)):
            raise ToolError(f"{n} must have 1 entry or one per text ({len(args.texts)}), got {len(given)}")
    batch = target.tokenize(args.texts)
    answer = answer_ids(target, args.answers, len(batch))
    foil = answer_ids(target, args.foils, len(batch))
    clean = target.run(batch).logits
    ablated = target.run(batch, edits=ablation_edits(target, sites, args.method, batch)).logits
    loss_c, loss_a = per_example_loss(clean, batch), per_example_loss(ablated, batch)
    prob_c = prob_a = ld_c = ld_a = [None] * len(batch)
    if answer is not None:
        prob_c, prob_a = answer_prob(clean, batch, answer), answer_prob(ablated, batch, answer)
        ld_c, ld_a = logit_diff(clean, batch, answer, foil), logit_diff(ablated, batch, answer, foil)
    rows = [ExampleEffect(text=t, loss_clean=_r(loss_c[i]), loss_ablated=_r(loss_a[i]), prob_clean=_r(prob_c[i]),
                          prob_ablated=_r(prob_a[i]), logit_diff_clean=_r(ld_c[i]), logit_diff_ablated=_r(ld_a[i]))
            for i, t in enumerate(args.texts)]
    d_loss = float((loss_a - loss_c).mean())
    d_prob = float((prob_a - prob_c).mean()) if answer is not None else None
    d_ld = float((ld_a - ld_c).mean()) if answer is not None else None
    names = ", ".join(s.short for s in sites[:6]) + (" ..." if len(sites) > 6 else "")
    summary = f"{args.method}-ablating {names}: loss {'+' if d_loss >= 0 else ''}{d_loss:.4f} nats/token"
    if answer is not None:
        summary += f", answer prob {d_prob:+.4f}, logit diff {d_ld:+.3f} (mean over {len(rows)} texts)"
    return AblateOut(summary=summary, components=[str(s) for s in sites], method=args.method,
                     mean_loss_delta=round(d_loss, 5), mean_prob_delta=_r(d_prob), mean_logit_diff_delta=_r(d_ld),
                     per_example=rows)
