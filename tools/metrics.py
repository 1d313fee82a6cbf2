"""Metrics shared by the causal tools: loss, answer probability, logit difference."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sleuth.target import Batch, RunOutput, Target


def last_positions(batch: Batch) -> torch.Tensor:
    return batch.lengths - 1


def last_logits(logits: torch.Tensor | RunOutput, batch: Batch) -> torch.Tensor:
    """[batch, vocab] logits at each example's last real token (from a run's output or full logits)."""
    if isinstance(logits, RunOutput):
        return logits.last_logits
    return logits[torch.arange(len(batch)), last_positions(batch)]


def per_example_loss(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Mean next-token cross-entropy over each example's real tokens: [batch]."""
    ce = F.cross_entropy(logits[:, :-1].transpose(1, 2), batch.input_ids[:, 1:], reduction="none")
    mask = batch.attention_mask[:, 1:].to(ce.dtype)
    return (ce * mask).sum(1) / mask.sum(1).clamp(min=1)


def answer_ids(target: Target, answers: list[str] | None, n: int) -> torch.Tensor | None:
    if not answers:
        return None
    ids = torch.tensor([target.token_id(a) for a in answers])
    return ids.expand(n) if len(ids) == 1 else ids


def logit_diff(logits: torch.Tensor | RunOutput, batch: Batch, answer: torch.Tensor, foil: torch.Tensor | None) -> torch.Tensor:
    """[batch] logit(answer) - logit(foil) at the last token (or the answer logit alone)."""
    last = last_logits(logits, batch)
    rows = torch.arange(len(batch))
    diff = last[rows, answer]
    return diff - last[rows, foil] if foil is not None else diff


def answer_prob(logits: torch.Tensor | RunOutput, batch: Batch, answer: torch.Tensor) -> torch.Tensor:
    return last_logits(logits, batch).softmax(-1)[torch.arange(len(batch)), answer]
