"""sae_encode: the top SAE latents for given texts, per token."""

from __future__ import annotations

from pydantic import BaseModel, Field

from sleuth.sae.binding import attached
from sleuth.tools.registry import tool
from sleuth.tools.result import ToolOutput


class SaeEncodeArgs(BaseModel):
    sae: str = Field(description="Name of a loaded SAE or transcoder, e.g. smollm2-res-6")
    texts: list[str] = Field(min_length=1, max_length=32)
    top_k: int = Field(5, ge=1, le=64, description="Latents listed per token")


class TokenLatents(BaseModel):
    token: str
    latents: list[int]
    values: list[float]


class TextLatents(BaseModel):
    text: str
    l0: float
    tokens: list[TokenLatents]


class LatentTotal(BaseModel):
    latent: int
    site: str
    total: float
    max: float
    tokens_active: int


class SaeEncodeOut(ToolOutput):
    sae: str
    site: str
    per_text: list[TextLatents]
    top_latents: list[LatentTotal]


@tool("sae_encode", "Encode texts with a loaded SAE or transcoder: the top latents per token and overall.")
def sae_encode(args: SaeEncodeArgs, ctx) -> SaeEncodeOut:
    target = ctx.target
    sae, site = attached(target, args.sae)
    latent_site = site.model_copy(update={"sae": args.sae})
    batch = target.tokenize(args.texts)
    latents = target.run(batch, reads=[latent_site], logits=False)[latent_site]  # [batch, pos, d_sae]
    mask = batch.attention_mask.bool()
    per_text = []
    for i, text in enumerate(args.texts):
        n = int(batch.lengths[i])
        values, indices = latents[i, :n].topk(min(args.top_k, sae.d_sae), dim=-1)
        rows = [TokenLatents(token=tok, latents=[int(j) for j, v in zip(ix, vs) if v > 0],
                             values=[round(float(v), 4) for v in vs if v > 0])
                for tok, ix, vs in zip(target.str_tokens(batch.input_ids[i, :n]), indices, values)]
        per_text.append(TextLatents(text=text, l0=round(float((latents[i, :n] > 0).float().sum(-1).mean()), 2), tokens=rows))
    real = latents[mask]  # [tokens, d_sae]
    totals = real.sum(0)
    order = totals.argsort(descending=True)[: args.top_k * 2]
    top = [LatentTotal(latent=int(j), site=str(latent_site.with_index(int(j))), total=round(float(totals[j]), 4),
                       max=round(float(real[:, j].max()), 4), tokens_active=int((real[:, j] > 0).sum()))
           for j in order if totals[j] > 0]
    mean_l0 = sum(t.l0 for t in per_text) / len(per_text)
    summary = (f"{args.sae} on {len(args.texts)} texts: mean L0 {mean_l0:.1f}; strongest latents "
               + ", ".join(f"{t.latent} (max {t.max:.2f}, on {t.tokens_active} tokens)" for t in top[:5]))
    return SaeEncodeOut(summary=summary, sae=args.sae, site=str(site), per_text=per_text, top_latents=top)
