"""`sleuth tools`: list, show schemas, and run any registered tool."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from sleuth.cli.output import console, emit_json

app = typer.Typer(help="Experiment tools from the one registry.", no_args_is_help=True)


@app.command("list")
def list_tools(json_out: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Every registered tool with its description."""
    from sleuth.tools import load_all

    tools = load_all()
    rows = [{"name": t.name, "description": t.description} for t in sorted(tools.values(), key=lambda t: t.name)]
    if json_out:
        return emit_json(rows)
    table = Table("tool", "description")
    for r in rows:
        table.add_row(r["name"], r["description"])
    console.print(table)


@app.command("schema")
def schema(name: str, model: str = typer.Option(None, "--model", "-m", help="Specialise ranges to this model.")):
    """The JSON schema of a tool's arguments (bounded to MODEL's layers, heads and sites)."""
    from sleuth.tools import get_tool
    from sleuth.tools.schema import tool_schema

    spec = get_tool(name)
    target = None
    if model:
        from sleuth.config import load_settings
        from sleuth.target import load_target

        target = load_target(model, load_settings().home)
    emit_json(tool_schema(spec, target))


@app.command("run")
def run(
    name: str,
    args: str = typer.Option("{}", "--args", "-a", help="Tool arguments as a JSON object."),
    model: str = typer.Option(None, "--model", "-m", help="Target model (default: configured)."),
    corpus: str = typer.Option(None, "--corpus", help="Corpus for tools that scan one."),
    seed: int = typer.Option(0, min=0, help="Seed for sampling."),
    sae: list[str] = typer.Option(None, "--sae", help="Load an SAE (registry name or folder); repeatable."),
    synthetic: list[Path] = typer.Option(None, "--synthetic", help="A suite folder or YAML file: its components "
                                         "become sites synthetic.<suite>.<name>; repeatable."),
    json_out: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
):
    """Run one tool on a model: `sleuth tools run ablate -m smollm2-135m --args '{...}' --json`."""
    from sleuth.config import load_settings
    from sleuth.predicates.suite import attach_suite
    from sleuth.target import load_target
    from sleuth.tools import ToolContext, ToolError, get_tool, run_tool
    from sleuth.sae.library import load_sae
    from sleuth.tools.registry import validate_args

    try:
        parsed = json.loads(args)
    except json.JSONDecodeError as exc:
        raise ToolError(f"--args is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ToolError("--args must be a JSON object")
    spec = get_tool(name)
    validated = validate_args(spec, parsed)  # fail before loading a model
    settings = load_settings()
    target = load_target(model or settings.model, settings.home)
    for spec in sae or []:
        load_sae(spec, target, settings.home)
    for suite in synthetic or []:
        attach_suite(target, suite)
    ctx = ToolContext(target=target, home=settings.home, corpus_spec=corpus or settings.corpus, seed=seed)
    result = run_tool(name, validated, ctx)
    if json_out:
        return emit_json(result)
    console.print(f"[bold]{name}[/] ({result.seconds:.1f}s)")
    console.print(result.summary, highlight=False, markup=False)
