"""subspace_patch: patch one direction of a site, with the dormant-pathway illusion check.

The direction v (at mlp.hook_post, or at one head's hook_z) is split into the part the
downstream weights read (row space of W_out or W_O[head]) and the part in their null
space. Patching only changes the output through the row-space part; when the
clean-vs-corrupt difference along v is carried mostly by the null-space part while
patching v still has a large effect, the effect may come from activating a dormant
row-space direction rather than from the variable the model uses (Makelov et al.,
"Is This the Subspace You Are Looking for?"). Such results are flagged.
"""

from __future__ import annotations

import torch
from pydantic import Field

from sleuth.target import Edit, Site
from sleuth.tools.metrics import answer_ids, logit_diff
from sleuth.tools.patch import PairedPromptsArgs, normalised, paired_batches
from sleuth.tools.registry import ToolError, tool
from sleuth.tools.result import ToolOutput


class SubspacePatchArgs(PairedPromptsArgs):
    site: str = Field(description="blocks.L.mlp.hook_post, or one head: blocks.L.attn.hook_z[h]")
    direction: list[float] | None = Field(None, description="Direction in the site's space; default: mean clean-corrupt difference")


class SubspacePatchOut(ToolOutput):
    site: str
    effect_full: float
    effect_row_space: float
    effect_null_space: float
    null_share_of_difference: float
    possible_illusion: bool


def _reader(target, site: Site) -> torch.Tensor:
    """[width, d_model]: the weights that read this site."""
    if site.hook == "mlp.hook_post" and site.index is None:
        return target.adapter.W_out(site.layer)
    if site.hook == "attn.hook_z" and site.index is not None:
        return target.adapter.W_O(site.layer)[site.index]
    raise ToolError(f"subspace_patch supports blocks.L.mlp.hook_post or one head blocks.L.attn.hook_z[h], not {site}")


def _project(value: torch.Tensor, v: torch.Tensor, target_proj: torch.Tensor) -> torch.Tensor:
    """value with its component along unit v replaced by target_proj."""
    return value + (target_proj - value @ v).unsqueeze(-1) * v


@tool("subspace_patch", "Patch along one direction of a site; split it into row/null space of downstream weights; flag illusions.")
def subspace_patch(args: SubspacePatchArgs, ctx) -> SubspacePatchOut:
    target = ctx.target
    site = target.check_site(args.site)
    reader = _reader(target, site).detach()
    cb, xb = paired_batches(target, args.clean, args.corrupt)
    answer, foil = answer_ids(target, args.answers, len(cb)), answer_ids(target, args.foils, len(cb))
    clean, corrupt = target.run(cb, reads=[site], last_only=True), target.run(xb, reads=[site], last_only=True)
    clean_m = float(logit_diff(clean, cb, answer, foil).mean())
    corrupt_m = float(logit_diff(corrupt, xb, answer, foil).mean())
    c_act, x_act = clean[site], corrupt[site]
    if args.direction is not None:
        v = torch.tensor(args.direction, dtype=torch.float32)
        if v.numel() != reader.shape[0]:
            raise ToolError(f"direction has {v.numel()} dims; {site} has {reader.shape[0]}")
    else:
        v = (c_act - x_act).flatten(0, -2).mean(0)
    if v.norm() < 1e-8:
        raise ToolError("the direction is zero (clean and corrupt activations do not differ at this site)")
    v = v / v.norm()
    basis = torch.linalg.svd(reader, full_matrices=False).U  # row space of the reader, [width, rank]
    v_row = basis @ (basis.T @ v)
    v_null = v - v_row

    def effect(direction: torch.Tensor) -> float:
        if direction.norm() < 1e-6:
            return 0.0
        d = direction / direction.norm()
        patched = _project(x_act, d, c_act @ d)
        metric = logit_diff(target.run(xb, edits=[Edit(site=site, op="set", value=patched)], last_only=True), xb, answer, foil)
        return normalised(metric, clean_m, corrupt_m)

    full, row, null = effect(v), effect(v_row), effect(v_null)
    delta = (c_act - x_act).flatten(0, -2)
    along_null, along_row = (delta @ v_null).abs().sum(), (delta @ v_row).abs().sum()
    null_share = float(along_null / (along_null + along_row).clamp(min=1e-12))
    illusion = abs(full) > 0.2 and null_share > 0.5
    summary = (f"subspace patch at {site}: recovery {full:.3f} along v (row-space part {row:.3f}, null-space part "
               f"{null:.3f}); {100 * null_share:.0f}% of the clean-corrupt difference along v lies in the null space"
               + ("; POSSIBLE ILLUSION: the effect may come from a dormant pathway" if illusion else ""))
    return SubspacePatchOut(summary=summary, site=str(site), effect_full=round(full, 5), effect_row_space=round(row, 5),
                            effect_null_space=round(null, 5), null_share_of_difference=round(null_share, 4),
                            possible_illusion=illusion)
