"""`sleuth label`: batch auto-labeling of SAE latents, MLP neurons, attention heads and synthetic units."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import typer

from sleuth.cli.output import console, emit_json, err_console


def _spec_parts(preset: str, scorers: str | None, induce: bool | None = None):
    from sleuth.label.spec import choose_preset

    return choose_preset(preset, [n.strip() for n in scorers.split(",") if n.strip()] if scorers else None, induce)


def _progress_line(totals: dict) -> str:
    rate = totals["labels_per_hour"]
    share = totals["validated_share"]
    return (f"{rate if rate is not None else '-'} labels/h · {totals['llm_tokens']} LLM tokens · "
            f"{share:.0%} validated" if share is not None else "starting")


app = typer.Typer(help="Batch auto-labeling of SAE latents, neurons, heads and synthetic units; exports.",
                  invoke_without_command=True)
export_app = typer.Typer(help="Send a finished label run to another tool.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@app.callback(invoke_without_command=True)
def label(
    context: typer.Context,
    model: str = typer.Option(None, "--model", "-m", help="Target model (default: configured)."),
    sae: str = typer.Option(None, "--sae", help="SAE (registry name or folder) whose latents are labeled."),
    site: str = typer.Option(None, "--site", help="Or a whole site: blocks.3.mlp.hook_post (neurons), "
                             "blocks.18.attn.hook_z (one item per head), synthetic.<suite>.<name>."),
    latents: str = typer.Option(None, "--latents", help="Units: a range 0:200 or a list 3,17,99 (default: 0:20)."),
    out: Path = typer.Option(None, "--out", help="Output folder: a new one, or this run's own with --resume."),
    llm: str = typer.Option(None, "--llm", help="OpenAI-compatible base URL (default: SLEUTH_LLM_BASE_URL, "
                            "else the embedded llama.cpp server)."),
    llm_model: str = typer.Option(None, "--llm-model", help="Model name at that endpoint."),
    concurrency: int = typer.Option(2, "--concurrency", min=1, max=64, help="Items in flight (LLM calls and forwards)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out: redo only unfinished items."),
    scorers: str = typer.Option(None, "--scorers", help="Comma-separated scorer names (default: the preset's)."),
    preset: str = typer.Option("sleuth", "--preset", help="sleuth (cheap, with rules) or delphi (Delphi's defaults)."),
    refine: bool = typer.Option(True, "--refine/--no-refine", help="Send items below threshold to the agent's "
                                "rule refinement (tests its own texts, revises, re-scores on the same test windows)."),
    exact_first: bool = typer.Option(False, "--exact-first/--all-scorers", help="Skip the judges of a label whose rule "
                                     "already failed on the test windows (cheaper; their Delphi score files are then absent)."),
    induce: bool = typer.Option(None, "--induce/--no-induce", help="Let code's rule search compete with the LLM's "
                                "draft (default: the preset's; sleuth on, delphi off)."),
    rounds: int = typer.Option(1, "--rounds", min=0, max=5, help="Refinement rounds per item."),
    synthetic: list[Path] = typer.Option(None, "--synthetic", help="A suite whose components become synthetic sites."),
    ray: str = typer.Option(None, "--ray", help="Label on a Ray cluster at this address (the optional ray extra); "
                            "--concurrency workers, each with its own target."),
    json_out: bool = typer.Option(False, "--json", help="Print the run's totals as JSON."),
):
    """Label many units: explain from the explain split, score on held-out documents, refine, write DIR.
    `sleuth label export ...` sends a finished run to another tool."""
    if context.invoked_subcommand is not None:
        return
    if out is None:
        raise typer.BadParameter("missing option '--out'", param_hint="'--out'")
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from sleuth.config import load_settings
    from sleuth.label import outdir
    from sleuth.label.spec import build_spec
    from sleuth.label.items import LabelInputError, items_for, parse_units
    from sleuth.label.run import LabelRun
    from sleuth.llm import llm_config
    from sleuth.llm.endpoint import llm_session
    from sleuth.label.setup import WorkerSetup, open_target
    from sleuth.memory import open_store
    from sleuth.tools import ToolContext

    if (sae is None) == (site is None):
        raise LabelInputError("give exactly one of --sae NAME or --site SITE")
    chosen = _spec_parts(preset, scorers, induce)
    outdir.check(out, None, resume)
    settings = load_settings()
    quiet = json_out
    setup = WorkerSetup(model=model or settings.model, sae=sae, site=site, synthetic=[str(p) for p in synthetic or []],
                        home=str(settings.home), corpus=settings.corpus, llm_timeout_s=settings.llm.timeout_s,
                        llm_retries=settings.llm.max_retries)
    with console.status("loading the target model") if not quiet else nullcontext():
        opened = open_target(setup)
        target, whole = opened.target, opened.site
        units = parse_units(latents, opened.width)
        items = items_for(whole, units)
    cfg = llm_config(llm or settings.llm.base_url, llm_model or settings.llm.model, settings.llm.timeout_s,
                     settings.llm.max_retries, trusted_url=bool(llm) or settings.llm.base_url_trusted)
    with console.status("connecting to the LLM") if not quiet else nullcontext():
        session = llm_session(cfg, settings.home, settings.llm.local_model)
        client = session.__enter__()
    try:
        client.schema_mode()  # an unreachable endpoint or a bad key: one line, before anything is written
        spec = build_spec(target.name, sae or str(whole), "sae" if sae else "site", units, preset, chosen,
                          settings.agent, refine, rounds, client.model, exact_first)
        with outdir.held(out, spec, resume):
            setup = setup.model_copy(update={"llm_base_url": client.cfg.base_url, "llm_model": client.model,
                                             "llm_url_trusted": bool(llm) or settings.llm.base_url_trusted})
            embed = None
            if "embedding" in chosen.scorers:
                from sleuth.memory.embedding import MiniLMEmbedding

                embed = MiniLMEmbedding()
            store = open_store(settings.home, settings.chroma_url)
            ctx = ToolContext(target=target, home=settings.home, corpus_spec=settings.corpus)
            columns = [TextColumn("[bold]labeling"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                       TextColumn("{task.fields[line]}")]
            with Progress(*columns, console=err_console, disable=quiet, transient=False) as progress:
                bar = progress.add_task("label", total=len(items), line="scanning the corpus (cached after the first run)")

                def on_item(record, totals):
                    progress.update(bar, completed=totals["done"], line=_progress_line(totals))

                run = LabelRun(spec=spec, out=out, ctx=ctx, site=whole, items=items, llm=client, store=store, embed=embed,
                               concurrency=concurrency, neuronpedia_id=opened.neuronpedia_id, on_item=on_item,
                               ray_address=ray, setup=setup)
                totals = run.run()
                progress.update(bar, completed=totals["done"])
    finally:
        session.__exit__(None, None, None)
    if json_out:
        return emit_json({**totals, "out": str(out)})
    console.print(f"{totals['done']}/{totals['items']} items: [green]{totals['validated']} validated[/], "
                  f"[yellow]{totals['rejected']} rejected[/], [red]{totals['failed']} failed[/]; "
                  f"{totals['llm_tokens']} LLM tokens ({totals['tokens_per_validated']} per validated label); "
                  f"{totals['resumed']} resumed")
    console.print(f"wrote {out}/labels.jsonl, neuronpedia.jsonl, explanations/, scores/, summary.html")



@export_app.command("neuronpedia")
def export_neuronpedia(
    run_dir: Path = typer.Argument(..., help="A label run's folder (--out of sleuth label)."),
    model_id: str = typer.Option(None, "--model-id", help="Neuronpedia's model id (default: the run's model)."),
    source_set: str = typer.Option(None, "--source-set", help="Neuronpedia's source set, e.g. res-jb (default: the "
                                   "SAE's Neuronpedia id, else its name); the source is <layer>-<source set>."),
    out: Path = typer.Option(None, "--out", help="The batch file (default: RUN_DIR/neuronpedia_batch.json)."),
    upload: bool = typer.Option(False, "--upload", help="Send it with the neuronpedia package (needs "
                                "NEURONPEDIA_API_KEY; SLEUTH_NEURONPEDIA_URL for another instance)."),
    json_out: bool = typer.Option(False, "--json", help="Print what was written (and sent) as JSON."),
):
    """Build Neuronpedia's upload batch from a label run: every label (validated or not, the method says which),
    its scores, density and held-out activating windows with their quantiles; --upload sends it."""
    from sleuth.label import neuronpedia, outdir

    run = outdir.read_run(run_dir)
    model_id = model_id or run.spec.model
    lines = run.explanation_lines
    source = lines[0]["source"] if lines else None
    if source_set:
        layer = (source or "0-").partition("-")[0]
        source = f"{layer}-{source_set}"
    if source is None:
        raise neuronpedia.NeuronpediaError(f"{run_dir} has no labeled unit to export")
    path = out or run_dir / "neuronpedia_batch.json"
    data = neuronpedia.write_batch(path, run.records, model_id, source)
    replies = neuronpedia.upload(path) if upload else []
    counts = {status: sum(s["status"] == status for s in data["sleuth"]) for status in ("validated", "rejected")}
    summary = {"batch": str(path), "modelId": model_id, "source": source, "features": len(data["features"]),
               **counts, "uploaded": len(data["features"]) if upload else 0, "requests": len(replies)}
    if json_out:
        return emit_json(summary)
    console.print(f"wrote {path}: {summary['features']} features ({counts['validated']} validated, "
                  f"{counts['rejected']} rejected) for {model_id} / {source}")
    if upload:
        console.print(f"uploaded {summary['features']} features in {len(replies)} request(s)")


@app.command("eval")
def eval_split(
    run_dir: Path = typer.Argument(..., help="A finished label run's folder."),
    synthetic: list[Path] = typer.Option(None, "--synthetic", help="The suites a synthetic run's units came from."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary and every label's eval scores as JSON."),
):
    """Score a finished run's labels on the eval split: documents neither its explainer nor its own scoring read.
    Exact, no LLM: each label's rule and the rule its words were read back as, on eval windows of the same unit."""
    from sleuth.config import load_settings
    from sleuth.label import outdir
    from sleuth.label.eval_split import score_run, summary
    from sleuth.label.setup import WorkerSetup, open_target
    from sleuth.tools import ToolContext

    run = outdir.read_run(run_dir)
    settings = load_settings()
    sae = run.spec.source if run.spec.source_kind == "sae" else None
    setup = WorkerSetup(model=run.spec.model, sae=sae, site=None if sae else run.spec.source,
                        synthetic=[str(p) for p in synthetic or []], home=str(settings.home), corpus=settings.corpus)
    with console.status("loading the target model") if not json_out else nullcontext():
        opened = open_target(setup)
    ctx = ToolContext(target=opened.target, home=settings.home, corpus_spec=settings.corpus)
    with console.status("scoring on the eval split") if not json_out else nullcontext():
        scores = score_run(ctx, run, opened.site)
    totals = summary(scores, run.spec.thresholds, run.spec.default_threshold)
    if json_out:
        return emit_json({**totals, "items": [s.model_dump() for s in scores]})
    console.print(f"{totals['labels']} labels on the eval split: rule F1 {totals['mean_rule_eval']}, read-back F1 "
                  f"{totals['mean_read_back_eval']}; {totals['validated_still_pass']} of {totals['validated']} validated "
                  "labels still pass")
