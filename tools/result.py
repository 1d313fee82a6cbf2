"""What every tool returns: numbers with shapes, a short summary, provenance."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ToolOutput(BaseModel):
    """Base of every tool's output model: its numbers plus a summary the LLM reads."""

    summary: str


class Provenance(BaseModel):
    tool: str
    args: dict[str, Any]
    model: str
    corpus_checksum: str | None
    seed: int


class ToolResult(BaseModel):
    tool: str
    summary: str
    data: dict[str, Any]
    shapes: dict[str, list[int]]
    seconds: float
    provenance: Provenance


def _shape(value) -> list[int] | None:
    if isinstance(value, list):
        if not value:
            return [0]
        inner = _shape(value[0])
        return [len(value)] + (inner or [])
    return None


def shapes_of(data: dict) -> dict[str, list[int]]:
    """Shapes of the list-valued (array-like) fields of a tool's data."""
    return {k: s for k, v in data.items() if (s := _shape(v)) is not None and not (v and isinstance(v[0], dict))}
