"""attention_rule: how much attention one head puts on an attention rule's targets, against every head.

Texts are corpus windows of one split (held-out for validation), each followed by itself
again, so rules about earlier copies (duplicate, induction) have targets as well as
previous-token and position rules. The score of a head is its mean attention mass on
the rule's targets over queries that have any; the head is ranked among all heads. For
the words check (`attention_simulation`) the tool also returns query positions where
the head attends mostly to a token other than the first one, with that argmax key.
"""

from __future__ import annotations

import random
from typing import Literal

import torch
from pydantic import BaseModel, Field

from sleuth.predicates.attention import AttentionRule, describe_rule, targets
from sleuth.predicates.fit import percentile_rank
from sleuth.target import Site
from sleuth.tools.registry import ToolError, tool
from sleuth.tools.result import ToolOutput
from sleuth.tools.scan import scan_windows

SINK = 0  # heads park spare attention on the first token; those queries say nothing about the rule


class AttentionRuleArgs(BaseModel):
    layer: int = Field(ge=0)
    head: int = Field(ge=0)
    rule: AttentionRule
    split: Literal["explain", "heldout"] = "explain"
    n_texts: int = Field(8, ge=1, le=64)
    length: int = Field(16, ge=4, le=64, description="tokens per window before it is repeated")
    n_queries: int = Field(12, ge=0, le=64, description="query positions kept for the words check")
    also: list[str] = Field(default_factory=list, max_length=32,
                            description="other heads (L3H2) whose query positions to keep too (batched checks)")


class AttendedQuery(BaseModel):
    text: int  # index into texts
    query: int
    key: int  # the head's argmax key
    weight: float


class AttentionRuleOut(ToolOutput):
    head: str
    rule: dict
    value: float  # this head's mean attention on the rule's targets
    rank: int
    of: int
    percentile: float
    population: list[float]  # every head's value, layer-major
    grid_shape: list[int]  # [layers, heads]
    counted_queries: int
    texts: list[list[str]]  # the tokens of each text, as the head saw them
    queries: list[AttendedQuery]
    queries_of: dict[str, list[AttendedQuery]] = {}  # the `also` heads, by label

    def about(self) -> list[tuple[str, str]]:
        """Evidence about the measured head and every `also` head of the same run, each with its own value."""
        out = []
        for label in [self.head, *self.queries_of]:
            site = Site.parse(label)
            value = self.population[site.layer * self.grid_shape[1] + site.index]
            out.append((str(site), f"{label} attention on the rule's targets {value:.3f}, rank "
                                   f"{percentile_rank(value, self.population)[0]} of {self.of}; {self.summary}"))
        return out


def _target_mask(rule: AttentionRule, texts: list[list[str]], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """[texts, q, k] 1 on the rule's targets; [texts, q] 1 where a query has any (query 0 left out)."""
    mask = torch.zeros(len(texts), width, width)
    for i, tokens in enumerate(texts):
        for q, keys in enumerate(targets(rule, tokens)):
            if q > 0 and keys:
                mask[i, q, keys] = 1.0
    return mask, (mask.sum(-1) > 0).float()


def _queries(pattern: torch.Tensor, n: int, seed: int) -> list[AttendedQuery]:
    """Seeded sample of query positions whose argmax key is not the first token."""
    found = []
    for i in range(pattern.shape[0]):
        for q in range(2, pattern.shape[1]):
            weight, key = pattern[i, q, : q + 1].max(-1)
            if int(key) != SINK:
                found.append(AttendedQuery(text=i, query=q, key=int(key), weight=round(float(weight), 4)))
    random.Random(seed).shuffle(found)
    return sorted(found[:n], key=lambda a: (a.text, a.query))


@tool("attention_rule", "Attention one head puts on an attention rule's targets (attends_to: previous_token, "
      "first_token, self, same_token_earlier, after_previous_occurrence, {matching: predicate}, {offset: -K}), "
      "ranked among all heads.")
def attention_rule(args: AttentionRuleArgs, ctx) -> AttentionRuleOut:
    target = ctx.target
    s = target.shape
    site = target.check_site(Site(hook="attn.hook_pattern", layer=args.layer, index=args.head))
    _, windows = scan_windows(ctx, args.split, args.n_texts)
    if len(windows) == 0:
        raise ToolError(f"the corpus has no {args.split} windows")
    half = torch.as_tensor(windows[:, : args.length], dtype=torch.long)
    tokens = torch.cat([half, half], dim=1)
    texts = [target.str_tokens(row) for row in tokens]
    mask, counted = _target_mask(args.rule, texts, tokens.shape[1])
    if counted.sum() == 0:
        raise ToolError(f"the rule ({describe_rule(args.rule)}) names no token in these texts")
    sites = [Site(hook="attn.hook_pattern", layer=layer) for layer in range(s.n_layers)]
    out = target.run(tokens, reads=sites, logits=False)
    per_layer = [(out[x].float() * mask[:, None]).sum(-1) for x in sites]  # [texts, heads, q]
    grid = torch.stack([(m * counted[:, None]).sum(dim=(0, 2)) / counted.sum() for m in per_layer])  # [layers, heads]
    population = [round(float(v), 5) for v in grid.flatten()]
    value = population[args.layer * s.n_heads + args.head]
    rank, percentile = percentile_rank(value, population)
    label = f"L{args.layer}H{args.head}"
    queries_of = {}
    for other in dict.fromkeys([label] + args.also):
        parsed = Site.parse(other)
        o = target.check_site(Site(hook="attn.hook_pattern", layer=parsed.layer, index=parsed.index))
        queries_of[other] = _queries(out[sites[o.layer]][:, o.index].float(), args.n_queries, ctx.seed)
    queries = queries_of.pop(label)
    summary = (f"{label} puts {value:.2f} of its attention on {describe_rule(args.rule)} ({args.split} texts): "
               f"rank {rank} of {len(population)} heads")
    return AttentionRuleOut(summary=summary, head=label, rule=args.rule.model_dump(mode="json", exclude_none=True),
                            value=value, rank=rank, of=len(population), percentile=percentile, population=population,
                            grid_shape=[s.n_layers, s.n_heads],
                            counted_queries=int(counted.sum()), texts=texts, queries=queries,
                            queries_of=queries_of)
