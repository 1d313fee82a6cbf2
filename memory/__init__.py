"""Evidence memory: records, the EvidenceStore protocol and its Chroma implementation."""

from pathlib import Path

from sleuth.memory.records import SCHEMA_VERSION, Description, Evidence, Hypothesis
from sleuth.memory.store import EvidenceStore, Hit, StoreError


def open_store(home: Path, chroma_url: str | None = None, path: Path | None = None):
    """The configured store: a Chroma server when chroma_url is set, else an embedded store."""
    from sleuth.memory.chroma_store import ChromaEvidenceStore

    if chroma_url:
        return ChromaEvidenceStore(url=chroma_url)
    return ChromaEvidenceStore(path=path or home / "memory")


__all__ = ["SCHEMA_VERSION", "Description", "Evidence", "EvidenceStore", "Hit", "Hypothesis", "StoreError", "open_store"]
