"""sae_latent_logits: the tokens one latent's decoder row promotes and suppresses through the unembedding."""

from __future__ import annotations

import torch
from pydantic import BaseModel, Field

from sleuth.sae.binding import attached
from sleuth.tools.registry import ToolError, tool
from sleuth.tools.result import ToolOutput

RESIDUAL_HOOKS = ("hook_embed", "hook_resid_pre", "hook_resid_mid", "hook_resid_post", "attn.hook_attn_out",
                  "mlp.hook_mlp_out", "ln2.hook_normalized")


class LatentLogitsArgs(BaseModel):
    sae: str = Field(description="Name of a loaded SAE or transcoder")
    latent: int = Field(ge=0)
    top_k: int = Field(10, ge=1, le=50)


class TokenLogit(BaseModel):
    token: str
    logit: float


class HeadShare(BaseModel):
    head: str
    share: float


class LatentLogitsOut(ToolOutput):
    sae: str
    latent: int
    promoted: list[TokenLogit]
    suppressed: list[TokenLogit]
    head_shares: list[HeadShare] | None = None


def residual_row(target, site, row: torch.Tensor, transcoder: bool) -> torch.Tensor:
    """A decoder row mapped into the residual stream (d_model)."""
    adapter, s = target.adapter, target.shape
    if transcoder or site.hook in RESIDUAL_HOOKS:
        return row
    if site.hook == "attn.hook_z":
        return torch.einsum("hd,hdm->m", row.view(s.n_heads, s.d_head), adapter.W_O(site.layer).float())
    if site.hook == "mlp.hook_post":
        return row @ adapter.W_out(site.layer).float()
    raise ToolError(f"an SAE on {site.hook} does not write to the residual stream, so it has no direct logit effect")


@tool("sae_latent_logits", "Tokens an SAE latent's decoder row promotes and suppresses (through the unembedding); "
      "head shares for hook_z SAEs.")
def sae_latent_logits(args: LatentLogitsArgs, ctx) -> LatentLogitsOut:
    target = ctx.target
    sae, site = attached(target, args.sae)
    if args.latent >= sae.d_sae:
        raise ToolError(f"latent {args.latent} out of range: {args.sae} has latents 0..{sae.d_sae - 1}")
    row = sae.decoder_rows()[args.latent].float()
    with torch.no_grad():
        logits = residual_row(target, site, row, sae.is_transcoder) @ target.adapter.W_U().float()
    top, bottom = logits.topk(args.top_k), (-logits).topk(args.top_k)
    promoted = [TokenLogit(token=target.tokenizer.decode([int(i)]), logit=round(float(v), 4)) for v, i in zip(*top)]
    suppressed = [TokenLogit(token=target.tokenizer.decode([int(i)]), logit=round(-float(v), 4)) for v, i in zip(*bottom)]
    shares = None
    if site.hook == "attn.hook_z":
        per_head = row.view(target.shape.n_heads, target.shape.d_head).pow(2).sum(-1)
        per_head = per_head / per_head.sum().clamp(min=1e-12)
        order = per_head.argsort(descending=True)
        shares = [HeadShare(head=f"L{site.layer}H{int(h)}", share=round(float(per_head[h]), 4)) for h in order]
    summary = (f"{args.sae} latent {args.latent} promotes " + ", ".join(repr(t.token) for t in promoted[:6])
               + "; suppresses " + ", ".join(repr(t.token) for t in suppressed[:6]))
    if shares:
        summary += "; decoder norm by head: " + ", ".join(f"{h.head} {h.share:.0%}" for h in shares[:3])
    return LatentLogitsOut(summary=summary, sae=args.sae, latent=args.latent, promoted=promoted,
                           suppressed=suppressed, head_shares=shares)
