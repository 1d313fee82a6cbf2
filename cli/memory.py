"""`sleuth memory`: search, show, history, export, import and stats of the evidence store."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from sleuth.cli.output import console, emit_json, err_console

app = typer.Typer(help="The evidence memory (Chroma): embedded under SLEUTH_HOME, or SLEUTH_CHROMA_URL.",
                  no_args_is_help=True)


def _store():
    from sleuth.config import load_settings
    from sleuth.memory import open_store

    settings = load_settings()
    return open_store(settings.home, settings.chroma_url)


def _row(record) -> dict:
    text = getattr(record, "summary", None) or getattr(record, "statement", None) or getattr(record, "text", "")
    return {"id": record.id, "kind": type(record).__name__.lower(), "component": record.component, "text": text}


@app.command("search")
def search(
    query: str,
    component: str = typer.Option(None, "--component", "-c", help="Only this component (site string)."),
    model: str = typer.Option(None, "--model", "-m"),
    tool: str = typer.Option(None, "--tool"),
    run_id: str = typer.Option(None, "--run"),
    kind: str = typer.Option(None, "--kind", help="evidence, hypothesis or description"),
    k: int = typer.Option(10, "-k", min=1, help="How many hits."),
    json_out: bool = typer.Option(False, "--json"),
):
    """Semantic search with metadata filters."""
    hits = _store().search(query, k=k, kind=kind, component=component, model=model, tool=tool, run_id=run_id)
    rows = [{**_row(h.record), "score": round(h.score, 4)} for h in hits]
    if json_out:
        return emit_json(rows)
    table = Table("score", "id", "kind", "component", "text")
    for r in rows:
        table.add_row(f"{r['score']:.3f}", r["id"], r["kind"], r["component"], r["text"][:80])
    console.print(table)


@app.command("show")
def show(record_id: str, json_out: bool = typer.Option(False, "--json")):
    """One record, whole."""
    from sleuth.memory import StoreError

    record = _store().get(record_id)
    if record is None:
        raise StoreError(f"no record with id '{record_id}'")
    if json_out:
        return emit_json(record)
    console.print(record.model_dump())


@app.command("history")
def history(component: str, model: str = typer.Option(None, "--model", "-m"),
            json_out: bool = typer.Option(False, "--json")):
    """Every description version of a component, plus what else is known about it."""
    store = _store()
    records = store.about(component, model)
    if json_out:
        return emit_json([r.model_dump(mode="json") for r in records])
    if not records:
        console.print(f"nothing known about {component}")
    for r in records:
        row = _row(r)
        extra = f" v{r.version} [{r.status}] {r.scores}" if row["kind"] == "description" else ""
        console.print(f"{row['kind']:<11} {row['id']}{extra}: {row['text'][:100]}", markup=False)


@app.command("export")
def export(path: Path):
    """Write every record to a JSONL file."""
    from sleuth.memory.transfer import export_jsonl

    console.print(f"exported {export_jsonl(_store(), path)} records to {path}")


@app.command("import")
def import_(path: Path):
    """Upsert every record of a JSONL export (idempotent)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from sleuth.memory.transfer import import_jsonl

    store = _store()
    with Progress(TextColumn("[bold]importing"), BarColumn(), MofNCompleteColumn(), console=err_console,
                  transient=True) as bar:
        task = bar.add_task("import", total=None)
        count = import_jsonl(store, path, on_batch=lambda done, total: bar.update(task, completed=done, total=total))
    console.print(f"imported {count} records from {path}")


@app.command("stats")
def stats(json_out: bool = typer.Option(False, "--json")):
    """Record counts by kind and model."""
    data = _store().stats()
    if json_out:
        return emit_json(data)
    console.print(data)
