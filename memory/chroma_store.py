"""Chroma implementation of EvidenceStore: embedded (PersistentClient) or team mode (HttpClient).

One collection holds every record; its document is the searchable text, its metadata
the filter fields plus the full record as JSON. The collection metadata carries the
schema version: an older store is migrated, a newer one refused.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from sleuth.locks import file_lock
from sleuth.memory.embedding import MiniLMEmbedding
from sleuth.memory.migrations import migrate_record
from sleuth.memory.records import (MODEL_OF, SCHEMA_VERSION, Description, Hypothesis, Record, RecordKind,
                                   kind_of, searchable_text)
from sleuth.memory.store import Hit, StoreError

COLLECTION = "sleuth_records"
FILTER_FIELDS = ("model", "component", "tool", "run_id", "status")


def _client(path: Path | None, url: str | None):
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if url:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        try:
            client = chromadb.HttpClient(host=parsed.hostname, port=parsed.port or 8000, settings=settings,
                                         ssl=parsed.scheme == "https")
            client.heartbeat()
        except Exception as exc:
            raise StoreError(f"cannot reach the Chroma server at {url}: {type(exc).__name__}") from None
        return client
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as exc:
        raise StoreError(f"memory store at {path} is corrupt or unreadable ({type(exc).__name__}); "
                         "move it aside or import a JSONL export into a fresh one") from None


class ChromaEvidenceStore:
    _holding = False  # this store holds its write lock (re-entrant: opening migrates under it)

    def __init__(self, path: Path | None = None, url: str | None = None):
        if path is None and url is None:
            raise ValueError("give a store path or a server url")
        self.path, self.url = path, url
        self.embed = MiniLMEmbedding()
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)
        with self._write_lock():  # two processes creating one new store at once: the second waits, then opens it
            self.client = _client(path, url)
            try:
                self.collection = self.client.get_or_create_collection(
                    COLLECTION, embedding_function=self.embed,
                    metadata={"hnsw:space": "cosine", "sleuth_schema": SCHEMA_VERSION})
            except StoreError:
                raise
            except Exception as exc:
                raise StoreError(f"memory store {path or url} is corrupt or unreadable ({type(exc).__name__})") from None
            self._check_schema()

    # ---- integrity -------------------------------------------------------
    @contextmanager
    def _write_lock(self):
        """Serialise writers of one embedded store across processes, opening included. A server has no shared
        file to lock: there, versions are made unique after the write (`_settle_versions`)."""
        if self.path is None or self._holding:
            yield
            return
        with file_lock(self.path / ".sleuth-write.lock"):
            self._holding = True
            try:
                yield
            finally:
                self._holding = False

    def _check_schema(self) -> None:
        found = (self.collection.metadata or {}).get("sleuth_schema", 0)
        if found > SCHEMA_VERSION:
            raise StoreError(f"memory store {self.path or self.url} has schema {found}; this sleuth reads up to "
                             f"{SCHEMA_VERSION}: upgrade sleuth")
        if found < SCHEMA_VERSION:
            self._migrate(found)

    def _migrate(self, found: int) -> None:
        with self._write_lock():
            rows = self.collection.get(include=["metadatas"])
            records = [migrate_record(json.loads(m["record"]), m["kind"], found) for m in rows["metadatas"]]
            if records:
                self._upsert(records)
            self.collection.modify(metadata={"sleuth_schema": SCHEMA_VERSION})

    # ---- writing ---------------------------------------------------------
    def put(self, records: list[Record], keep_versions: bool = False) -> list[str]:
        """Upsert; descriptions get the next version per component unless keep_versions (imports)."""
        if not records:
            return []
        unique = list({r.id: r for r in records}.values())  # the same content twice is one record (last wins)
        versioned = [r for r in unique if isinstance(r, Description) and not keep_versions]
        with self._write_lock():
            self._keep_created(unique)
            for record in versioned:
                self._assign_version(record)
            self._upsert(unique)
        if self.path is None:
            self._settle_versions(versioned)
        return [r.id for r in records]

    def _settle_versions(self, written: list[Description]) -> None:
        """Server mode: two processes may give one component's new descriptions the same version. Every writer
        then runs the same fix over what the store holds: of records sharing a version, the one whose id sorts
        first keeps it and the others move to the next free versions; repeated until each version is held once.
        The later of two writers always sees both records, so a clash never stays (tested with two processes); a
        version number may be skipped when two writers fix the same clash at once."""
        for component, model in {(d.component, d.model) for d in written}:
            while True:
                history = self.history(component, model)
                by_version: dict[int, list[Description]] = {}
                for d in history:
                    by_version.setdefault(d.version, []).append(d)
                movers = sorted((d for same in by_version.values() for d in sorted(same, key=lambda d: d.id)[1:]),
                                key=lambda d: d.id)
                if not movers:
                    break
                top = max(by_version)
                for offset, d in enumerate(movers, start=1):
                    d.version = top + offset
                self._upsert(movers)
        for desc in written:  # what this process wrote, as the store now numbers it
            stored = self.get(desc.id)
            desc.version = stored.version if stored is not None else desc.version

    def _keep_created(self, records: list[Record]) -> None:
        """A replayed record keeps its first timestamp, so re-putting changes nothing."""
        rows = self.collection.get(ids=[r.id for r in records], include=["metadatas"])
        created = {i: json.loads(m["record"])["created"] for i, m in zip(rows["ids"], rows["metadatas"])}
        for record in records:
            if record.id in created:
                record.created = created[record.id]

    def _assign_version(self, desc: Description) -> None:
        existing = self.get(desc.id)
        if existing is not None:
            desc.version = existing.version
            return
        versions = [d.version for d in self.history(desc.component, desc.model)]
        desc.version = max(versions, default=0) + 1

    def _upsert(self, records: list[Record]) -> None:
        metadatas = []
        for r in records:
            meta = {"kind": kind_of(r), "record": r.model_dump_json()}
            for name in FILTER_FIELDS:
                value = getattr(r, name, None)
                if value is not None:
                    meta[name] = value
            metadatas.append(meta)
        self.collection.upsert(ids=[r.id for r in records], documents=[searchable_text(r) for r in records],
                               metadatas=metadatas)

    # ---- reading ---------------------------------------------------------
    @staticmethod
    def _record(meta: dict) -> Record:
        return MODEL_OF[meta["kind"]].model_validate_json(meta["record"])

    def get(self, record_id: str) -> Record | None:
        rows = self.collection.get(ids=[record_id], include=["metadatas"])
        return self._record(rows["metadatas"][0]) if rows["ids"] else None

    @staticmethod
    def _where(kind: RecordKind | None, filters: dict) -> dict | None:
        clauses = [{k: v} for k, v in filters.items() if v is not None]
        if kind is not None:
            clauses.append({"kind": kind})
        unknown = set(filters) - set(FILTER_FIELDS)
        if unknown:
            raise StoreError(f"unknown filter {sorted(unknown)}; filters: {', '.join(FILTER_FIELDS)}")
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def search(self, query: str, k: int = 10, kind: RecordKind | None = None, **filters) -> list[Hit]:
        where = self._where(kind, filters)
        total = self.collection.count()
        if total == 0:
            return []
        rows = self.collection.query(query_texts=[query], n_results=min(total, k * 3), where=where,
                                     include=["metadatas", "documents", "distances"])
        hits, seen = [], set()
        for meta, doc, dist in zip(rows["metadatas"][0], rows["documents"][0], rows["distances"][0]):
            if doc in seen:  # duplicate suppression: same component, tool and summary
                continue
            seen.add(doc)
            hits.append(Hit(self._record(meta), 1.0 - float(dist)))
            if len(hits) == k:
                break
        return hits

    def all(self, kind: RecordKind | None = None, **filters) -> list[Record]:
        rows = self.collection.get(where=self._where(kind, filters), include=["metadatas"])
        return sorted((self._record(m) for m in rows["metadatas"]), key=lambda r: r.id)

    def history(self, component: str, model: str | None = None) -> list[Description]:
        return sorted(self.all("description", component=component, model=model), key=lambda d: d.version)

    def about(self, component: str, model: str | None = None, query: str | None = None) -> list[Record]:
        descriptions = sorted(self.history(component, model), key=lambda d: -d.version)
        order = {"supported": 0, "open": 1, "refuted": 2}
        hypotheses = sorted(self.all("hypothesis", component=component, model=model),
                            key=lambda h: (order[h.status], h.created))
        if query:
            evidence = [h.record for h in self.search(query, k=50, kind="evidence", component=component, model=model)]
        else:
            evidence = sorted(self.all("evidence", component=component, model=model), key=lambda e: e.created,
                              reverse=True)
        return [*descriptions, *hypotheses, *evidence]

    def stats(self) -> dict:
        rows = self.collection.get(include=["metadatas"])
        by_kind: dict[str, int] = {}
        by_model: dict[str, int] = {}
        for meta in rows["metadatas"]:
            by_kind[meta["kind"]] = by_kind.get(meta["kind"], 0) + 1
            by_model[meta.get("model", "?")] = by_model.get(meta.get("model", "?"), 0) + 1
        return {"records": len(rows["ids"]), "by_kind": by_kind, "by_model": by_model,
                "schema_version": SCHEMA_VERSION, "location": self.url or str(self.path)}


__all__ = ["ChromaEvidenceStore", "Hypothesis"]
