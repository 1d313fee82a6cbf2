"""The embedded corpus: real human-written text that ships with Python (and Debian).

Domains:
  reference   the prose of the Python language reference (pydoc_data.topics)
  docstrings  docstrings of the standard library, one document per module
  code        standard-library source code, one document per module
  fortunes    Debian fortunes, when /usr/share/games/fortunes exists
  dictionary  Debian dict-gcide definitions, when installed

Built deterministically (sorted files, no randomness); the checksum is recorded.
"""

from __future__ import annotations

import ast
import gzip
import json
import sysconfig
from collections.abc import Iterator
from pathlib import Path

from sleuth.corpus.documents import Corpus, Document

EMBEDDED_VERSION = 1
_SKIP_DIRS = {"test", "tests", "idle_test", "site-packages", "encodings", "ensurepip",
              "pydoc_data", "lib2to3", "__pycache__", "turtledemo"}
FORTUNES = Path("/usr/share/games/fortunes")
GCIDE = Path("/usr/share/dictd/gcide.dict.dz")


def _stdlib_files() -> list[tuple[str, Path]]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if not set(rel.parts[:-1]) & _SKIP_DIRS:
            files.append((rel.as_posix(), path))
    return files


def _reference() -> Iterator[Document]:
    from pydoc_data.topics import topics

    for name in sorted(topics):
        yield Document(id=f"reference:{name}", domain="reference", text=topics[name].strip())


def _docstrings(source: str) -> str:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    parts = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc and len(doc) > 40:
                parts.append(doc.strip())
    return "\n\n".join(parts)


def _stdlib() -> Iterator[Document]:
    for rel, path in _stdlib_files():
        source = path.read_text(encoding="utf-8", errors="replace")
        docs = _docstrings(source)
        if docs:
            yield Document(id=f"docstrings:{rel}", domain="docstrings", text=docs)
        if source.strip():
            yield Document(id=f"code:{rel}", domain="code", text=source)


def _fortunes() -> Iterator[Document]:
    if not FORTUNES.is_dir():
        return
    for path in sorted(FORTUNES.iterdir()):
        if path.is_file() and not path.suffix and not path.is_symlink():
            text = path.read_text(encoding="utf-8", errors="replace")
            if text.strip():
                yield Document(id=f"fortunes:{path.name}", domain="fortunes", text=text.replace("\n%\n", "\n\n"))


def _dictionary() -> Iterator[Document]:
    if not GCIDE.is_file():
        return
    text = gzip.decompress(GCIDE.read_bytes()).decode("utf-8", errors="replace")
    chunk = 20000
    for n, start in enumerate(range(0, len(text), chunk)):
        yield Document(id=f"dictionary:gcide:{n}", domain="dictionary", text=text[start : start + chunk])


def build_embedded() -> Corpus:
    docs = [*_reference(), *_stdlib(), *_fortunes(), *_dictionary()]
    return Corpus("embedded", docs)


def load_embedded(corpus_dir: Path) -> Corpus:
    """The embedded corpus, built once into corpus_dir and reused."""
    folder = corpus_dir / f"embedded-v{EMBEDDED_VERSION}"
    docs_path, manifest_path = folder / "documents.jsonl", folder / "manifest.json"
    if docs_path.is_file() and manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text())
            corpus = Corpus.load_jsonl("embedded", docs_path)
            if corpus.checksum == manifest.get("checksum"):
                return corpus
        except (ValueError, KeyError, OSError):
            pass  # corrupt: rebuild below
    corpus = build_embedded()
    folder.mkdir(parents=True, exist_ok=True)
    corpus.save_jsonl(docs_path)
    manifest_path.write_text(json.dumps(corpus.info().model_dump(), indent=1))
    return corpus
