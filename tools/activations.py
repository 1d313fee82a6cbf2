"""activations: one component's activation on given texts, per token."""

from __future__ import annotations

from pydantic import BaseModel, Field

from sleuth.tools.registry import ToolError, tool
from sleuth.tools.result import ToolOutput


class ActivationsArgs(BaseModel):
    site: str = Field(description="A component: blocks.3.mlp.hook_post[100], blocks.2.attn.hook_z[4], L3N100, site~direction")
    texts: list[str] = Field(min_length=1, max_length=64)


class TextActivations(BaseModel):
    text: str
    tokens: list[str]
    values: list[float]
    max_token: str
    max_value: float


class ActivationsOut(ToolOutput):
    site: str
    per_text: list[TextActivations]


def component_values(target, site, batch):
    """[batch, pos] scalar activation of a component (the L2 norm for a head's vector)."""
    value = target.run(batch, reads=[site], logits=False)[site]
    return value.norm(dim=-1) if value.dim() == 3 else value


@tool("activations", "Activation of one component (neuron, head norm, unit, direction) on texts, per token.")
def activations(args: ActivationsArgs, ctx) -> ActivationsOut:
    target = ctx.target
    site = target.check_site(args.site)
    if not site.is_component:
        raise ToolError(f"activations needs one component, e.g. {site}[0]; for a whole site use top_activations")
    if site.hook == "attn.hook_pattern":
        raise ToolError("use attention_pattern for attn.hook_pattern")
    batch = target.tokenize(args.texts)
    values = component_values(target, site, batch)
    rows = []
    for i, text in enumerate(args.texts):
        n = int(batch.lengths[i])
        acts = [round(float(v), 4) for v in values[i, :n]]
        tokens = target.str_tokens(batch.input_ids[i, :n])
        top = max(range(n), key=lambda j: acts[j])
        rows.append(TextActivations(text=text, tokens=tokens, values=acts, max_token=tokens[top], max_value=acts[top]))
    best = max(rows, key=lambda r: r.max_value)
    summary = (f"{site.short} on {len(rows)} texts: max {best.max_value:.3f} at token {best.max_token!r} "
               f"in {best.text[:60]!r}; per-text maxima " + ", ".join(f"{r.max_value:.2f}" for r in rows))
    return ActivationsOut(summary=summary, site=str(site), per_text=rows)
