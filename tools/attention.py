"""attention_pattern: one head's attention on texts, with its strongest query->key links."""

from __future__ import annotations

from pydantic import BaseModel, Field

from sleuth.target import Site
from sleuth.tools.registry import tool
from sleuth.tools.result import ToolOutput


class AttentionArgs(BaseModel):
    layer: int = Field(ge=0)
    head: int = Field(ge=0)
    texts: list[str] = Field(min_length=1, max_length=16)
    top: int = Field(5, ge=1, le=50)


class HeadPattern(BaseModel):
    tokens: list[str]
    pattern: list[list[float]]  # [query, key]
    strongest: list[str]  # "query_token -> key_token (weight)", attention to the first token (the sink) left out
    first_token_share: float  # mean attention to the first token, over queries after it


class AttentionOut(ToolOutput):
    head: str
    per_text: list[HeadPattern]


@tool("attention_pattern", "Attention pattern of one head on texts, plus its strongest query->key links.")
def attention_pattern(args: AttentionArgs, ctx) -> AttentionOut:
    target = ctx.target
    site = target.check_site(Site(hook="attn.hook_pattern", layer=args.layer, index=args.head))
    batch = target.tokenize(args.texts)
    pattern = target.run(batch, reads=[site], logits=False)[site]  # [batch, q, k]
    rows = []
    for i in range(len(batch)):
        n = int(batch.lengths[i])
        p = pattern[i, :n, :n]
        tokens = target.str_tokens(batch.input_ids[i, :n])
        # skip query 0 (trivial) and key 0: most heads park attention on the first token (a sink)
        flat = [(float(p[q, k]), q, k) for q in range(2, n) for k in range(1, q + 1)]
        strongest = [f"{tokens[q]!r}->{tokens[k]!r} ({w:.2f})" for w, q, k in sorted(flat, reverse=True)[: args.top]]
        sink = float(p[1:, 0].mean()) if n > 1 else 0.0
        rows.append(HeadPattern(tokens=tokens, pattern=[[round(float(x), 4) for x in r] for r in p], strongest=strongest,
                                first_token_share=round(sink, 4)))
    summary = (f"L{args.layer}H{args.head} strongest links (first-token sink {rows[0].first_token_share:.2f} left out): "
               + "; ".join(rows[0].strongest))
    return AttentionOut(summary=summary, head=f"L{args.layer}H{args.head}", per_text=rows)
