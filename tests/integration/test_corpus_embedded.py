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
