"""The EvidenceStore protocol: what every memory backend provides."""

from __future__ import annotations

from typing import Protocol

from sleuth.errors import SleuthError
from sleuth.memory.records import Description, Evidence, Hypothesis, Record, RecordKind


class StoreError(SleuthError):
    """The store is unreachable, corrupt, of another schema version, or has no such record."""


class Hit:
    def __init__(self, record: Record, score: float):
        self.record, self.score = record, score

    def __repr__(self) -> str:
        return f"Hit({self.record.id}, {self.score:.3f})"


class EvidenceStore(Protocol):
    def put(self, records: list[Record], keep_versions: bool = False) -> list[str]:
        """Upsert records (idempotent); descriptions get their per-component version."""

    def get(self, record_id: str) -> Record | None: ...

    def search(self, query: str, k: int = 10, kind: RecordKind | None = None, **filters: str) -> list[Hit]:
        """Semantic search with metadata filters: model, component, tool, run_id, status."""

    def about(self, component: str, model: str | None = None, query: str | None = None) -> list[Record]:
        """Everything known about a component, ranked: descriptions, hypotheses, evidence."""

    def history(self, component: str, model: str | None = None) -> list[Description]: ...

    def all(self, kind: RecordKind | None = None) -> list[Record]: ...

    def stats(self) -> dict: ...


__all__ = ["Description", "EvidenceStore", "Evidence", "Hit", "Hypothesis", "StoreError"]
