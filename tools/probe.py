"""probe: a linear probe on a site for labelled texts, with a control task and selectivity.

Also reports dataset size, class balance and learnability (train score), the
factors that decide whether a probe result means anything.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, Field

from sleuth.tools.linear_probe import control_labels, fit_logistic, fit_ridge, split_indices
from sleuth.tools.metrics import last_positions
from sleuth.tools.registry import ToolError, tool
from sleuth.tools.result import ToolOutput
from sleuth.tools.scan import whole_site


class ProbeArgs(BaseModel):
    site: str = Field(description="A whole site, e.g. blocks.6.hook_resid_post")
    texts: list[str] = Field(min_length=4, max_length=2000)
    labels: list[float] = Field(min_length=4, description="0/1 for logistic, real values for ridge")
    kind: Literal["logistic", "ridge"] = "logistic"
    position: Literal["last", "mean"] = "last"
    test_fraction: float = Field(0.3, gt=0.05, lt=0.9)
    register_as: str | None = Field(None, description="Register the probe direction under this name (site~name)")


class ProbeOut(ToolOutput):
    site: str
    kind: str
    n_train: int
    n_test: int
    class_balance: float | None  # fraction of label 1 (logistic)
    train_score: float  # learnability
    test_score: float  # accuracy or R^2
    control_test_score: float
    selectivity: float
    direction: list[float]


def site_features(target, site, texts: list[str], position: str) -> tuple[torch.Tensor, list[int]]:
    """[n, width] features per text and the last token id of each (for the control task)."""
    feats, last_ids = [], []
    for start in range(0, len(texts), 32):
        batch = target.tokenize(texts[start : start + 32])
        value = target.run(batch, reads=[site], logits=False)[site]
        value = value.flatten(2) if value.dim() > 3 else value
        last = last_positions(batch)
        if position == "last":
            feats.append(value[torch.arange(len(batch)), last])
        else:
            mask = batch.attention_mask.unsqueeze(-1).float()
            feats.append((value * mask).sum(1) / mask.sum(1))
        last_ids += batch.input_ids[torch.arange(len(batch)), last].tolist()
    return torch.cat(feats).float(), last_ids


@tool("probe", "Fit a linear probe (logistic or ridge) on a site, with a Hewitt-Liang control task and selectivity.")
def probe(args: ProbeArgs, ctx) -> ProbeOut:
    target = ctx.target
    site = whole_site(target, args.site, "probe")
    if len(args.labels) != len(args.texts):
        raise ToolError(f"labels ({len(args.labels)}) and texts ({len(args.texts)}) must have the same length")
    y = torch.tensor(args.labels)
    if args.kind == "logistic":
        if not set(y.unique().tolist()) <= {0.0, 1.0}:
            raise ToolError("logistic probe labels must be 0 or 1; use kind='ridge' for real values")
        if len(y.unique()) < 2:
            raise ToolError("logistic probe needs both classes in the labels")
        y = y.long()
    x, last_ids = site_features(target, site, args.texts, args.position)
    train, test = split_indices(len(y), args.test_fraction, ctx.seed)
    fit = fit_logistic if args.kind == "logistic" else fit_ridge
    main = fit(x[train], y[train], x[test], y[test])
    n_classes = 2 if args.kind == "logistic" else 0
    control_y = control_labels(last_ids, 2, ctx.seed) if n_classes else torch.randn(len(y), generator=torch.Generator().manual_seed(ctx.seed))
    control = fit(x[train], control_y[train], x[test], control_y[test])
    if args.register_as:
        target.add_direction(args.register_as, main.weight)
    balance = float(y.float().mean()) if args.kind == "logistic" else None
    metric = "accuracy" if args.kind == "logistic" else "R^2"
    summary = (f"{args.kind} probe on {site} ({args.position} token): test {metric} {main.test_score:.3f} "
               f"(train {main.train_score:.3f}), control {control.test_score:.3f}, selectivity "
               f"{main.test_score - control.test_score:+.3f}; n={len(y)} ({len(train)} train/{len(test)} test)")
    if balance is not None:
        summary += f", class balance {balance:.2f}"
    if len(y) < 40:
        summary += "; warning: small dataset, scores are noisy"
    return ProbeOut(summary=summary, site=str(site), kind=args.kind, n_train=len(train), n_test=len(test),
                    class_balance=balance, train_score=round(main.train_score, 4), test_score=round(main.test_score, 4),
                    control_test_score=round(control.test_score, 4),
                    selectivity=round(main.test_score - control.test_score, 4),
                    direction=[round(float(v), 6) for v in main.weight / main.weight.norm().clamp(min=1e-12)])
