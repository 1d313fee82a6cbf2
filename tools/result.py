"""What every tool returns: numbers with shapes, a short summary, provenance."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ToolOutput(BaseModel):
    """Base of every tool's output model: its numbers plus a summary the LLM reads."""

    summary: str

    def about(self) -> list[tuple[str, str]]:
        """(component, one-line summary) pairs this result is evidence about. Ranked outputs (labels and
        scores) are about their top three; an output with a site is about that site. Tools override it."""
        labels, scores = getattr(self, "labels", None), getattr(self, "scores", None)
        if labels and scores and len(labels) == len(scores):
            ranked = sorted(zip(scores, labels), key=lambda x: -abs(x[0]))[:3]
            return [(_canonical(label), f"{label} scores {score:.3f}; {self.summary}") for score, label in ranked]
        site = getattr(self, "site", None)
        return [(site if isinstance(site, str) and site else "logits", self.summary)]


def _canonical(label: str) -> str:
    """A label as its canonical site ("L4H5" -> blocks.4.attn.hook_z[5]); a group label ("L1H2+L3H4") stays."""
    from sleuth.errors import SiteError
    from sleuth.target import Site

    try:
        return str(Site.parse(label))
    except SiteError:
        return label


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
    about: list[tuple[str, str]] = []  # (component, summary): what the result is evidence about


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
