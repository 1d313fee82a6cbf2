"""ToolContext: what tools get instead of globals (target, corpus, run dir, seed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sleuth.corpus import Corpus, Windows, build_windows, open_corpus
from sleuth.target import Target


@dataclass
class ToolContext:
    target: Target
    home: Path
    corpus_spec: str = "embedded"
    run_dir: Path | None = None
    seed: int = 0
    window_length: int = 64
    _corpus: Corpus | None = field(default=None, repr=False)
    _windows: Windows | None = field(default=None, repr=False)

    @property
    def corpus(self) -> Corpus:
        if self._corpus is None:
            self._corpus = open_corpus(self.corpus_spec, self.home / "corpus")
        return self._corpus

    @property
    def windows(self) -> Windows:
        if self._windows is None:
            self._windows = build_windows(self.corpus, self.target.tokenizer, self.window_length,
                                          self.home / "corpus" / "cache")
        return self._windows

    def switch_corpus(self, spec: str, window_length: int) -> None:
        """Read another corpus (or windows of another length) from now on; it is opened lazily."""
        if (spec, window_length) != (self.corpus_spec, self.window_length):
            self.corpus_spec, self.window_length = spec, window_length
            self._corpus = self._windows = None

    def corpus_checksum(self) -> str | None:
        return self._corpus.checksum if self._corpus is not None else None

    @property
    def cache_dir(self) -> Path:
        path = self.home / "cache" / self.target.name.replace("/", "_")
        path.mkdir(parents=True, exist_ok=True)
        return path
