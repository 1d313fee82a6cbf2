"""Prompt templates (*.j2): the only place prompt text lives.

Corpus text and model-written texts go in through `data_block`, which fences them
and neutralises the fence markers inside, so they are shown as data, never as
instructions.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

FENCE_OPEN, FENCE_CLOSE = "<<<DATA", "DATA>>>"


def data_block(text: str, label: str = "") -> str:
    """Fence untrusted text; fence markers inside it are defused."""
    clean = str(text).replace("<<<", "‹‹‹").replace(">>>", "›››")
    head = f"{FENCE_OPEN} {label}".rstrip()
    return f"{head}\n{clean}\n{FENCE_CLOSE}"


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent), undefined=jinja2.StrictUndefined,
                             autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    env.filters["data"] = data_block
    return env


def render(name: str, **variables) -> str:
    """Render prompts/<name>.j2."""
    return _env().get_template(f"{name}.j2").render(**variables).strip()


def names() -> list[str]:
    return sorted(p.stem for p in Path(__file__).parent.glob("*.j2"))
