"""Interventions on a site's canonical view: set, add, zero, mean and scale.

An `Edit` names a site (optionally one head, neuron, unit or direction), an
operation and, for set/add/scale, a value that broadcasts against the selected
slice. `positions` restricts the edit to some token positions.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict

from sleuth.target.site import Site

Op = Literal["set", "add", "zero", "mean", "scale"]


class Edit(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    site: Site
    op: Op
    value: torch.Tensor | float | None = None
    positions: list[int] | None = None


def selector(site: Site, positions: list[int] | None) -> tuple:
    """Index tuple into a site's view that selects its component and positions."""
    pos = slice(None) if positions is None else positions
    if site.hook == "attn.hook_pattern":
        head = slice(None) if site.index is None else site.index
        return (slice(None), head, pos)
    if site.index is None or site.direction is not None:
        return (slice(None), pos)
    return (slice(None), pos, site.index)


def direction_read(view: torch.Tensor, direction: torch.Tensor, positions) -> torch.Tensor:
    """Projection of each position's vector on a unit direction: [batch, pos]."""
    return view[selector(Site(hook="logits"), positions)] @ direction


def apply_edit(view: torch.Tensor, edit: Edit, mask: torch.Tensor, direction: torch.Tensor | None) -> None:
    """Apply `edit` in place to `view` (a view of the tensor flowing through the model)."""
    if direction is not None:
        _edit_direction(view, edit, direction)
        return
    sel = selector(edit.site, edit.positions)
    current = view[sel]
    if edit.op == "zero":
        view[sel] = 0.0
    elif edit.op == "set":
        view[sel] = _as(edit.value, current)
    elif edit.op == "add":
        view[sel] = current + _as(edit.value, current)
    elif edit.op == "scale":
        view[sel] = current * _as(edit.value, current)
    elif edit.op == "mean":
        view[sel] = _as(edit.value, current) if edit.value is not None else _masked_mean(current, mask, edit)


def _edit_direction(view: torch.Tensor, edit: Edit, direction: torch.Tensor) -> None:
    sel = selector(edit.site, edit.positions)
    vecs = view[sel]
    proj = vecs @ direction  # [batch, pos]
    if edit.op == "add":
        target = proj + _as(edit.value, proj)
    elif edit.op == "set":
        target = _as(edit.value, proj).expand_as(proj)
    elif edit.op == "zero":
        target = torch.zeros_like(proj)
    elif edit.op == "scale":
        target = proj * _as(edit.value, proj)
    else:
        target = _as(edit.value, proj) if edit.value is not None else proj.mean().expand_as(proj)
    view[sel] = vecs + (target - proj).unsqueeze(-1) * direction


def apply_latent_edit(view: torch.Tensor, edit: Edit, mask: torch.Tensor, sae) -> None:
    """Edit SAE latents in place of `view`, keeping the SAE's reconstruction error.

    The latents f are encoded from the view, edited to f', and the view moves by
    (f' - f) @ W_dec: only what the edited latents write changes.
    """
    latents = sae.encode(view)
    edited = latents.clone()
    apply_edit(edited, edit, mask, None)
    delta = (edited - latents) @ sae.decoder_rows()
    view += delta.view_as(view)


def _as(value, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(value, dtype=like.dtype, device=like.device)


def _masked_mean(current: torch.Tensor, mask: torch.Tensor, edit: Edit) -> torch.Tensor:
    """Mean of the selected slice over real (unpadded) tokens of the batch."""
    if edit.site.hook == "attn.hook_pattern":
        return current.mean(dim=0, keepdim=True).expand_as(current)
    m = mask if edit.positions is None else mask[:, edit.positions]
    m = m.to(current.dtype).reshape(*m.shape, *([1] * (current.dim() - 2)))
    mean = (current * m).sum(dim=(0, 1)) / m.sum().clamp(min=1)
    return mean.expand_as(current)
