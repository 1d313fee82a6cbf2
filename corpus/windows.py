"""Fixed-length token windows over a corpus, split three ways by document.

    explain   what describers and code's rule search read (80 % of documents)
    validate  what sleuth's own checks of a description use (the `heldout` split of scans)
    eval      what `sleuth eval` scores descriptions on, never seen by a describer or a check

The split hashes each document id, so it never changes with corpus order and a document's
windows are all on one side; `heldout` marks validate and eval together (neither is explain).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sleuth.atomic_files import load_arrays, save_arrays_atomically
from sleuth.corpus.documents import Corpus
from sleuth.errors import CorpusError
from sleuth.locks import file_lock

HELDOUT_PERCENT = 20
EVAL_PERCENT = 50  # of the held-out documents: kept for `sleuth eval` scoring; the rest validate
SPLITS = ("explain", "heldout", "eval")  # heldout: the validation part (what the agent and label check on)


def is_heldout(doc_id: str) -> bool:
    return int(hashlib.sha256(doc_id.encode()).hexdigest()[:8], 16) % 100 < HELDOUT_PERCENT


def is_eval(doc_id: str) -> bool:
    """A held-out document kept for eval scoring (a second, independent hash of its id)."""
    digest = hashlib.sha256(f"eval:{doc_id}".encode()).hexdigest()
    return is_heldout(doc_id) and int(digest[:8], 16) % 100 < EVAL_PERCENT


@dataclass
class Windows:
    tokens: np.ndarray  # [n, length] int32
    doc_index: np.ndarray  # [n] index into the corpus documents
    heldout: np.ndarray  # [n] bool
    doc_ids: list[str]
    domains: list[str]  # per document

    def __len__(self) -> int:
        return len(self.tokens)

    def subset(self, mask: np.ndarray) -> "Windows":
        return Windows(self.tokens[mask], self.doc_index[mask], self.heldout[mask], self.doc_ids, self.domains)

    @functools.cached_property
    def eval(self) -> np.ndarray:
        """[n] bool: the window's document is kept for eval scoring (a part of `heldout`); hashed once."""
        per_doc = np.array([is_eval(d) for d in self.doc_ids], dtype=bool)
        return per_doc[self.doc_index] if len(self.doc_index) else np.zeros(0, dtype=bool)

    def mask(self, name: str) -> np.ndarray:
        """The windows of one split: explain, heldout (validation: held out, not eval) or eval."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, not '{name}'")
        if name == "explain":
            return ~self.heldout
        scoring = self.eval
        return scoring if name == "eval" else self.heldout & ~scoring

    def split(self, name: str) -> "Windows":
        return self.subset(self.mask(name))

    def mixed(self, n: int, seed: int = 0) -> "Windows":
        """A deterministic sample of n windows spread over all domains."""
        order = np.random.default_rng(seed).permutation(len(self))[:n]
        return self.subset(np.sort(order))

    def domain_of(self, i: int) -> str:
        return self.domains[self.doc_index[i]]


def _tokenizer_key(tokenizer) -> str:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    text = backend.to_str() if backend is not None else str(sorted(tokenizer.get_vocab().items()))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def build_windows(corpus: Corpus, tokenizer, length: int = 64, cache_dir: Path | None = None) -> Windows:
    if length < 2:
        raise CorpusError(f"window length must be >= 2, got {length}")
    if cache_dir is None:
        return _tokenize(corpus, tokenizer, length)
    cache = cache_dir / f"windows-{corpus.checksum[:16]}-{_tokenizer_key(tokenizer)}-{length}.npz"
    with file_lock(cache.with_suffix(".lock")):  # one process builds it; the others wait and read it
        arrays = load_arrays(cache, ("tokens", "doc_index", "heldout"))
        if arrays is None:
            windows = _tokenize(corpus, tokenizer, length)
            save_arrays_atomically(cache, tokens=windows.tokens, doc_index=windows.doc_index, heldout=windows.heldout)
            return windows
    return Windows(arrays["tokens"], arrays["doc_index"], arrays["heldout"], [d.id for d in corpus.documents],
                   [d.domain for d in corpus.documents])


def _tokenize(corpus: Corpus, tokenizer, length: int) -> Windows:
    doc_ids = [d.id for d in corpus.documents]
    encoded = tokenizer([d.text for d in corpus.documents], add_special_tokens=False)["input_ids"]
    rows, owners = [], []
    for i, ids in enumerate(encoded):
        usable = len(ids) - len(ids) % length
        if usable:
            rows.append(np.asarray(ids[:usable], dtype=np.int32).reshape(-1, length))
            owners.append(np.full(usable // length, i, dtype=np.int32))
    if not rows:
        raise CorpusError(f"corpus '{corpus.name}' has no document of at least {length} tokens")
    tokens, doc_index = np.concatenate(rows), np.concatenate(owners)
    heldout = np.array([is_heldout(doc_ids[i]) for i in doc_index], dtype=bool)
    return Windows(tokens, doc_index, heldout, doc_ids, [d.domain for d in corpus.documents])


def token_counts(corpus: Corpus, tokenizer) -> dict[str, int]:
    """Tokens per domain."""
    counts: dict[str, int] = {}
    encoded = tokenizer([d.text for d in corpus.documents], add_special_tokens=False)["input_ids"]
    for doc, ids in zip(corpus.documents, encoded):
        counts[doc.domain] = counts.get(doc.domain, 0) + len(ids)
    return counts
