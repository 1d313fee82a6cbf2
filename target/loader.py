"""Load a target: an embedded name, a local HF directory, a .gguf file or a HF id.

GGUF weights are dequantized once and cached as safetensors under
SLEUTH_HOME/models/<key>/, with a manifest; a corrupt or partial cache is
detected and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path

import torch

from sleuth.errors import ModelLoadError, UnknownModelError
from sleuth.locks import file_lock
from sleuth.quiet import quiet_transformers
from sleuth.target.embedded import EMBEDDED, embedded, is_valid_gguf

MANIFEST = "sleuth-cache.json"
CACHE_VERSION = 1
CACHE_WAIT_S = 1800.0  # a second process waits this long for another's build of the same weight cache
log = logging.getLogger(__name__)


def resolve_source(spec: str, home: Path) -> tuple[str, Path | None, str | None]:
    """(cache key, gguf path or None, HF id / directory or None) for a model spec."""
    if spec in EMBEDDED:
        return spec, embedded(spec).locate(home), None
    path = Path(spec).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelLoadError(f"GGUF file not found: {path}")
        if not is_valid_gguf(path):
            raise ModelLoadError(f"{path} is not a GGUF file (bad header)")
        digest = hashlib.sha256(f"{path.resolve()}:{path.stat().st_size}".encode()).hexdigest()[:12]
        return f"{path.stem}-{digest}", path, None
    if path.is_dir():
        return str(path), None, str(path)
    if "/" in spec and not spec.startswith((".", "/")):
        return spec, None, spec  # HF hub id; works when a hub is reachable
    raise UnknownModelError(
        f"unknown model '{spec}'; embedded models: {', '.join(EMBEDDED)} "
        "(or pass a local directory, a .gguf file, or a HF id like org/name)"
    )


def _manifest_ok(cache: Path, gguf: Path) -> bool:
    try:
        manifest = json.loads((cache / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("version") != CACHE_VERSION or manifest.get("gguf_size") != gguf.stat().st_size:
        return False
    files = manifest.get("files", {})
    return bool(files) and all((cache / n).is_file() and (cache / n).stat().st_size == s for n, s in files.items())


def _build_cache(gguf: Path, cache: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()

    tmp = cache.with_name(cache.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    except Exception as exc:  # transformers raises many types for a bad file
        raise ModelLoadError(f"cannot read GGUF {gguf}: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config  # weights are plain float32 now
    model.hf_quantizer = None
    model.is_quantized = False
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    files = {p.name: p.stat().st_size for p in tmp.iterdir() if p.is_file()}
    manifest = {"version": CACHE_VERSION, "gguf": str(gguf), "gguf_size": gguf.stat().st_size, "files": files}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
    old = cache.with_name(cache.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if cache.exists():
        os.replace(cache, old)  # swapped, not deleted first: the window without a cache is one rename
    tmp.rename(cache)
    shutil.rmtree(old, ignore_errors=True)


def _ensure_cache(gguf: Path, cache: Path, rebuild: bool = False) -> None:
    """Build the dequantized-weights cache once: one process builds (under a lock), the others wait for it."""
    with file_lock(cache.with_name(cache.name + ".lock"), timeout_s=CACHE_WAIT_S, what=f"the weight cache {cache}"):
        if rebuild or not _manifest_ok(cache, gguf):
            log.info("dequantizing %s into %s", gguf, cache)
            _build_cache(gguf, cache)


def _from_dir(directory: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()

    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager")
    tokenizer = AutoTokenizer.from_pretrained(directory)
    return model, tokenizer


def _import_model_code(directory: Path) -> None:
    """Import the architecture's modeling code (a per-process cost, not a load cost)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(directory)
        AutoModelForCausalLM._model_mapping[type(config)]
    except Exception:
        pass  # the load below reports any real problem


def load_hf(spec: str, home: Path):
    """(model, tokenizer, source description, load seconds).

    load seconds excludes the one-time import of transformers' modeling code.
    """
    key, gguf, hf = resolve_source(spec, home)
    if gguf is not None and _manifest_ok(home / "models" / key, gguf):
        _import_model_code(home / "models" / key)
    start = time.perf_counter()
    if gguf is not None:
        cache = home / "models" / key
        if not _manifest_ok(cache, gguf):
            _ensure_cache(gguf, cache)
        try:
            model, tokenizer = _from_dir(str(cache))
        except Exception:
            log.warning("weight cache %s is corrupt; rebuilding", cache)
            _ensure_cache(gguf, cache, rebuild=True)
            model, tokenizer = _from_dir(str(cache))
        source = str(gguf)
    else:
        try:
            model, tokenizer = _from_dir(hf)
        except OSError as exc:
            raise ModelLoadError(f"cannot load '{spec}': {str(exc).splitlines()[0]}") from None
        source = hf
    model.eval()
    model.requires_grad_(False)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    return model, tokenizer, source, time.perf_counter() - start
