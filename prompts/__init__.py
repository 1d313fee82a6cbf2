"""Prompt templates (*.j2): the only place prompt text lives.

Corpus text and model-written texts go in through `data_block`, which fences them
and neutralises the fence markers inside, so they are shown as data, never as
instructions.
"""

from __future__ import annotations

import json
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
    # plain JSON: jinja's own tojson is HTML-safe and shows ' < > & as \u0027 \u003c \u003e \u0026, which
    # a small LLM reading (and copying) code tokens does not decode
    env.filters["json"] = lambda value: json.dumps(value, ensure_ascii=False)
    return env


def worked_examples(name: str) -> list[dict]:
    """prompts/<name>.json: worked examples a prompt shows as earlier turns of the conversation."""
    return json.loads((Path(__file__).parent / f"{name}.json").read_text(encoding="utf-8"))


def render(name: str, **variables) -> str:
    """Render prompts/<name>.j2."""
    return _env().get_template(f"{name}.j2").render(**variables).strip()


def names() -> list[str]:
    return sorted(p.stem for p in Path(__file__).parent.glob("*.j2"))
