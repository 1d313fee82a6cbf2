"""Linear probes fitted with torch (no extra dependency): logistic or ridge, plus a control task.

Kept apart from the tool so the fitting can be tested on planted data without a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class ProbeFit:
    weight: torch.Tensor  # [d] (logistic: binary classes)
    bias: float
    train_score: float
    test_score: float


def _standardise(x_train: torch.Tensor, x_test: torch.Tensor):
    mu, sd = x_train.mean(0), x_train.std(0).clamp(min=1e-6)
    return (x_train - mu) / sd, (x_test - mu) / sd, mu, sd


def fit_logistic(x_tr, y_tr, x_te, y_te, l2: float = 1e-3, steps: int = 200) -> ProbeFit:
    xs_tr, xs_te, mu, sd = _standardise(x_tr, x_te)
    w = torch.zeros(x_tr.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")
    y = y_tr.float()

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xs_tr @ w + b, y) + l2 * w.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    w, b = w.detach(), b.detach()
    acc = lambda xs, ys: float((((xs @ w + b) > 0).long() == ys).float().mean())  # noqa: E731
    return ProbeFit(w / sd, float(b - (mu / sd) @ w), acc(xs_tr, y_tr), acc(xs_te, y_te))


def fit_ridge(x_tr, y_tr, x_te, y_te, alpha: float = 1.0) -> ProbeFit:
    xs_tr, xs_te, mu, sd = _standardise(x_tr, x_te)
    y_mean = y_tr.float().mean()
    a = xs_tr.T @ xs_tr + alpha * torch.eye(xs_tr.shape[1])
    w = torch.linalg.solve(a, xs_tr.T @ (y_tr.float() - y_mean))

    def r2(xs, ys):
        pred = xs @ w + y_mean
        return float(1 - ((ys - pred) ** 2).sum() / ((ys - ys.mean()) ** 2).sum().clamp(min=1e-12))

    return ProbeFit(w / sd, float(y_mean - (mu / sd) @ w), r2(xs_tr, y_tr.float()), r2(xs_te, y_te.float()))


def control_labels(keys: list[int], n_classes: int, seed: int) -> torch.Tensor:
    """Hewitt & Liang control task: each input type (e.g. token id) gets a fixed random label."""
    g = torch.Generator().manual_seed(seed)
    table: dict[int, int] = {}
    for key in keys:
        if key not in table:
            table[key] = int(torch.randint(0, n_classes, (1,), generator=g))
    return torch.tensor([table[k] for k in keys])


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_test = max(1, int(round(n * test_fraction)))
    return order[n_test:], order[:n_test]
