"""The one typed registry of experiment tools.

A tool is a function `(args: InputModel, ctx: ToolContext) -> OutputModel`,
registered once with `@tool`. The registry feeds the agent (JSON schemas
specialised to the loaded target), the CLI, batch jobs and the tests.
"""

from __future__ import annotations

import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from sleuth.errors import SleuthError
from sleuth.tools.result import Provenance, ToolOutput, ToolResult, shapes_of


class ToolError(SleuthError):
    """A failure the caller (LLM or user) can act on: bad arguments, impossible request."""


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[ToolOutput]
    fn: Callable[[Any, Any], ToolOutput]


REGISTRY: dict[str, ToolSpec] = {}


def tool(name: str, description: str):
    """Register `fn` under `name`; its annotations give the input and output models."""

    def decorate(fn):
        if name in REGISTRY:
            raise ValueError(f"tool '{name}' is already registered")
        hints = typing.get_type_hints(fn)
        input_model, output_model = hints["args"], hints["return"]
        if not (issubclass(input_model, BaseModel) and issubclass(output_model, ToolOutput)):
            raise TypeError(f"tool '{name}': args must be a pydantic model and the return a ToolOutput")
        REGISTRY[name] = ToolSpec(name, description, input_model, output_model, fn)
        return fn

    return decorate


def get_tool(name: str) -> ToolSpec:
    from sleuth.tools import load_all

    load_all()
    if name not in REGISTRY:
        raise ToolError(f"unknown tool '{name}'; available: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def validate_args(spec: ToolSpec, args: dict) -> BaseModel:
    try:
        return spec.input_model.model_validate(args)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'args'}: {e['msg']}" for e in exc.errors()[:3])
        raise ToolError(f"{spec.name}: invalid arguments: {problems}") from None


def run_tool(name: str, args: dict | BaseModel, ctx) -> ToolResult:
    """Validate, run and wrap a tool. ToolError is for the caller; other errors are bugs."""
    spec = get_tool(name)
    parsed = args if isinstance(args, BaseModel) else validate_args(spec, args)
    start = time.perf_counter()
    try:
        output = spec.fn(parsed, ctx)
    except ToolError:
        raise
    except SleuthError as exc:  # a site, corpus, model or SAE problem: a message the caller (or the LLM) can act on
        raise ToolError(f"{name}: {exc}") from None
    data = output.model_dump(mode="json", exclude={"summary"})
    return ToolResult(
        tool=name,
        summary=output.summary,
        data=data,
        shapes=shapes_of(data),
        seconds=round(time.perf_counter() - start, 3),
        provenance=Provenance(tool=name, args=parsed.model_dump(mode="json"), model=ctx.target.name,
                              corpus_checksum=ctx.corpus_checksum(), seed=ctx.seed),
        about=output.about(),
    )
