"""Plain torch hooks on a site, and runs that start at a later block.

The nnsight runner serves most tools. Hot loops (SAE training and evaluation, the
exact head-patching sweep) touch one or two sites on many batches, so they hook
the HF modules directly: read or replace a site's flattened [batch, pos, width]
value, stop early, or skip the blocks before a layer. They are not one engine because
nnsight builds and checks an intervention graph on every trace, a fixed cost per call that
dominates a loop of thousands of small batches; the raw path pays nothing per call but offers
only reads and replacements of whole sites (no SAE latents, directions or edits by op).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from sleuth.target.site import Site

SiteFn = Callable[[torch.Tensor], torch.Tensor | None]


def _swap(adapter, site: Site, raw, fn: SiteFn):
    """Apply fn to the site's flat view inside `raw`; return the raw value to pass on, or None."""
    item = adapter.hookpoint(site).item or 0
    tensor = raw[item] if isinstance(raw, (tuple, list)) else raw
    view = adapter.view(site, tensor)
    flat = view.flatten(2) if view.dim() == 4 else view
    new = fn(flat)
    if new is None:
        return None
    new = new.reshape(tensor.shape).to(tensor.dtype)
    if isinstance(raw, (tuple, list)):
        items = list(raw)
        items[item] = new
        return type(raw)(items)
    return new


@contextmanager
def site_hooks(target, hooks: dict[Site, SiteFn]) -> Iterator[None]:
    """Install `fn` at each site for the duration; fn may return a replacement value."""
    adapter = target.adapter
    handles = []
    for site, fn in hooks.items():
        point = adapter.hookpoint(site)
        module = target.model.get_submodule(point.module.rstrip("."))
        if point.io == "output":
            handles.append(module.register_forward_hook(lambda m, a, out, s=site, f=fn: _swap(adapter, s, out, f)))
        else:
            def pre(m, args, kwargs, s=site, f=fn):
                if args:
                    new = _swap(adapter, s, args[0], f)
                    return None if new is None else ((new, *args[1:]), kwargs)
                key = next(iter(kwargs))
                new = _swap(adapter, s, kwargs[key], f)
                return None if new is None else (args, {**kwargs, key: new})

            handles.append(module.register_forward_pre_hook(pre, with_kwargs=True))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def blocks_from(target, layer: int) -> Iterator[None]:
    """For the duration, the model runs only blocks `layer`.. (the block list is cut).

    Give block `layer` its input with a hook on blocks.{layer}.hook_resid_pre; hooks
    must be installed (site_hooks) before entering, while module paths still hold.
    """
    parent_path, name = target.adapter.blocks_path.rsplit(".", 1)
    parent = target.model.get_submodule(parent_path)
    blocks = getattr(parent, name)
    setattr(parent, name, nn.ModuleList(list(blocks)[layer:]))
    try:
        yield
    finally:
        setattr(parent, name, blocks)
