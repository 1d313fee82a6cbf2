"""compare_models: run one tool on two checkpoints and report the difference (model diffing)."""

from __future__ import annotations

import torch
from pydantic import BaseModel, Field

from sleuth.tools.registry import ToolError, get_tool, run_tool, tool, validate_args
from sleuth.tools.result import ToolOutput


class CompareModelsArgs(BaseModel):
    other_model: str = Field(description="Second checkpoint: embedded name, directory or .gguf (same architecture)")
    tool: str = Field(description="Tool to run on both")
    args: dict = Field(description="That tool's arguments")


class FieldDiff(BaseModel):
    field: str
    mean_abs_diff: float
    max_abs_diff: float
    correlation: float | None


class CompareModelsOut(ToolOutput):
    tool: str
    models: list[str]
    summaries: list[str]
    diffs: list[FieldDiff]


def _numeric(value) -> torch.Tensor | None:
    if isinstance(value, list) and value and all(isinstance(x, (int, float)) for x in value):
        return torch.tensor(value, dtype=torch.float64)
    return None


@tool("compare_models", "Run any tool on the target and on a second checkpoint; report how the numbers differ.")
def compare_models(args: CompareModelsArgs, ctx) -> CompareModelsOut:
    from dataclasses import replace

    from sleuth.target import load_target

    if args.tool == "compare_models":
        raise ToolError("compare_models cannot compare itself")
    validate_args(get_tool(args.tool), args.args)
    other = load_target(args.other_model, ctx.home)
    if other.shape.model_dump(exclude={"vocab_size"}) != ctx.target.shape.model_dump(exclude={"vocab_size"}):
        raise ToolError(f"{args.other_model} has a different shape from {ctx.target.name}; compare checkpoints of one architecture")
    first = run_tool(args.tool, args.args, ctx)
    second = run_tool(args.tool, args.args, replace(ctx, target=other, _windows=None))
    diffs = []
    for key, value in first.data.items():
        a, b = _numeric(value), _numeric(second.data.get(key))
        if a is None or b is None or a.shape != b.shape:
            continue
        corr = float(torch.corrcoef(torch.stack([a, b]))[0, 1]) if len(a) > 1 and a.std() > 0 and b.std() > 0 else None
        d = (a - b).abs()
        diffs.append(FieldDiff(field=key, mean_abs_diff=round(float(d.mean()), 6), max_abs_diff=round(float(d.max()), 6),
                               correlation=None if corr is None else round(corr, 4)))
    text = "; ".join(f"{d.field}: mean |diff| {d.mean_abs_diff:.4f}, corr {d.correlation}" for d in diffs) or "no numeric fields to diff"
    summary = f"{args.tool} on {ctx.target.name} vs {other.name}: {text}"
    return CompareModelsOut(summary=summary, tool=args.tool, models=[ctx.target.name, other.name],
                            summaries=[first.summary, second.summary], diffs=diffs)
