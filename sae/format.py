"""The SAE-Lens on-disk format: a folder with `cfg.json` and `sae_weights.safetensors`.

Reads both the current layout (fields + `metadata` + `architecture`) and the older
flat one (`hook_name`, `model_name`, `activation_fn_str: topk` at the top level).
Writes the current layout, atomically: a reader never sees a half-written folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch

from sleuth.sae.architectures import get_architecture
from sleuth.sae.dictionary import SaeConfig, SaeError, SparseDictionary

CFG_FILE = "cfg.json"
SAE_LENS_FORMAT = "6.0.0"  # the SAE-Lens config layout written here
WEIGHTS_FILE = "sae_weights.safetensors"
# Older SAE-Lens configs keep these at the top level; sleuth keeps them in metadata.
METADATA_KEYS = ("model_name", "hook_name", "hook_name_out", "hook_head_index", "hook_layer", "neuronpedia_id",
                 "prepend_bos", "context_size", "dataset_path", "model_from_pretrained_kwargs", "seed",
                 "sae_lens_version", "sae_lens_training_version", "exclude_special_tokens", "trained_by")
CONFIG_KEYS = set(SaeConfig.model_fields) - {"metadata", "extra"}


def config_from_dict(raw: dict) -> SaeConfig:
    raw = dict(raw)
    metadata = dict(raw.pop("metadata", None) or {})
    for key in METADATA_KEYS:
        if key in raw:
            metadata.setdefault(key, raw.pop(key))
    arch = raw.pop("architecture", None)
    activation = raw.pop("activation_fn_str", None)
    kwargs = raw.pop("activation_fn_kwargs", None) or {}
    if arch is None:
        arch = "topk" if activation == "topk" else "standard"
    if arch == "topk" and "k" not in raw and "k" in kwargs:
        raw["k"] = kwargs["k"]
    get_architecture(arch)  # an unknown one: one line naming the known ones
    fields = {k: raw.pop(k) for k in list(raw) if k in CONFIG_KEYS}
    raw.pop("device", None)
    try:
        return SaeConfig(architecture=arch, metadata=metadata, extra=raw, **fields)
    except SaeError:
        raise
    except ValueError as exc:
        raise SaeError(f"invalid SAE config: {str(exc).splitlines()[-1].strip()}") from None


def config_to_dict(cfg: SaeConfig) -> dict:
    out = cfg.model_dump(exclude={"extra", "metadata", "architecture"}, exclude_none=True)
    out.update({k: v for k, v in cfg.extra.items() if k not in out})
    out["device"] = "cpu"
    # SAE-Lens reads a config without metadata.sae_lens_version as pre-6.0 (flat) and drops the metadata
    out["metadata"] = {"sae_lens_version": SAE_LENS_FORMAT, **cfg.metadata}
    out["architecture"] = cfg.architecture
    return out


def load_dictionary(path: str | Path) -> SparseDictionary:
    """Read an SAE-Lens folder; every problem is one SaeError line."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not (path / CFG_FILE).is_file():
        raise SaeError(f"no SAE at {path}: expected {CFG_FILE} and {WEIGHTS_FILE} in that folder")
    try:
        raw = json.loads((path / CFG_FILE).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SaeError(f"corrupt {path / CFG_FILE}: {exc}") from None
    if not isinstance(raw, dict):
        raise SaeError(f"corrupt {path / CFG_FILE}: expected a JSON object")
    cfg = config_from_dict(raw)
    weights_path = path / WEIGHTS_FILE
    if not weights_path.is_file():
        raise SaeError(f"no weights at {weights_path}")
    try:
        weights = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise SaeError(f"corrupt weights file {weights_path}: {str(exc).splitlines()[0]}") from None
    sae = SparseDictionary(cfg)
    expected = {name: tuple(p.shape) for name, p in sae.named_parameters()}
    missing = sorted(set(expected) - set(weights))
    if missing:
        raise SaeError(f"weights file {weights_path} lacks {', '.join(missing)} for a {cfg.architecture} SAE")
    for name, shape in expected.items():
        got = tuple(weights[name].shape)
        if got != shape:
            raise SaeError(f"{name} in {weights_path} has shape {got}; cfg.json implies {shape}")
    with torch.no_grad():
        for name, param in sae.named_parameters():
            param.copy_(weights[name].to(torch.float32))
    sae.eval().requires_grad_(False)
    return sae


def save_dictionary(sae: SparseDictionary, path: str | Path) -> Path:
    """Write `sae` as an SAE-Lens folder at `path` (replacing it atomically)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        tensors = {name: p.detach().to(torch.float32).contiguous() for name, p in sae.named_parameters()}
        save_file(tensors, str(staging / WEIGHTS_FILE))
        (staging / CFG_FILE).write_text(json.dumps(config_to_dict(sae.cfg), indent=2))
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(staging, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path
