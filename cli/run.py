"""`sleuth run`: the main job on the embedded defaults (what `make run` runs)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from sleuth.cli.output import console, emit_json


def run(
    model: str = typer.Option(None, "--model", "-m", help="Target model (default: configured)."),
    layer: int = typer.Option(3, help="MLP layer whose neurons are surveyed."),
    windows: int = typer.Option(128, help="Corpus windows to scan."),
    out: Path = typer.Option(None, help="Run folder (default: runs/<timestamp>)."),
    json_out: bool = typer.Option(False, "--json", help="Print the run as JSON."),
):
    """Survey the target with real experiments and write a versioned run file."""
    from sleuth.config import load_settings
    from sleuth.jobs.survey import SurveySpec, run_survey
    from sleuth.target import load_target
    from sleuth.tools import ToolContext

    settings = load_settings()
    from sleuth.memory import open_store

    with console.status("loading target model, corpus and evidence store"):
        store = open_store(settings.home, settings.chroma_url)
        target = load_target(model or settings.model)
        ctx = ToolContext(target=target, home=settings.home, corpus_spec=settings.corpus)
        target.check_site(f"blocks.{layer}.mlp.hook_post")
        ctx.windows  # build (or load) the token windows now
    if not json_out:
        s = target.shape
        console.print(f"[bold]{target.name}[/] ({s.arch}, {s.n_layers} layers, {s.n_heads} heads); corpus "
                      f"{ctx.corpus.name} ({len(ctx.windows)} windows, checksum {ctx.corpus.checksum[:12]})")
    out = out or Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")

    def show(name, result):
        if not json_out:
            console.rule(f"{name} ({result.seconds:.1f}s)")
            console.print(result.summary, highlight=False, markup=False)

    with console.status("running experiments (the first corpus scan takes a minute; later runs use the cache)"):
        result = run_survey(ctx, SurveySpec(model=target.name, layer=layer, n_windows=windows), out, show, store)
    if json_out:
        return emit_json(result)
    console.print(f"\nwrote {out / 'run.json'} ({len(result.steps)} experiments, {result.seconds:.0f}s); "
                  f"{len(result.evidence_ids)} evidence records in memory ({store.stats()['location']})")
    console.print("inspect them with: sleuth memory search \"induction\"  or  sleuth memory history blocks.18.attn.hook_z[6]")
