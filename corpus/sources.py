"""Open a corpus by spec: "embedded", a .txt file or folder, a .jsonl file, or hf:NAME."""

from __future__ import annotations

from pathlib import Path

from sleuth.corpus.documents import Corpus, Document
from sleuth.corpus.embedded import load_embedded
from sleuth.errors import CorpusError

TEXT_SUFFIXES = {".txt", ".md", ".rst"}


def open_corpus(spec: str, corpus_dir: Path, text_field: str = "text") -> Corpus:
    if spec == "embedded":
        corpus = load_embedded(corpus_dir)
    elif spec.startswith("hf:"):
        corpus = _hf_dataset(spec[3:], text_field)
    else:
        corpus = _local(Path(spec).expanduser(), text_field)
    corpus.documents = [d for d in corpus.documents if d.text.strip()]
    if not corpus.documents:
        raise CorpusError(f"corpus '{spec}' is empty: no non-blank text found")
    return corpus


def _local(path: Path, text_field: str) -> Corpus:
    if not path.exists():
        raise CorpusError(f"corpus path not found: {path}")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES)
        if not files:
            raise CorpusError(f"corpus folder {path} holds no .txt/.md/.rst files")
        docs = [Document(id=f"user:{p.relative_to(path).as_posix()}",
                         domain=p.parent.relative_to(path).as_posix() if p.parent != path else "user",
                         text=p.read_text(encoding="utf-8", errors="replace")) for p in files]
        return Corpus(path.name, docs)
    if path.suffix == ".jsonl":
        try:
            return Corpus.load_jsonl(path.stem, path, text_field)
        except KeyError:
            raise CorpusError(f"{path}: a line has no '{text_field}' field (set --text-field)") from None
        except ValueError as exc:
            raise CorpusError(f"{path}: invalid JSON line: {exc}") from None
    if path.suffix in TEXT_SUFFIXES or not path.suffix:
        text = path.read_text(encoding="utf-8", errors="replace")
        return Corpus(path.stem, [Document(id=f"user:{path.name}", domain="user", text=text)])
    raise CorpusError(f"unsupported corpus file {path}: use .txt, .md, .jsonl or a folder")


def _hf_dataset(name: str, text_field: str) -> Corpus:
    try:
        import datasets
    except ImportError:
        raise CorpusError("hf: corpora need the 'datasets' package: pip install datasets") from None
    try:
        data = datasets.load_dataset(name, split="train")
    except Exception as exc:  # hub unreachable, unknown name
        raise CorpusError(f"cannot load HF dataset '{name}': {str(exc).splitlines()[0]}") from None
    docs = [Document(id=f"hf:{name}:{i}", domain=name, text=row[text_field]) for i, row in enumerate(data)]
    return Corpus(name, docs)
