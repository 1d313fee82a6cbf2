"""The units a label run covers: parsed from --latents, checked against the loaded target, one item each."""

from __future__ import annotations

import re

from pydantic import BaseModel

from sleuth.errors import SleuthError
from sleuth.target import Site


class LabelInputError(SleuthError):
    """A label run's input is wrong (one line, exit 2)."""

    exit_code = 2


class Item(BaseModel):
    component: str  # the unit's Site text (blocks.6.hook_resid_post@smollm2-res-6[17], L3N100, synthetic.s.u)
    hookpoint: str  # the whole site it belongs to (Delphi's hookpoint)
    index: int  # the unit's column in a scan of that site (0 for a synthetic unit)

    @property
    def key(self) -> str:
        """A file name: Delphi's `<hookpoint>_latent<i>`."""
        return f"{self.hookpoint}_latent{self.index}"


def parse_units(text: str | None, width: int, default: int = 20) -> list[int]:
    """'0:200' (a half-open range), '3,17,99' (a list), or None (the first `default` units)."""
    if text is None or not text.strip():
        return list(range(min(default, width)))
    text = text.strip()
    if re.fullmatch(r"\d*:\d*", text):
        start, _, stop = text.partition(":")
        start, stop = int(start or 0), int(stop) if stop else width
        if stop > width:  # checked before the list is built: 0:1000000000 must not build a billion items
            raise LabelInputError(f"--latents '{text}' reaches {stop - 1}, outside the {width} units (0..{width - 1})")
        units = list(range(start, stop))
    elif re.fullmatch(r"\d+(\s*,\s*\d+)*", text):
        units = list(dict.fromkeys(int(u) for u in text.split(",")))
    else:
        raise LabelInputError(f"--latents '{text}' is neither a range like 0:200 nor a list like 3,17,99")
    if not units:
        raise LabelInputError(f"--latents '{text}' selects no unit")
    outside = [u for u in units if u >= width]
    if outside:
        raise LabelInputError(f"--latents '{text}' reaches {outside[0]}, outside the {width} units (0..{width - 1})")
    return units


def whole_site(target, source: str) -> tuple[Site, int]:
    """(the checked whole site, its number of units) for --site."""
    site = target.check_site(source)
    if site.name is not None:
        return site, 1
    if site.index is not None or site.direction is not None:
        raise LabelInputError(f"--site needs a whole site such as {site.base}, not one component ({site})")
    if site.hook == "attn.hook_pattern":
        raise LabelInputError("--site cannot label attn.hook_pattern; use blocks.L.attn.hook_z (one item per head)")
    if site.sae is not None:
        return site, target.saes[site.sae].d_sae
    if site.index_kind is None:
        raise LabelInputError(f"--site {site} has no units to label")
    return site, target.index_range(site)


def items_for(site: Site, units: list[int]) -> list[Item]:
    if site.name is not None:  # a synthetic unit is one item
        return [Item(component=str(site), hookpoint=str(site), index=0)]
    return [Item(component=str(site.with_index(u)), hookpoint=str(site), index=u) for u in units]
