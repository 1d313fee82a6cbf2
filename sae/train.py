"""Training a dictionary on activations streamed from the corpus, with checkpoints and resume.

Checkpoints go to `<out>.train/` every `checkpoint_every` steps (written to a
staging folder, then renamed). `resume=True` reloads the latest one and the
activation stream skips straight to the token where it stopped. The finished
dictionary is written to `<out>` in SAE-Lens format, and the checkpoints removed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from pydantic import BaseModel, Field, field_validator

from sleuth.sae.architectures import get_architecture
from sleuth.sae.backends import SaeLensBackend, StepStats, TranscoderBackend
from sleuth.sae.dictionary import SaeConfig, SaeError, SparseDictionary
from sleuth.sae.format import CFG_FILE, save_dictionary
from sleuth.sae.stream import ActivationStream
from sleuth.atomic_files import write_atomically
from sleuth.locks import file_lock
from sleuth.target.site import Site

log = logging.getLogger(__name__)

TRAINING_FILE = "sleuth_training.json"


class TrainSpec(BaseModel):
    site: str
    arch: str = "topk"  # a registered architecture (sleuth.sae.architectures)
    width: int = Field(4096, gt=0)
    k: int = Field(32, gt=0)
    tokens: int = Field(2_000_000, gt=0)
    sparsity: float | None = Field(None, ge=0, description="the architecture's sparsity penalty (L1 or L0) coefficient")
    lr: float | None = Field(None, gt=0, description="Adam learning rate (default: the architecture's)")
    batch: int = Field(1024, gt=0)
    seed: int = 0
    checkpoint_every: int = Field(50, gt=0)


    @field_validator("arch")
    @classmethod
    def _known(cls, name: str) -> str:
        get_architecture(name)
        return name

    def resolved(self) -> "TrainSpec":
        """Defaults filled in from the architecture: what is saved with a checkpoint and compared on resume."""
        arch = get_architecture(self.arch)
        return self.model_copy(update={"lr": self.lr or arch.default_lr,
                                       "sparsity": self.sparsity if self.sparsity is not None else arch.default_sparsity})


class Progress(BaseModel):
    tokens: int
    total: int
    tokens_per_s: float
    stats: dict


def parse_tokens(text: str) -> int:
    """'2M', '500k', '300000' -> a token count."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}.get(text[-1:], 1)
    try:
        value = float(text[:-1] if scale > 1 else text)
    except ValueError:
        raise SaeError(f"--tokens must be a count like 2M, 500k or 300000, not '{text}'") from None
    if value <= 0:
        raise SaeError("--tokens must be positive")
    return int(value * scale)


def training_sites(target, spec: TrainSpec) -> tuple[Site, Site | None]:
    """(input site, output site or None). A transcoder of layer L reads the MLP input and writes its output."""
    site = target.check_site(spec.site)
    if site.index is not None or site.sae is not None or site.direction is not None:
        raise SaeError(f"train on a whole site such as {site.base}, not one component")
    if site.hook == "attn.hook_pattern":
        raise SaeError("an SAE cannot be trained on attn.hook_pattern")
    if not get_architecture(spec.arch).transcoder:
        return site, None
    if site.layer is None or site.hook not in ("ln2.hook_normalized", "mlp.hook_mlp_out"):
        raise SaeError("--arch transcoder takes the MLP of one layer: blocks.L.ln2.hook_normalized "
                       "(its input) or blocks.L.mlp.hook_mlp_out (its output)")
    return Site(hook="ln2.hook_normalized", layer=site.layer), Site(hook="mlp.hook_mlp_out", layer=site.layer)


def _backend(spec: TrainSpec, d_in: int, d_out: int):
    arch = get_architecture(spec.arch)
    dead_window = max(spec.batch, min(spec.tokens // 4, 200_000))
    if arch.transcoder:
        return TranscoderBackend(d_in, d_out, spec.width, spec.sparsity, spec.lr, spec.batch, spec.tokens, spec.seed,
                                 dead_window)
    arch.check(SaeConfig(architecture=spec.arch, d_in=d_in, d_sae=spec.width, k=spec.k))  # e.g. topk: k <= width
    return SaeLensBackend(arch, d_in, spec.width, spec.k, spec.sparsity, spec.lr, spec.batch, spec.tokens,
                          spec.seed, dead_window)


COMPLETE = "complete"  # written last into a staged checkpoint: the staging folder is whole; it holds the tokens done


def _checkpoint(backend, folder: Path, total_tokens: int) -> None:
    staging = folder.with_name(folder.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    backend.save(staging)
    (staging / COMPLETE).write_text(json.dumps({"tokens": backend.samples, "of": total_tokens}))
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.replace(folder, old)
    os.replace(staging, folder)
    shutil.rmtree(old, ignore_errors=True)


def _recover(folder: Path) -> None:
    """Finish or undo a checkpoint write that a kill interrupted: a whole staged checkpoint wins, else the
    previous one; half-written folders are removed."""
    staging, old = folder.with_name(folder.name + ".staging"), folder.with_name(folder.name + ".old")
    if not folder.exists():
        if (staging / COMPLETE).is_file():
            os.replace(staging, folder)
        elif old.is_dir():
            os.replace(old, folder)
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def lock_path(out: Path) -> Path:
    return out.with_name(out.name + ".lock")


def checkpoint_path(out: Path) -> Path:
    return out.with_name(out.name + ".train")


def refuse_foreign_siblings(out: Path) -> None:
    """`<out>.lock` is truncated and `<out>.train` deleted by a run: refuse when either exists and is not a
    training's own (a lock file holds only `pid N`; a checkpoint folder has the spec.json a run wrote)."""
    lock, checkpoint = lock_path(out), checkpoint_path(out)
    if lock.exists() and not (lock.is_file() and re.fullmatch(r"(pid \d+)?", lock.read_text(errors="replace").strip())):
        raise SaeError(f"{lock} exists and is not a training's lock file; it is never overwritten (choose another --out)")
    ours = lambda p: p.name == "spec.json" or p.name.startswith(".spec.json.")  # noqa: E731 (an empty one loses nothing)
    if checkpoint.exists() and not (checkpoint.is_dir() and all(map(ours, checkpoint.iterdir()))
                                    or (checkpoint / "spec.json").is_file()):
        raise SaeError(f"{checkpoint} exists and is not a training's checkpoint folder; it is never deleted "
                       "(choose another --out)")


def check_out(out: Path, resume: bool) -> None:
    """Refuse an --out that is not this training's own (nothing there is ever overwritten or deleted)."""
    if out.exists() and not out.is_dir():
        raise SaeError(f"--out {out} is a file; choose a folder for the SAE")
    finished = (out / CFG_FILE).is_file()
    if finished and not resume:
        raise SaeError(f"{out} already holds an SAE; choose another --out (nothing was overwritten)")
    if finished:
        raise SaeError(f"{out} is already trained; there is nothing to resume (nothing was changed)")
    if out.is_dir() and any(out.iterdir()):
        raise SaeError(f"--out {out} exists and is not an SAE folder; it is never overwritten (choose a new folder)")


def train_dictionary(target, windows, spec: TrainSpec, out: Path, resume: bool = False, model_name: str = "",
                     corpus_checksum: str = "", on_progress: Callable[[Progress], None] | None = None,
                     locked: bool = False) -> SparseDictionary:
    """Train per `spec` on `windows` (token rows) and write the result to `out`. One process trains into an
    `out` at a time (a lock beside it); `locked=True` when the caller already holds that lock."""
    out = Path(out)
    refuse_foreign_siblings(out)
    with nullcontext() if locked else file_lock(lock_path(out), timeout_s=0, what=f"SAE training into {out}"):
        return _train(target, windows, spec.resolved(), out, resume, model_name, corpus_checksum, on_progress)


def _train(target, windows, spec: TrainSpec, out: Path, resume: bool, model_name: str, corpus_checksum: str,
           on_progress) -> SparseDictionary:
    checkpoint = checkpoint_path(out)
    check_out(out, resume)
    site_in, site_out = training_sites(target, spec)
    stream = ActivationStream(target, windows, site_in, site_out, seed=spec.seed)
    if spec.tokens > stream.capacity:
        raise SaeError(f"--tokens {spec.tokens:,} exceeds the {stream.capacity:,} tokens the corpus split holds")
    backend = _backend(spec, target.site_width(site_in), target.site_width(site_out) if site_out else 0)
    if resume and (checkpoint / "spec.json").is_file():
        saved = TrainSpec.model_validate_json((checkpoint / "spec.json").read_text())
        if saved.model_dump(exclude={"checkpoint_every"}) != spec.model_dump(exclude={"checkpoint_every"}):
            raise SaeError(f"the checkpoint in {checkpoint} was made with other settings; resume with the same ones")
        _recover(checkpoint / "state")
        if (checkpoint / "state").is_dir():
            backend.load(checkpoint / "state")
        else:
            log.warning("%s: the run stopped before its first checkpoint; training starts from the beginning", checkpoint)
    write_atomically(checkpoint / "spec.json", spec.model_dump_json())
    start, started = backend.samples, time.perf_counter()
    stats = StepStats(0.0, 1.0, 0.0, 0)
    steps = 0
    for x, y in stream.rows(spec.batch, start_token=start):
        if backend.samples >= spec.tokens:
            break
        stats = backend.step(x, y)
        steps += 1
        if steps % spec.checkpoint_every == 0:
            _checkpoint(backend, checkpoint / "state", spec.tokens)
        if on_progress is not None:
            rate = (backend.samples - start) / max(time.perf_counter() - started, 1e-9)
            on_progress(Progress(tokens=backend.samples, total=spec.tokens, tokens_per_s=rate, stats=stats.__dict__))
        if backend.samples >= spec.tokens:
            break
    seconds = time.perf_counter() - started
    sae = backend.export()
    sae.cfg.metadata.update({
        "model_name": model_name or target.name, "hook_name": str(site_in), "context_size": windows.shape[1],
        "prepend_bos": False, "dataset_path": f"sleuth corpus {corpus_checksum[:16]}", "seed": spec.seed,
        "trained_by": "sleuth", **({"hook_name_out": str(site_out)} if site_out else {}),
    })
    save_dictionary(sae, out)
    record = {"spec": spec.model_dump(), "tokens": backend.samples, "seconds_this_run": round(seconds, 1),
              "resumed_from": start, "final": stats.__dict__}
    (out / TRAINING_FILE).write_text(json.dumps(record, indent=2))
    shutil.rmtree(checkpoint, ignore_errors=True)
    return sae
