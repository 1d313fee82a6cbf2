"""logit_lens and direct_logit_attribution: what each layer and head writes toward a token."""

from __future__ import annotations

import torch
from pydantic import BaseModel, Field

from sleuth.target import Site
from sleuth.tools.metrics import last_positions
from sleuth.tools.registry import tool
from sleuth.tools.result import ToolOutput


class LogitLensArgs(BaseModel):
    text: str = Field(min_length=1)
    answer: str | None = Field(None, description="Token to track (default: the model's final prediction)")
    top: int = Field(5, ge=1, le=20)


class LayerReading(BaseModel):
    layer: int
    top_tokens: list[str]
    answer_rank: int
    answer_prob: float


class LogitLensOut(ToolOutput):
    answer: str
    layers: list[LayerReading]


def _final_norm(target, resid: torch.Tensor) -> torch.Tensor:
    return target.adapter.final_norm()(resid)


@tool("logit_lens", "Decode the residual stream after every layer at the last token; rank/prob of a token per layer.")
def logit_lens(args: LogitLensArgs, ctx) -> LogitLensOut:
    target = ctx.target
    batch = target.tokenize([args.text])
    sites = [Site(hook="hook_resid_post", layer=layer) for layer in range(target.shape.n_layers)]
    out = target.run(batch, reads=sites)
    last = int(last_positions(batch)[0])
    answer = target.token_id(args.answer) if args.answer else int(out.logits[0, last].argmax())
    rows = []
    with torch.no_grad():
        for layer, site in enumerate(sites):
            logits = _final_norm(target, out[site][0, last]) @ target.adapter.W_U()
            probs = logits.softmax(-1)
            rank = int((logits > logits[answer]).sum())
            rows.append(LayerReading(layer=layer, top_tokens=target.str_tokens(logits.topk(args.top).indices),
                                     answer_rank=rank, answer_prob=round(float(probs[answer]), 5)))
    name = target.tokenizer.decode([answer])
    first = next((r.layer for r in rows if r.answer_rank == 0), None)
    summary = (f"logit lens for {name!r}: becomes top-1 at layer {first}" if first is not None
               else f"logit lens for {name!r}: never top-1; final rank {rows[-1].answer_rank}")
    summary += "; ranks by layer " + " ".join(str(r.answer_rank) for r in rows)
    return LogitLensOut(summary=summary, answer=name, layers=rows)


class DLAArgs(BaseModel):
    texts: list[str] = Field(min_length=1, max_length=64)
    answers: list[str] = Field(min_length=1, description="Token whose logit to attribute (one per text, or one for all)")
    foils: list[str] | None = Field(None, description="Subtract this token's logit (answer - foil direction)")
    top: int = Field(10, ge=1, le=100)


class DLAOut(ToolOutput):
    head_labels: list[str]
    head_scores: list[float]  # [n_layers * n_heads], mean over texts
    mlp_scores: list[float]  # [n_layers]
    embed_score: float


@tool("direct_logit_attribution", "Direct contribution of every head and MLP layer to the answer (minus foil) logit at the last token.")
def direct_logit_attribution(args: DLAArgs, ctx) -> DLAOut:
    from sleuth.tools.metrics import answer_ids

    target = ctx.target
    s = target.shape
    batch = target.tokenize(args.texts)
    answer = answer_ids(target, args.answers, len(batch))
    foil = answer_ids(target, args.foils, len(batch))
    z_sites = [Site(hook="attn.hook_z", layer=layer) for layer in range(s.n_layers)]
    mlp_sites = [Site(hook="mlp.hook_mlp_out", layer=layer) for layer in range(s.n_layers)]
    final = Site(hook="hook_resid_post", layer=s.n_layers - 1)
    out = target.run(batch, reads=[Site(hook="hook_embed"), *z_sites, *mlp_sites, final])
    rows = torch.arange(len(batch))
    last = last_positions(batch)
    W_U = target.adapter.W_U()
    direction = W_U[:, answer].T - (W_U[:, foil].T if foil is not None else 0)  # [batch, d_model]
    dirs = _through_final_norm(target, out[final][rows, last], direction)
    heads = []
    for layer, site in enumerate(z_sites):
        per_head = torch.einsum("bhd,hdm->bhm", out[site][rows, last], target.adapter.W_O(layer))
        heads.append((per_head * dirs[:, None]).sum(-1).mean(0))
    mlps = [float((out[site][rows, last] * dirs).sum(-1).mean()) for site in mlp_sites]
    embed = float((out[Site(hook="hook_embed")][rows, last] * dirs).sum(-1).mean())
    head_scores = torch.stack(heads).flatten().tolist()
    labels = [f"L{layer}H{h}" for layer in range(s.n_layers) for h in range(s.n_heads)]
    best = sorted(zip(head_scores, labels), key=lambda x: -abs(x[0]))[: args.top]
    top_mlp = max(range(s.n_layers), key=lambda i: abs(mlps[i]))
    summary = ("direct logit attribution (mean over texts): top heads " + ", ".join(f"{l} {v:+.2f}" for v, l in best)
               + f"; largest MLP L{top_mlp} {mlps[top_mlp]:+.2f}; embed {embed:+.2f}")
    return DLAOut(summary=summary, head_labels=labels, head_scores=[round(x, 5) for x in head_scores],
                  mlp_scores=[round(x, 5) for x in mlps], embed_score=round(embed, 5))


def _through_final_norm(target, resid: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """Directions in the residual stream, with the final norm frozen at its value on `resid` (the adapter
    knows which norm its architecture uses)."""
    with torch.no_grad():
        return target.adapter.frozen_final_norm(resid, direction)
