"""`sleuth corpus`: describe a corpus."""

from __future__ import annotations

import typer
from rich.table import Table

from sleuth.cli.output import console, emit_json

app = typer.Typer(help="Corpora: the embedded real-text corpus or your own.", no_args_is_help=True)


@app.command("info")
def info(
    path: str = typer.Argument("embedded", help="'embedded', a .txt file or folder, a .jsonl file, or hf:NAME."),
    model: str = typer.Option(None, "--model", "-m", help="Count tokens with this model's tokenizer."),
    text_field: str = typer.Option("text", help="Text field of .jsonl rows."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Documents, tokens, domains and checksum of a corpus."""
    from sleuth.config import load_settings
    from sleuth.corpus import open_corpus
    from sleuth.corpus.windows import token_counts
    from sleuth.target import load_target

    settings = load_settings()
    corpus = open_corpus(path, settings.corpus_dir, text_field)
    data = corpus.info()
    target = load_target(model or settings.model, settings.home)
    data.domain_tokens = token_counts(corpus, target.tokenizer)
    data.tokens = sum(data.domain_tokens.values())
    if json_out:
        return emit_json(data)
    table = Table("domain", "documents", "tokens")
    for domain, docs in data.domains.items():
        table.add_row(domain, str(docs), f"{data.domain_tokens.get(domain, 0):,}")
    console.print(table)
    console.print(f"{data.documents} documents, {data.tokens:,} tokens ({target.name}), checksum {data.checksum[:16]}")
