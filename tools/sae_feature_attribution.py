"""sae_feature_attribution: which latents drive one output logit on given texts (gradient x activation).

The SAE is spliced in with its reconstruction error added back as a constant, so
the forward pass is unchanged and the gradient reaches every latent at every position.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, Field

from sleuth.sae.binding import attached
from sleuth.target.hooks import site_hooks
from sleuth.target.site import Site
from sleuth.tools.registry import ToolError, tool
from sleuth.tools.result import ToolOutput


class FeatureAttributionArgs(BaseModel):
    sae: str = Field(description="Name of a loaded SAE or transcoder")
    texts: list[str] = Field(min_length=1, max_length=32)
    token: str = Field(min_length=1, description="Output token whose logit (at each text's last position) is explained")
    top_k: int = Field(10, ge=1, le=50)


class LatentAttribution(BaseModel):
    latent: int
    site: str
    attribution: float
    activation: float


class FeatureAttributionOut(ToolOutput):
    sae: str
    token: str
    logit: float
    latents: list[LatentAttribution]
    per_text_top: list[list[int]]


def _spliced_latents(target, sae, site: Site, stash: dict):
    """Hooks that route the site through the SAE (plus its detached error) and keep the latents."""
    if not sae.is_transcoder:
        def through(flat):
            latents = sae.encode(flat).detach().requires_grad_(True)
            stash["latents"] = latents
            recon = sae.decode(latents)
            return recon + (flat - recon).detach()
        return {site: through}
    out_site = Site(hook="mlp.hook_mlp_out", layer=site.layer)

    def read_input(flat):
        stash["latents"] = sae.encode(flat).detach().requires_grad_(True)

    def write_output(flat):
        recon = sae.decode(stash["latents"])
        return recon + (flat - recon).detach()

    return {site: read_input, out_site: write_output}


@tool("sae_feature_attribution", "Which SAE latents drive an output token's logit on texts: gradient x activation, "
      "summed over positions.")
def sae_feature_attribution(args: FeatureAttributionArgs, ctx) -> FeatureAttributionOut:
    target = ctx.target
    sae, site = attached(target, args.sae)
    token = target.tokenizer(args.token, add_special_tokens=False)["input_ids"]
    if not token:
        raise ToolError(f"'{args.token}' tokenizes to nothing")
    batch = target.tokenize(args.texts)
    last = batch.lengths - 1
    stash: dict = {}
    with torch.enable_grad(), site_hooks(target, _spliced_latents(target, sae, site, stash)):
        logits = target.raw_logits(batch.input_ids, batch.attention_mask)
        objective = logits[torch.arange(len(batch)), last, token[0]]
        latents = stash["latents"]
        (grad,) = torch.autograd.grad(objective.sum(), latents)
    mask = batch.attention_mask.unsqueeze(-1).to(latents.dtype)
    attribution = (latents.detach() * grad * mask).sum(1)  # [texts, d_sae]
    total = attribution.mean(0)
    acts = (latents.detach() * mask).amax(1).mean(0)
    order = total.abs().argsort(descending=True)[: args.top_k]
    latent_site = site.model_copy(update={"sae": args.sae})
    rows = [LatentAttribution(latent=int(j), site=str(latent_site.with_index(int(j))),
                              attribution=round(float(total[j]), 5), activation=round(float(acts[j]), 4)) for j in order]
    per_text = [[int(j) for j in a.abs().argsort(descending=True)[:5]] for a in attribution]
    mean_logit = float(objective.detach().mean())
    summary = (f"logit of {args.token!r} (mean {mean_logit:.2f}) over {len(args.texts)} texts is driven by "
               + ", ".join(f"latent {r.latent} ({r.attribution:+.3f})" for r in rows[:6]))
    return FeatureAttributionOut(summary=summary, sae=args.sae, token=args.token, logit=round(mean_logit, 4),
                                 latents=rows, per_text_top=per_text)
