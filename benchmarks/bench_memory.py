"""Memory benchmarks: put throughput; query p50/p95 at 10k and 100k records vs brute-force numpy cosine."""

import tempfile
import time
from pathlib import Path

import numpy as np

from sleuth.memory import Evidence
from sleuth.memory.chroma_store import ChromaEvidenceStore

WORDS = ("months dates python keywords induction previous token names numbers code comments brackets "
         "indentation plurals verbs French German emotion negation quotes URLs math operators").split()


def _records(n: int, seed: int) -> list[Evidence]:
    rng = np.random.default_rng(seed)
    return [Evidence(run_id=f"bench-{seed}", model="smollm2-135m", component=f"blocks.{i % 30}.mlp.hook_post[{i}]",
                     tool="top_activations", args={"i": i},
                     summary="fires on " + " and ".join(rng.choice(WORDS, 3, replace=False))) for i in range(n)]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50) * 1000), float(np.percentile(samples, 95) * 1000)


def run() -> dict:
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = ChromaEvidenceStore(path=Path(tmp) / "store")
        store.put(_records(10, 99))  # load the embedding model before timing
        recs = _records(2000, 1)
        t = time.perf_counter()
        for i in range(0, len(recs), 200):
            store.put(recs[i : i + 200])
        out["put_records_per_s_with_embedding"] = round(len(recs) / (time.perf_counter() - t), 1)
        base = np.asarray(store.embed([r.summary for r in recs[:2000]]))
        queries = ["which neurons respond to month names", "python keyword detector", "induction behaviour",
                   "negation and emotion", "numbers in math"] * 8
        query_vecs = np.asarray(store.embed(queries))
        rng = np.random.default_rng(0)
        for size in (10_000, 100_000):
            have = store.collection.count()
            while have < size:  # synthetic neighbours of real embeddings, inserted without re-embedding
                n = min(5000, size - have)
                vecs = base[rng.integers(0, len(base), n)] + rng.normal(0, 0.05, (n, base.shape[1]))
                vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
                ids = [f"syn-{have + j}" for j in range(n)]
                store.collection.add(ids=ids, embeddings=vecs.astype(np.float32), documents=ids,
                                     metadatas=[{"kind": "evidence", "model": "m", "record": "{}"}] * n)
                have += n
            everything = store.collection.get(include=["embeddings"])
            matrix = np.asarray(everything["embeddings"], dtype=np.float32)
            chroma_t, numpy_t, text_t = [], [], []
            for q, qv in zip(queries, query_vecs):
                t = time.perf_counter()
                store.collection.query(query_embeddings=[qv.astype(np.float32)], n_results=10)
                chroma_t.append(time.perf_counter() - t)
                t = time.perf_counter()
                np.argpartition(-(matrix @ qv), 10)[:10]
                numpy_t.append(time.perf_counter() - t)
                t = time.perf_counter()
                store.collection.query(query_texts=[q], n_results=10)
                text_t.append(time.perf_counter() - t)
            c50, c95 = _percentiles(chroma_t)
            n50, n95 = _percentiles(numpy_t)
            t50, t95 = _percentiles(text_t)
            out[f"{size}"] = {"chroma_p50_ms": round(c50, 2), "chroma_p95_ms": round(c95, 2),
                              "numpy_bruteforce_p50_ms": round(n50, 2), "numpy_bruteforce_p95_ms": round(n95, 2),
                              "chroma_with_query_embedding_p95_ms": round(t95, 2),
                              "chroma_over_numpy_p95": round(c95 / n95, 2)}
    return out
