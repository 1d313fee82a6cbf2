"""`sleuth sae`: train, evaluate, list and inspect sparse dictionaries (SAE-Lens format)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from sleuth.cli.output import console, emit_json, err_console

app = typer.Typer(help="Sparse autoencoders, transcoders and hook_z SAEs: train, eval, list.", no_args_is_help=True)


@contextmanager
def training_bar(label: str, quiet: bool = False):
    """A rich bar fed with train.Progress updates: tokens/s, loss, L0, dead latents."""
    if quiet:
        yield lambda p: None
        return
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} tok"),
                   TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TimeRemainingColumn(), console=err_console)
    with bar:
        task = bar.add_task(label, total=1, stats="")

        def update(p):
            s = p.stats
            stats = (f"{p.tokens_per_s:,.0f} tok/s  loss {s['loss']:.3g}  FVU {s['fvu']:.3f}  "
                     f"L0 {s['l0']:.1f}  dead {s['dead']}")
            bar.update(task, completed=p.tokens, total=p.total, stats=stats)

        yield update


def _model_and_home(model: str | None):
    from sleuth.config import load_settings
    from sleuth.target import load_target

    settings = load_settings()
    return load_target(model or settings.model, settings.home), settings


@app.command("train")
def train(
    site: str = typer.Option(..., "--site", help="Whole site, e.g. blocks.6.hook_resid_post, blocks.6.attn.hook_z; "
                             "for --arch transcoder blocks.6.ln2.hook_normalized"),
    out: Path = typer.Option(..., "--out", help="Folder to write the SAE to (SAE-Lens format)."),
    model: str = typer.Option(None, "--model", "-m", help="Target model (default: configured)."),
    arch: str = typer.Option("topk", "--arch", help="standard (ReLU + L1), topk, jumprelu, gated or transcoder."),
    width: int = typer.Option(4096, "--width", help="Number of latents."),
    k: int = typer.Option(32, "--k", help="Active latents per token (topk)."),
    tokens: str = typer.Option("2M", "--tokens", help="Training tokens, e.g. 2M, 500k."),
    lr: float = typer.Option(None, "--lr", help="Adam learning rate (default: the architecture's; 4e-3 for topk, 1e-3 otherwise)."),
    sparsity: float = typer.Option(None, "--sparsity", help="The architecture's sparsity penalty coefficient: L1 (standard, "
                                   "gated, transcoder) or L0 (jumprelu); topk has none."),
    batch: int = typer.Option(1024, "--batch", help="Tokens per optimiser step."),
    seed: int = typer.Option(0, "--seed"),
    checkpoint_every: int = typer.Option(50, "--checkpoint-every", help="Steps between checkpoints."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the checkpoint next to --out."),
    json_out: bool = typer.Option(False, "--json", help="Print the training record as JSON."),
):
    """Train a dictionary on activations streamed from the corpus (explain split)."""
    import json

    from sleuth.sae.library import corpus_rows
    from sleuth.sae.train import TRAINING_FILE, TrainSpec, parse_tokens, train_dictionary, training_sites

    from sleuth.sae.architectures import get_architecture

    get_architecture(arch)  # an unknown one: one line naming the known ones
    spec = TrainSpec(site=site, arch=arch, width=width, k=k, tokens=parse_tokens(tokens), lr=lr, sparsity=sparsity,
                     batch=batch, seed=seed, checkpoint_every=checkpoint_every)
    target, settings = _model_and_home(model)
    training_sites(target, spec)  # a bad site fails before the progress bar appears
    rows, checksum = corpus_rows(target, settings.home, settings.corpus)
    with training_bar(f"{arch} {site}", quiet=json_out) as update:
        train_dictionary(target, rows, spec, out, resume=resume, model_name=target.name, corpus_checksum=checksum,
                         on_progress=update)
    record = json.loads((out / TRAINING_FILE).read_text())
    if json_out:
        return emit_json({"path": str(out), **record})
    final = record["final"]
    console.print(f"wrote {out}: {record['tokens']:,} tokens, FVU {final['fvu']:.3f} (last batch), L0 {final['l0']:.1f}, "
                  f"dead {final['dead']}; evaluate with `sleuth sae eval {out}`")


@app.command("eval")
def evaluate(
    sae: str = typer.Argument(..., help="SAE folder or registry name."),
    model: str = typer.Option(None, "--model", "-m", help="Target model (default: configured)."),
    windows: int = typer.Option(128, "--windows", min=1, help="Held-out corpus windows (64 tokens each)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """L0, FVU, CE loss recovered (vs zero ablation), dead latents and density on held-out windows."""
    from sleuth.sae.evaluate import evaluate_dictionary
    from sleuth.sae.library import corpus_rows, load_sae

    target, settings = _model_and_home(model)
    name, dictionary = load_sae(sae, target, settings.home)
    rows, _ = corpus_rows(target, settings.home, settings.corpus, split="heldout")
    if len(rows) == 0:
        from sleuth.sae.dictionary import SaeError

        raise SaeError("the corpus has no held-out windows to evaluate on")
    rows = rows[:windows]
    with Progress(TextColumn("[bold]evaluating"), BarColumn(), TextColumn("{task.completed}/{task.total} batches"),
                  TimeElapsedColumn(), console=err_console, transient=True, disable=json_out) as bar:
        task = bar.add_task("eval", total=None)
        result = evaluate_dictionary(target, dictionary, target.sae_sites[name], rows, name=name,
                                     progress=lambda done, total: bar.update(task, completed=done, total=total))
    if json_out:
        return emit_json(result)
    table = Table("metric", "value", title=f"{name} on {result.site} ({result.tokens:,} held-out tokens)")
    for key in ("l0", "fvu", "ce_loss_recovered", "ce_clean", "ce_spliced", "ce_zero_ablation", "dead_fraction"):
        table.add_row(key, f"{getattr(result, key):.4f}")
    console.print(table)
    console.print("latent density (log10 freq): " + " ".join(str(c) for c in result.density.counts)
                  + f"; never fired {result.density.never_fired}")


@app.command("list")
def list_saes(json_out: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Registered SAEs and whether each is on this machine."""
    from sleuth.config import load_settings
    from sleuth.sae.format import CFG_FILE
    from sleuth.sae.registry import known_saes

    home = load_settings().home
    rows = []
    for entry in known_saes().entries.values():
        path = entry.local_path(home)
        rows.append({**entry.model_dump(exclude_none=True), "available": bool(path and (path / CFG_FILE).is_file()),
                     "local_path": str(path) if path else None})
    if json_out:
        return emit_json(rows)
    console.print(sae_table(rows, console.width))
    if console.width < WIDE_TABLE:  # a narrow terminal: the descriptions below the table, each on its own lines
        for r in rows:
            console.print(f"[bold]{r['name']}[/]: {r['description']}")
    console.print("here: the weights are under SLEUTH_HOME (no: trained on first use)", style="dim")


WIDE_TABLE = 140  # narrower terminals get the descriptions below the table, not squeezed into a column


def sae_table(rows: list[dict], width: int) -> Table:
    """The key columns whole (never cut or wrapped); the description a column only when there is room for it."""
    table = Table(box=None, pad_edge=False)
    keys = [("name", "name"), ("model", "model"), ("site", "site"), ("arch", "architecture"), ("here", "available")]
    for title, _ in keys:
        table.add_column(title, no_wrap=True, overflow="ignore")
    if width >= WIDE_TABLE:
        table.add_column("description", ratio=1)
    for r in rows:
        cells = [str(r[key]) if key != "available" else ("yes" if r[key] else "no") for _, key in keys]
        table.add_row(*cells, *([r["description"]] if width >= WIDE_TABLE else []))
    return table


@app.command("default")
def default(model: str = typer.Option(None, "--model", "-m", help="Target model (default: configured).")):
    """Make sure the model's default SAE is trained and cached under SLEUTH_HOME (trains it once)."""
    from sleuth.sae.dictionary import SaeError
    from sleuth.sae.format import CFG_FILE
    from sleuth.sae.library import ensure_entry
    from sleuth.sae.registry import known_saes

    target, settings = _model_and_home(model)
    entry = known_saes().default_for(target.name)
    if entry is None:
        raise SaeError(f"no default SAE is registered for {target.name}")
    present = (entry.local_path(settings.home) / CFG_FILE).is_file()
    with training_bar(f"default SAE {entry.name}", quiet=present) as update:
        path = ensure_entry(entry, target, settings.home, update)
    console.print(f"{entry.name}: {path}")
