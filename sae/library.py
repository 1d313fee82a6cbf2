"""Finding a dictionary by name or folder, training registered recipes on first use, attaching it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from sleuth.locks import file_lock
from sleuth.sae.binding import attach
from sleuth.sae.dictionary import SaeError, SparseDictionary
from sleuth.sae.format import CFG_FILE, load_dictionary
from sleuth.sae.registry import SaeEntry, known_saes
from sleuth.sae.train import Progress, TrainSpec, lock_path, train_dictionary

LOCK_WAIT_S = 3600.0  # a second process waits this long for another's training of the same default SAE


def corpus_rows(target, home: Path, corpus_spec: str = "embedded", split: str = "explain") -> tuple[np.ndarray, str]:
    """Token windows of one corpus split for this target's tokenizer, and the corpus checksum."""
    from sleuth.corpus import build_windows, open_corpus

    corpus = open_corpus(corpus_spec, home / "corpus")
    windows = build_windows(corpus, target.tokenizer, 64, home / "corpus" / "cache")
    rows = windows.tokens[windows.heldout == (split == "heldout")]
    return rows, corpus.checksum


def recipe_spec(entry: SaeEntry) -> TrainSpec:
    recipe = entry.train
    return TrainSpec(site=entry.site, arch=entry.architecture, width=recipe.width, k=recipe.k, tokens=recipe.tokens,
                     lr=recipe.lr, sparsity=recipe.sparsity, seed=recipe.seed)


def ensure_entry(entry: SaeEntry, target, home: Path,
                 on_progress: Callable[[Progress], None] | None = None) -> Path:
    """The folder of a registered SAE, training it from its recipe if it is not there yet."""
    path = entry.local_path(home)
    if path is None:
        raise SaeError(f"SAE '{entry.name}' lives in hub repo {entry.repo}; download it and pass its folder")
    if (path / CFG_FILE).is_file():
        return path
    if entry.train is None:
        raise SaeError(f"SAE '{entry.name}' is not at {path} and has no training recipe")
    if entry.model != target.name:
        raise SaeError(f"SAE '{entry.name}' is trained on {entry.model}; load that model to train it")
    with file_lock(lock_path(path), timeout_s=LOCK_WAIT_S, what=f"training of the default SAE '{entry.name}'"):
        if (path / CFG_FILE).is_file():  # another process finished it while this one waited
            return path
        rows, checksum = corpus_rows(target, home)
        train_dictionary(target, rows, recipe_spec(entry), path, resume=True, model_name=entry.model,
                         corpus_checksum=checksum, on_progress=on_progress, locked=True)
    return path


def load_sae(spec: str, target, home: Path, on_progress: Callable[[Progress], None] | None = None) -> tuple[str, SparseDictionary]:
    """Load an SAE by registry name or folder, attach it to `target`, return (name, dictionary)."""
    folder = Path(spec).expanduser()
    if folder.is_dir() or "/" in spec:
        sae = load_dictionary(folder)
        name, source = folder.resolve().name, str(folder.resolve())
    else:
        entry = known_saes().get(spec)
        if entry.model != target.name:
            raise SaeError(f"SAE '{entry.name}' belongs to {entry.model}, but the loaded model is {target.name}")
        sae = load_dictionary(ensure_entry(entry, target, home, on_progress))
        name, source = entry.name, spec
    attach(target, name, sae)
    target.sae_sources[name] = source
    return name, sae
