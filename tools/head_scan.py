"""head_scan: score every head for induction, previous-token, duplicate-token or successor behaviour.

- induction: on [random tokens, same tokens again], attention from each repeat to the
  token after its earlier occurrence.
- previous_token: attention to the immediately preceding token, on random token sequences.
- duplicate_token: on the same repeated sequences, attention to the earlier copy of the token.
- successor: on ordinal sequences (numbers, months, days), how often the head's direct
  output (z . W_O . W_U) ranks the *next* item above every other item of the sequence
  (the "Successor Heads" measurement).
"""

from __future__ import annotations

import random
from typing import Literal

import torch
from pydantic import BaseModel, Field

from sleuth.target import Site
from sleuth.tools.registry import tool
from sleuth.tools.result import ToolOutput

ORDINALS = {
    "numbers": [str(i) for i in range(1, 21)],
    "months": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December"],
    "days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}


class HeadScanArgs(BaseModel):
    kind: Literal["induction", "previous_token", "duplicate_token", "successor"]
    n_sequences: int = Field(16, ge=2, le=256)
    length: int = Field(24, ge=4, le=256, description="Length of the random half (induction/duplicate)")
    top: int = Field(10, ge=1, le=100)


class HeadScanOut(ToolOutput):
    kind: str
    labels: list[str]
    scores: list[float]
    grid_shape: list[int]


def _repeated_tokens(target, n: int, length: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    low = min(1000, target.shape.vocab_size // 4)
    half = torch.randint(low, target.shape.vocab_size - 1, (n, length), generator=g)
    return torch.cat([half, half], dim=1)


def _pattern_scores(target, tokens: torch.Tensor, offset_fn) -> torch.Tensor:
    s = target.shape
    sites = [Site(hook="attn.hook_pattern", layer=layer) for layer in range(s.n_layers)]
    out = target.run(tokens, reads=sites, logits=False)
    query, key = offset_fn(tokens.shape[1])
    return torch.stack([out[site][:, :, query, key].mean(dim=(0, 2)) for site in sites])  # [layers, heads]


def ordinal_runs(seed: int, min_len: int = 5) -> list[list[str]]:
    """Seeded contiguous runs of each ordinal sequence: a re-measurement with a new seed sees new prompts."""
    rng = random.Random(seed)
    runs = []
    for items in ORDINALS.values():
        length = rng.randint(min(min_len, len(items)), len(items))
        start = rng.randint(0, len(items) - length)
        runs.append(list(items[start:start + length]))
    return runs


def _successor_scores(target, seed: int) -> torch.Tensor:
    s = target.shape
    W_U = target.adapter.W_U()
    hits = torch.zeros(s.n_layers, s.n_heads)
    total = 0
    for items in ordinal_runs(seed):
        ids = [target.token_id(" " + x) for x in items]
        text = " " + " ".join(items)
        batch = target.tokenize([text])
        token_ids = batch.input_ids[0].tolist()
        positions = [token_ids.index(i) for i in ids[:-1] if i in token_ids]
        sites = [Site(hook="attn.hook_z", layer=layer) for layer in range(s.n_layers)]
        out = target.run(batch, reads=sites, logits=False)
        cand = torch.tensor(ids)
        for layer, site in enumerate(sites):
            per_head = torch.einsum("phd,hdm->phm", out[site][0, positions], target.adapter.W_O(layer))
            logits = per_head @ W_U[:, cand]  # [pos, heads, items]
            for row, pos in enumerate(positions):
                nxt = ids.index(token_ids[pos]) + 1
                hits[layer] += (logits[row].argmax(-1) == nxt).float()
        total += len(positions)
    return hits / max(total, 1)  # fraction of positions where the successor wins


@tool("head_scan", "Score every attention head for induction, previous-token, duplicate-token or successor behaviour.")
def head_scan(args: HeadScanArgs, ctx) -> HeadScanOut:
    target = ctx.target
    s = target.shape
    if args.kind in ("induction", "duplicate_token"):
        tokens = _repeated_tokens(target, args.n_sequences, args.length, ctx.seed)
        shift = args.length - 1 if args.kind == "induction" else args.length
        grid = _pattern_scores(target, tokens, lambda w: (torch.arange(args.length, w), torch.arange(args.length, w) - shift))
    elif args.kind == "previous_token":
        tokens = _repeated_tokens(target, args.n_sequences, args.length, ctx.seed)[:, : args.length]
        grid = _pattern_scores(target, tokens, lambda w: (torch.arange(1, w), torch.arange(0, w - 1)))
    else:
        grid = _successor_scores(target, ctx.seed)
    labels = [f"L{layer}H{h}" for layer in range(s.n_layers) for h in range(s.n_heads)]
    scores = [round(float(x), 5) for x in grid.flatten()]
    best = sorted(zip(scores, labels), reverse=True)[: args.top]
    summary = f"{args.kind} scores: top heads " + ", ".join(f"{lbl} {sc:.3f}" for sc, lbl in best)
    return HeadScanOut(summary=summary, kind=args.kind, labels=labels, scores=scores, grid_shape=[s.n_layers, s.n_heads])
