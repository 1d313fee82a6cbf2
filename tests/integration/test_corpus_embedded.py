import numpy as np

from sleuth.corpus import build_windows
from sleuth.corpus.embedded import build_embedded


def test_embedded_corpus_is_big_varied_and_deterministic(embedded_corpus, smollm, sleuth_home):
    info = embedded_corpus.info()
    assert len(info.domains) >= 3
    windows = build_windows(embedded_corpus, smollm.tokenizer, 64, sleuth_home / "corpus" / "cache")
    assert windows.tokens.size >= 2_000_000
    domains = {windows.domain_of(i) for i in range(0, len(windows), 97)}
    assert len(domains) >= 3
    assert build_embedded().checksum == embedded_corpus.checksum
    assert 0.1 < windows.heldout.mean() < 0.35
    held = set(windows.doc_index[windows.heldout].tolist())
    assert held.isdisjoint(windows.doc_index[~windows.heldout].tolist()), "a document straddles the split"
    again = build_windows(embedded_corpus, smollm.tokenizer, 64, sleuth_home / "corpus" / "cache")
    assert np.array_equal(again.tokens, windows.tokens)


def test_a_torn_windows_cache_is_rebuilt_and_a_dead_writers_temporary_removed(smollm, tmp_path):
    from sleuth.corpus.documents import Corpus, Document

    corpus = Corpus("small", [Document(id=f"prose:{i}", domain="prose", text=f"Sentence number {i} is here. " * 40)
                              for i in range(6)])
    fresh = build_windows(corpus, smollm.tokenizer, 16, tmp_path)
    (cache,) = tmp_path.glob("windows-*.npz")
    cache.write_bytes(cache.read_bytes()[:100])  # what a kill in the middle of an old, non-atomic write left
    dead_writer = tmp_path / f".{cache.name}.999999999.tmp"
    dead_writer.write_bytes(b"half")
    again = build_windows(corpus, smollm.tokenizer, 16, tmp_path)  # on main: zipfile.BadZipFile, every run
    assert np.array_equal(again.tokens, fresh.tokens) and np.array_equal(again.heldout, fresh.heldout)
    assert not dead_writer.exists() and np.load(cache)["tokens"].shape == fresh.tokens.shape
