"""Corpora: the embedded real-text corpus, user corpora, and token windows."""

from sleuth.corpus.documents import Corpus, CorpusInfo, Document
from sleuth.corpus.sources import open_corpus
from sleuth.corpus.windows import Windows, build_windows, is_heldout

__all__ = ["Corpus", "CorpusInfo", "Document", "Windows", "build_windows", "is_heldout", "open_corpus"]
