"""contrast_units: rank every unit of a site by how much more it fires on one set of texts than another."""

from __future__ import annotations

import torch
from pydantic import BaseModel, Field

from sleuth.tools.registry import tool
from sleuth.tools.result import ToolOutput
from sleuth.tools.scan import units_of, whole_site


class ContrastArgs(BaseModel):
    site: str = Field(description="A whole site, e.g. blocks.5.mlp.hook_post")
    positive: list[str] = Field(min_length=1, max_length=64, description="Texts showing the concept")
    negative: list[str] = Field(min_length=1, max_length=64, description="Similar texts without it")
    top: int = Field(10, ge=1, le=100)


class ContrastOut(ToolOutput):
    site: str
    labels: list[str]  # the top units, strongest first
    scores: list[float]  # mean per-text max activation, positive minus negative


def _text_max(target, site, texts: list[str]) -> torch.Tensor:
    batch = target.tokenize(texts)
    values = units_of(target.run(batch, reads=[site], logits=False)[site])  # [batch, pos, units]
    mask = torch.arange(values.shape[1])[None, :] < batch.lengths[:, None]
    return values.masked_fill(~mask[..., None], float("-inf")).amax(dim=1)  # [batch, units]


@tool("contrast_units", "Rank the units of a site (neurons, dimensions) by activation on positive minus negative texts.")
def contrast_units(args: ContrastArgs, ctx) -> ContrastOut:
    target = ctx.target
    site = whole_site(target, args.site, "contrast_units", synthetic_ok=True)
    diff = _text_max(target, site, args.positive).mean(0) - _text_max(target, site, args.negative).mean(0)
    order = torch.argsort(diff, descending=True)[: args.top].tolist()
    unit = (lambda i: site) if site.is_component else site.with_index  # a synthetic unit is a site of one
    labels = [str(unit(i)) for i in order]
    scores = [round(float(diff[i]), 4) for i in order]
    summary = f"{site} units firing more on the positive texts: " + ", ".join(
        f"{unit(i).short} {s:+.3f}" for i, s in zip(order, scores))
    return ContrastOut(summary=summary, site=str(site), labels=labels, scores=scores)
