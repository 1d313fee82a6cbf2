"""One conformance suite for the evidence store, run in embedded and server mode."""

import json
import subprocess
import sys
import uuid

import pytest

from sleuth.memory import Description, Evidence, Hypothesis, StoreError
from sleuth.memory.chroma_store import COLLECTION, ChromaEvidenceStore
from sleuth.memory.transfer import export_jsonl, import_jsonl

COMPONENT = "blocks.3.mlp.hook_post[100]"


@pytest.fixture(params=["embedded", "server"])
def store(request, tmp_path):
    if request.param == "embedded":
        return ChromaEvidenceStore(path=tmp_path / "store")
    url = request.getfixturevalue("chroma_server")
    s = ChromaEvidenceStore(url=url)
    s.client.delete_collection(COLLECTION)  # a clean collection per test
    return ChromaEvidenceStore(url=url)


def _evidence(i: int, run: str = "run-1", component: str = COMPONENT, summary: str | None = None) -> Evidence:
    return Evidence(run_id=run, model="smollm2-135m", component=component, tool="activations",
                    args={"texts": [f"text {i}"]}, result={"max": float(i)},
                    summary=summary or f"example {i}: fires on month names like January")


def test_put_get_and_idempotent_upsert(store):
    records = [_evidence(i) for i in range(20)]
    ids = store.put(records)
    assert store.put([_evidence(i) for i in range(20)]) == ids  # same content, same ids
    assert store.stats()["records"] == 20
    got = store.get(ids[3])
    assert got == records[3]
    assert store.get("ev-does-not-exist") is None


def test_the_same_record_twice_in_one_put_is_stored_once(store):
    same = [Hypothesis(model="smollm2-135m", component=COMPONENT, statement="fires on 'the'", status="open")
            for _ in range(2)]
    ids = store.put(same + [_evidence(1)])
    assert ids[0] == ids[1] and store.stats()["records"] == 2 and store.get(ids[0]) is not None


def test_semantic_search_with_filters_and_duplicate_suppression(store):
    store.put([_evidence(1, summary="fires on Python keywords such as def and return"),
               _evidence(2, summary="fires on calendar month names"),
               _evidence(3, run="run-2", summary="fires on calendar month names"),  # same text, other run
               _evidence(4, component="blocks.5.mlp.hook_post[7]", summary="fires on month names too")])
    hits = store.search("months of the year", k=5)
    summaries = [h.record.summary for h in hits]
    assert summaries[0] in ("fires on calendar month names", "fires on month names too")
    assert summaries.count("fires on calendar month names") == 1, "duplicates must be suppressed"
    only = store.search("months", k=5, component="blocks.5.mlp.hook_post[7]")
    assert [h.record.component for h in only] == ["blocks.5.mlp.hook_post[7]"]
    assert store.search("months", k=5, run_id="run-2")[0].record.run_id == "run-2"
    with pytest.raises(StoreError, match="unknown filter"):
        store.search("x", colour="red")


def test_descriptions_are_versioned_and_history_is_kept(store):
    ev = _evidence(1)
    store.put([ev])
    first = Description(model="smollm2-135m", component=COMPONENT, text="month names", evidence_ids=[ev.id])
    second = Description(model="smollm2-135m", component=COMPONENT, text="month and day names",
                         scores={"detection": 0.81}, status="validated", evidence_ids=[ev.id])
    store.put([first])
    store.put([second])
    store.put([first])  # replay: no new version
    history = store.history(COMPONENT)
    assert [(d.version, d.text) for d in history] == [(1, "month names"), (2, "month and day names")]
    hyp = Hypothesis(model="smollm2-135m", component=COMPONENT, statement="responds to months", status="supported",
                     evidence_for=[ev.id])
    store.put([hyp])
    about = store.about(COMPONENT)
    assert [type(r).__name__ for r in about] == ["Description", "Description", "Hypothesis", "Evidence"]
    assert about[0].version == 2


def test_another_run_with_the_same_words_is_a_new_version_and_the_first_is_kept(store):
    first = Description(model="m", component=COMPONENT, text="month names", status="validated",
                        scores={"rule": 0.9}, run_id="q-1")
    later = Description(model="m", component=COMPONENT, text="month names", status="rejected",
                        scores={"rule": 0.2}, run_id="q-2")
    store.put([first])
    store.put([later])
    history = store.history(COMPONENT, "m")
    assert [(d.version, d.status, d.scores["rule"], d.run_id) for d in history] == [
        (1, "validated", 0.9, "q-1"), (2, "rejected", 0.2, "q-2")], "a later run must not overwrite an earlier verdict"
    store.put([Hypothesis(model="m", component=COMPONENT, statement="months", status="supported", run_id="q-1"),
               Hypothesis(model="m", component=COMPONENT, statement="months", status="refuted", run_id="q-2")])
    assert sorted(h.status for h in store.all("hypothesis", component=COMPONENT, model="m")) == ["refuted", "supported"]


def test_evidence_from_another_corpus_is_another_record():
    a = Evidence(run_id="r", model="m", component=COMPONENT, tool="top_activations", args={"k": 5}, summary="x",
                 corpus="sha-a")
    b = a.model_copy(update={"id": "", "corpus": "sha-b"})
    b.model_post_init(None)
    assert a.id != b.id


def test_export_import_round_trip_is_lossless(store, tmp_path):
    store.put([_evidence(i) for i in range(5)])
    store.put([Description(model="m", component=COMPONENT, text="a"), Hypothesis(model="m", component=COMPONENT, statement="s")])
    store.put([Description(model="m", component=COMPONENT, text="b", status="failed", failure_reason="LLM unreachable")])
    first = tmp_path / "a.jsonl"
    assert export_jsonl(store, first) == 8
    fresh = ChromaEvidenceStore(path=tmp_path / "fresh")
    assert import_jsonl(fresh, first) == 8
    second = tmp_path / "b.jsonl"
    export_jsonl(fresh, second)
    assert first.read_text() == second.read_text()


WRITER = """
import sys
from pathlib import Path
from sleuth.memory.chroma_store import ChromaEvidenceStore
from sleuth.memory import Description, Evidence
url_or_path, tag = sys.argv[1], sys.argv[2]
store = ChromaEvidenceStore(url=url_or_path) if url_or_path.startswith("http") else ChromaEvidenceStore(path=Path(url_or_path))
for i in range(0, 60, 10):
    store.put([Evidence(run_id=tag, model="m", component="c", tool="t", args={"i": j}, summary=f"{tag} fires on word{j}")
               for j in range(i, i + 10)])
    store.put([Description(model="m", component="shared", text=f"{tag} description {i}")])  # one component, both writers
    store.search(f"{tag} fires on word{i}", k=3)  # reads between the other process's writes
"""


def test_bad_imports_and_exports_are_one_line_and_store_nothing(store, tmp_path):
    before = store.stats()
    cases = {"list.jsonl": b'[1, 2]\n', "latin1.jsonl": "caf\xe9 records".encode("latin-1"),
             "half.jsonl": b'{"kind": "evidence", "record": {"run_id": "r"}}\n'}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(StoreError) as err:
            import_jsonl(store, tmp_path / name)
        assert "\n" not in str(err.value) and name in str(err.value)
    with pytest.raises(StoreError, match="does not exist"):
        export_jsonl(store, tmp_path / "missing" / "out.jsonl")
    with pytest.raises(StoreError, match="is a folder"):
        export_jsonl(store, tmp_path)
    assert store.stats() == before


def _searches(store) -> dict[str, list[str]]:
    return {q: [h.record.id for h in store.search(q, k=3)]
            for q in (f"writer{n} fires on word{j}" for n in range(2) for j in range(0, 60, 7))}


def test_two_processes_writing_and_searching_at_once_match_one_process(store, tmp_path):
    """Both processes open the store at once (a new one, in embedded mode), write evidence and new versions of one
    component's description, and search between writes. The result equals the same writes made one after the
    other: the same records, the same search results, and every version of the description once."""
    where = store.url or str(tmp_path / "fresh")  # embedded: a store that neither process has created yet
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, where, f"writer{n}"], stderr=subprocess.PIPE, text=True)
             for n in range(2)]
    assert all(p.wait(timeout=300) == 0 for p in procs), [p.stderr.read()[-1500:] for p in procs]
    shared = store if store.url else ChromaEvidenceStore(path=tmp_path / "fresh")
    for n in range(2):  # the reference: the same writes, one process after the other
        assert subprocess.run([sys.executable, "-c", WRITER, str(tmp_path / "sequential"), f"writer{n}"],
                              timeout=300).returncode == 0
    sequential = ChromaEvidenceStore(path=tmp_path / "sequential")
    assert shared.stats()["records"] == sequential.stats()["records"] == 132
    assert _searches(shared) == _searches(sequential)
    versions = [d.version for d in shared.history("shared", "m")]
    assert len(versions) == len(set(versions)) == 12  # each version once (a server may skip a number on a clash)
    if not store.url:
        assert versions == list(range(1, 13))  # embedded: assigned under the write lock, no gaps


def test_crash_replay_writes_no_duplicates(store):
    batch = [_evidence(i, run="replayed") for i in range(10)]
    store.put(batch[:6])  # "crash" after six
    store.put(batch)  # the replay writes everything again
    assert len(store.all("evidence", run_id="replayed")) == 10


def test_unreachable_server_is_a_clear_error():
    with pytest.raises(StoreError, match="cannot reach the Chroma server"):
        ChromaEvidenceStore(url="http://127.0.0.1:9")


def test_corrupt_store_directory_is_a_clear_error(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="corrupt or unreadable"):
        ChromaEvidenceStore(path=tmp_path / "bad")


def test_older_schema_is_migrated_and_newer_refused(tmp_path):
    import chromadb
    from chromadb.config import Settings

    from sleuth.memory.embedding import MiniLMEmbedding

    path = tmp_path / "old"
    client = chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))
    old = client.create_collection(COLLECTION, embedding_function=MiniLMEmbedding(), metadata={"sleuth_schema": 0})
    v0 = {"id": "ev-old", "run_id": "r", "model": "m", "component": "c", "tool": "t", "summary": "old", "hypotheses": ["hy-1"]}
    old.add(ids=["ev-old"], documents=["old"], metadatas=[{"kind": "evidence", "record": json.dumps(v0)}])
    del client
    store = ChromaEvidenceStore(path=path)
    migrated = store.get("ev-old")
    assert migrated.schema_version == 1 and migrated.hypothesis_ids == ["hy-1"]
    store.collection.modify(metadata={"sleuth_schema": 99})
    with pytest.raises(StoreError, match="schema 99"):
        ChromaEvidenceStore(path=path)


def test_ids_are_content_derived():
    a, b = _evidence(1), _evidence(1)
    assert a.id == b.id and a.id != _evidence(2).id
    assert uuid.UUID(int=0)  # ids are not random uuids
