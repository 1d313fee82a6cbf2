"""steer: add a direction at a site with a coefficient; generate with and without it."""

from __future__ import annotations

import torch
from pydantic import BaseModel, Field

from sleuth.target import Edit, Site
from sleuth.tools.probe import site_features
from sleuth.tools.registry import ToolError, tool
from sleuth.tools.result import ToolOutput


class SteerArgs(BaseModel):
    site: str = Field(description="A residual site, e.g. blocks.6.hook_resid_post, or an SAE latent "
                                  "(site@sae[latent]) to steer along its decoder row")
    prompt: str = Field(min_length=1)
    coefficient: float = Field(4.0, description="Multiple of the direction added at every position")
    direction: str | None = Field(None, description="A registered direction name (e.g. from probe register_as)")
    positive_texts: list[str] | None = Field(None, description="With negative_texts: direction = mean difference")
    negative_texts: list[str] | None = None
    max_new_tokens: int = Field(16, ge=1, le=64)


class SteerOut(ToolOutput):
    site: str
    direction_source: str
    direction_norm: float
    baseline: str
    steered: str


def generate(target, prompt: str, steps: int, edits_fn) -> str:
    """Greedy decoding with a full forward per step (no KV cache) so edits apply everywhere."""
    ids = target.tokenize([prompt]).input_ids[0].tolist()
    start = len(ids)
    for _ in range(steps):
        batch = torch.tensor([ids])
        logits = target.run(batch, edits=edits_fn(len(ids))).logits
        nxt = int(logits[0, -1].argmax())
        ids.append(nxt)
        if nxt == target.tokenizer.eos_token_id:
            break
    return target.tokenizer.decode(ids[start:])


def resolve_direction(target, site: Site, args: SteerArgs) -> tuple[torch.Tensor, str]:
    if args.direction:
        if args.direction not in target.directions:
            raise ToolError(f"no direction named '{args.direction}'; known: {', '.join(target.directions) or 'none'}")
        return target.directions[args.direction], f"registered direction '{args.direction}'"
    if args.positive_texts and args.negative_texts:
        pos, _ = site_features(target, site, args.positive_texts, "mean")
        neg, _ = site_features(target, site, args.negative_texts, "mean")
        diff = pos.mean(0) - neg.mean(0)
        return diff, f"mean difference of {len(pos)} vs {len(neg)} texts"
    raise ToolError("steer needs a direction: a registered 'direction' name, or positive_texts and negative_texts")


@tool("steer", "Add a direction (probe, mean difference or registered) at a site; compare generations with and without.")
def steer(args: SteerArgs, ctx) -> SteerOut:
    target = ctx.target
    site = target.check_site(args.site)
    if site.sae is not None and site.index is not None:
        return _steer_latent(target, site, args)
    if site.index is not None or site.hook not in ("hook_resid_pre", "hook_resid_mid", "hook_resid_post",
                                                     "attn.hook_attn_out", "mlp.hook_mlp_out", "hook_embed"):
        raise ToolError(f"steer adds to a d_model vector site (e.g. blocks.6.hook_resid_post), not {site}")
    vector, source = resolve_direction(target, site, args)
    value = vector * args.coefficient
    baseline = generate(target, args.prompt, args.max_new_tokens, lambda n: [])
    steered = generate(target, args.prompt, args.max_new_tokens, lambda n: [Edit(site=site, op="add", value=value)])
    summary = (f"steering {site} by {args.coefficient} x {source} (norm {float(vector.norm()):.2f}): "
               f"baseline {baseline!r} -> steered {steered!r}")
    return SteerOut(summary=summary, site=str(site), direction_source=source, direction_norm=round(float(vector.norm()), 4),
                    baseline=baseline, steered=steered)


def _steer_latent(target, site: Site, args: SteerArgs) -> SteerOut:
    """Add `coefficient` to one SAE latent: the site moves by coefficient x its decoder row."""
    sae = target.saes[site.sae]
    if sae.is_transcoder:
        raise ToolError(f"{site} is a transcoder latent; steer along an SAE latent or a residual direction")
    row_norm = float(sae.decoder_rows()[site.index].norm())
    edit = Edit(site=site, op="add", value=args.coefficient)
    baseline = generate(target, args.prompt, args.max_new_tokens, lambda n: [])
    steered = generate(target, args.prompt, args.max_new_tokens, lambda n: [edit])
    source = f"decoder row of latent {site.index} of SAE '{site.sae}'"
    summary = f"steering {site} by {args.coefficient} ({source}, norm {row_norm:.2f}): baseline {baseline!r} -> steered {steered!r}"
    return SteerOut(summary=summary, site=str(site), direction_source=source, direction_norm=round(row_norm, 4),
                    baseline=baseline, steered=steered)
