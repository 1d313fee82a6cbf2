"""Corpus documents and their deterministic checksum."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from pydantic import BaseModel

from sleuth.errors import CorpusError


class Document(BaseModel):
    id: str  # stable: "<domain>:<source>"
    domain: str
    text: str


class CorpusInfo(BaseModel):
    name: str
    documents: int
    characters: int
    domains: dict[str, int]  # domain -> documents
    checksum: str
    tokens: int | None = None
    domain_tokens: dict[str, int] | None = None


class Corpus:
    """An ordered list of documents with a content checksum."""

    def __init__(self, name: str, documents: list[Document]):
        self.name = name
        self.documents = documents
        digest = hashlib.sha256()
        for doc in documents:
            digest.update(doc.id.encode() + b"\0" + doc.text.encode() + b"\0")
        self.checksum = digest.hexdigest()

    def info(self) -> CorpusInfo:
        return CorpusInfo(
            name=self.name,
            documents=len(self.documents),
            characters=sum(len(d.text) for d in self.documents),
            domains=dict(sorted(Counter(d.domain for d in self.documents).items())),
            checksum=self.checksum,
        )

    def save_jsonl(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        with tmp.open("w") as f:
            for doc in self.documents:
                f.write(json.dumps(doc.model_dump()) + "\n")
        tmp.replace(path)

    @classmethod
    def load_jsonl(cls, name: str, path: Path, text_field: str = "text") -> "Corpus":
        docs = []
        with path.open() as f:
            for n, line in enumerate(f):
                if line.strip():
                    row = json.loads(line)
                    if not isinstance(row, dict):
                        raise CorpusError(f"{path}: line {n + 1} is a JSON {type(row).__name__}, not an object "
                                          f"with a '{text_field}' field")
                    if not isinstance(row.get(text_field), str):
                        raise CorpusError(f"{path}: line {n + 1} has no '{text_field}' field of text (set --text-field)")
                    docs.append(Document(id=row.get("id", f"{path.name}:{n}"), domain=row.get("domain", "user"),
                                         text=row[text_field]))
        return cls(name, docs)
