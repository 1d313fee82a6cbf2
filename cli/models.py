"""`sleuth models`: list embedded targets and describe one."""

from __future__ import annotations

import typer
from rich.table import Table

from sleuth.cli.output import console, emit_json

app = typer.Typer(help="Target models: embedded names, shapes and sites.", no_args_is_help=True)


@app.command("list")
def list_models(json_out: bool = typer.Option(False, "--json", help="Print JSON.")):
    """The embedded model names and whether each is installed."""
    from sleuth.target.embedded import EMBEDDED

    rows = [{"name": m.name, "arch": m.arch, "installed": m.installed(), "packages": list(m.pip_names),
             "description": m.description} for m in EMBEDDED.values()]
    if json_out:
        return emit_json(rows)
    table = Table("name", "arch", "installed", "description")
    for r in rows:
        table.add_row(r["name"], r["arch"], "yes" if r["installed"] else "no", r["description"])
    console.print(table)


@app.command("info")
def info(
    name: str = typer.Argument(..., help="Embedded name, local directory, .gguf file or HF id."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Shape, architecture, site list and load time of a model."""
    from sleuth.config import load_settings
    from sleuth.target import load_target

    target = load_target(name, load_settings().home)
    data = {**target.shape.model_dump(), "name": target.name, "source": target.source,
            "load_seconds": round(target.load_seconds, 3), "sites": [str(s) for s in target.hook_sites()]}
    if json_out:
        return emit_json(data)
    table = Table("field", "value", show_header=False)
    for key, value in data.items():
        if key != "sites":
            table.add_row(key, str(value))
    table.add_row("sites", f"{len(data['sites'])} hook points, e.g. {', '.join(data['sites'][:4])}, ...")
    console.print(table)


@app.command("site")
def site(
    name: str = typer.Argument(..., help="Model name or path."),
    site_text: str = typer.Argument(..., metavar="SITE", help="e.g. blocks.3.attn.hook_z[5] or L3N100."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Validate a site on a model and show what it addresses."""
    from sleuth.config import load_settings
    from sleuth.target import load_target

    target = load_target(name, load_settings().home)
    parsed = target.check_site(site_text)
    data = {"site": str(parsed), "short": parsed.short, "hook": parsed.hook, "layer": parsed.layer,
            "index": parsed.index, "index_kind": parsed.index_kind,
            "index_range": target.index_range(parsed) if parsed.index_kind else None,
            "module": target.adapter.hookpoint(parsed).module}
    if json_out:
        return emit_json(data)
    console.print(data)
