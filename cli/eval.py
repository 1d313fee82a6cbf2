"""`sleuth eval find|heads`: ground-truth suites, a scoreboard, and a history of runs."""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sleuth import run_folder
from sleuth.atomic_files import write_atomically
from sleuth.cli.output import console, emit_json, err_console
from sleuth.evals.find_run import SCORERS as SCORER_NAMES  # a light module: --help loads no model
from sleuth.evals.scoreboard import code_state

app = typer.Typer(help="Ground-truth evaluations: planted units (find) and known heads (heads).", no_args_is_help=True)

# heads: scan is the baseline that names every head whose scan reaches the line (no LLM)
MODES = {"agent": ["agent"], "oneshot": ["oneshot"], "scan": ["scan"], "both": ["scan", "oneshot", "agent"]}
# find only: the true words themselves, scored like a description (the predictor's and judge's ceiling)
# and every run of two modes scores the true words beside them: each mode's read-back is reported as a ratio to theirs
FIND_MODES = {"agent": ["reference", "agent"], "oneshot": ["reference", "oneshot"],
              "search": ["reference", "search"], "both": ["reference", "oneshot", "agent"],
              "oneshot_search": ["reference", "oneshot_search"], "reference": ["reference"],
              "all": ["reference", "search", "oneshot", "oneshot_search", "agent"]}


def _clients(stack: ExitStack, settings, llm: str | None, llm_model: str | None, judge_llm: str | None,
             judge_model: str | None):
    """(describer client, judge client); the judge is the describer unless --judge-llm is given."""
    from sleuth.llm import llm_config
    from sleuth.llm.endpoint import llm_session

    s = settings.llm
    cfg = llm_config(llm or s.base_url, llm_model or s.model, s.timeout_s, s.max_retries,
                     trusted_url=bool(llm) or s.base_url_trusted)
    describer = stack.enter_context(llm_session(cfg, settings.home, s.local_model))
    describer.schema_mode()  # one line and exit 2 when the endpoint is unreachable
    if not judge_llm:
        return describer, describer
    judge = stack.enter_context(llm_session(llm_config(judge_llm, judge_model, s.timeout_s, s.max_retries),
                                            settings.home, s.local_model))
    judge.schema_mode()
    return describer, judge


def _progress(total: int, quiet: bool):
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TimeElapsedColumn(), console=err_console, disable=quiet)
    return bar, bar.add_task("eval", total=total)


def _record(report, rows, work: Path, settings, scoreboard: Path | None, run_settings: dict,
            code: tuple[str, bool]) -> Path:
    """Write report.json with the run's manifest, stamp the rows with it and merge them into the scoreboard and
    the history (a --scoreboard board also keeps a copy of report.json beside it); the board's path."""
    from sleuth.evals.scoreboard import keep_report, manifest, stamp, update

    run_manifest = manifest(getattr(report, "suite_checksum", ""), getattr(report, "corpus_checksum", ""), report.model,
                            report.llm, getattr(report, "judge_llm", report.llm), run_settings, settings.agent, code)
    report.manifest = run_manifest
    write_atomically(work / "report.json", report.model_dump_json(indent=1))
    board = scoreboard or settings.home / "evals" / "scoreboard.json"
    rows = stamp(rows, run_manifest)
    if scoreboard is not None:
        rows = keep_report(work / "report.json", board, rows)
    update(board, rows, settings.home / "evals" / "history.jsonl")
    return board


def _show(rows, work: Path, board: Path) -> None:
    _print_rows(rows)
    console.print(f"[dim]report: {work / 'report.json'}; scoreboard: {board.with_suffix('.md')}[/]", highlight=False)


def _print_rows(rows) -> None:
    table = Table("suite", "mode", "n", "fail", "F1", "read-back F1", "choice", "judge", "decoy", "rule F1", "P", "R",
                  "tokens", "s")
    fmt = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
    for r in rows:
        table.add_row(r.suite, f"{r.mode} ({r.split})" if r.split else r.mode, str(r.n), str(r.failed), fmt(r.f1), fmt(r.read_back_f1), fmt(r.judge_choice),
                      fmt(r.judge_match),
                      fmt(r.decoy_match), fmt(r.rule_f1), fmt(r.head_precision), fmt(r.head_recall), str(r.llm_tokens),
                      f"{r.seconds:.0f}")
    console.print(table)


def _settings(mode: str, modes: dict = MODES):
    """sleuth's settings, once --mode is known to be valid."""
    from sleuth.config import load_settings
    from sleuth.errors import ConfigError

    if mode not in modes:
        raise ConfigError(f"unknown --mode '{mode}'; use {', '.join(modes)}")
    return load_settings()


def _with_endpoints(settings, endpoints: tuple, make_ctx, work: Path, modes: list[str], items: int, json_out: bool,
                    run):
    """Start the describer and judge endpoints (one line and exit if one is dead), build the tool context,
    and call run(env, judge, modes, progress=..., done=...) under one progress bar of items x modes."""
    from sleuth.evals.describers import DescribeEnv

    with ExitStack() as stack:
        describer, judge = _clients(stack, settings, *endpoints)
        env = DescribeEnv(ctx=make_ctx(), llm=describer, agent_settings=settings.agent, work_dir=work)
        stack.callback(env.close)
        bar, task = _progress(items * len(modes), json_out)
        with bar:
            return run(env, judge, modes, progress=lambda label: bar.update(task, description=label),
                       done=lambda: bar.advance(task))


@app.command("find")
def find(
    suite: Path = typer.Option(None, "--suite", help="A folder of suite YAML files (default: the packaged evals/find)."),
    mode: str = typer.Option("both", "--mode", help="agent, oneshot, search (code's rule search alone, words "
                             "by code, no LLM), oneshot_search (one-shot shown the search's 3 best rules), both "
                             "(reference, oneshot and agent), all (every mode) or reference (the true words alone). Every mode also scores the "
                             "true words on the same units, so its read-back is shown as a ratio to theirs."),
    split: str = typer.Option("all", "--split", help="The suite's split: dev (tune on it), test (reported, never "
                              "tuned on) or all."),
    model: str = typer.Option(None, "--model", "-m", help="Target model whose tokenizer and corpus windows are used."),
    llm: str = typer.Option(None, "--llm", help="Describer endpoint (OpenAI-compatible base URL); default: configured."),
    llm_model: str = typer.Option(None, "--llm-model", help="Model name at --llm."),
    judge_llm: str = typer.Option(None, "--judge-llm", help="Judge/predictor endpoint (default: the describer's)."),
    judge_model: str = typer.Option(None, "--judge-model", help="Model name at --judge-llm."),
    limit: int = typer.Option(None, "--limit", min=1, help="Only the first N components (spread over categories)."),
    only: str = typer.Option(None, "--only", help="Comma-separated component names."),
    texts: int = typer.Option(12, "--texts", min=2, max=60, help="Held-out texts per component."),
    seed: int = typer.Option(0, "--seed", min=0),
    out: Path = typer.Option(None, "--out", help="The run's folder: each result as it is scored, report.json at the "
                             "end (default: a new folder under SLEUTH_HOME/evals/runs)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out: score only what is missing."),
    rescore: Path = typer.Option(None, "--rescore", help="Describe nothing: score again the descriptions of this "
                                 "earlier run (same suite, seed and texts) into --out; that run is only read."),
    scorers: str = typer.Option(None, "--scorers",
                                help="With --rescore: the LLM scorers to run again (default listing,read_back,judge); "
                                "a scorer that had failed on an item always runs again."),
    scoreboard: Path = typer.Option(None, "--scoreboard", help="Scoreboard JSON to update (default: SLEUTH_HOME/evals)."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
):
    """Describe planted units and score the descriptions against the truth on held-out texts."""
    from sleuth.errors import ConfigError
    from sleuth.evals import find_run
    from sleuth.evals.find import DEFAULT_SUITE, find_rows, run_find, select
    from sleuth.predicates import load_suite
    from sleuth.target import load_target
    from sleuth.tools import ToolContext

    settings = _settings(mode, FIND_MODES)
    code = code_state()  # the commit and dirty flag the rows carry: the code as the run starts
    suite_dir = suite or DEFAULT_SUITE
    whole_suite = load_suite(suite_dir)
    if split not in ("dev", "test", "all"):
        raise ConfigError(f"unknown --split '{split}'; use dev, test or all")
    components = select(whole_suite, limit, only, split)
    if resume and out is None:
        raise ConfigError("--resume needs --out, the folder of the run to continue")
    if scorers is not None and rescore is None:
        raise ConfigError("--scorers applies only with --rescore (a new run always runs every scorer)")
    chosen = tuple(n.strip() for n in (scorers or ",".join(SCORER_NAMES)).split(",") if n.strip())
    if not chosen or set(chosen) - set(SCORER_NAMES):
        raise ConfigError(f"unknown --scorers '{scorers}'; use some of {', '.join(SCORER_NAMES)}")
    if rescore is not None:
        rescore = rescore.resolve()
        if out is None or out.resolve() == rescore:
            raise ConfigError("--rescore needs --out, a new folder (the run it rescores is only read)")
    work = (out or settings.home / "evals" / "runs" / time.strftime("%Y%m%d-%H%M%S")).resolve()
    find_run.check(work, resume)

    def context():  # after the endpoints answered: a dead LLM fails before the model loads
        target = load_target(model or settings.model, settings.home)
        return ToolContext(target=target, home=settings.home, corpus_spec=settings.corpus, seed=seed)

    with find_run.held(work, resume):
        report = _with_endpoints(settings, (llm, llm_model, judge_llm, judge_model), context, work, FIND_MODES[mode],
                                 len(components), json_out, lambda env, judge, modes, **bar: run_find(
                                     components, env, judge, modes, suite=suite_dir.name, seed=seed, texts=texts,
                                     out=work, rescore=rescore, scorers=chosen, decoy_pool=whole_suite, **bar))
        rows = find_rows(report)
        board = _record(report, rows, work, settings, scoreboard,
                        {"mode": mode, "split": split, "limit": limit, "only": only, "seed": seed, "texts": texts,
                         "rescored_from": str(rescore) if rescore else None}, code)
    if json_out:
        return emit_json(report)
    _show(rows, work, board)


@app.command("heads")
def heads(
    model: str = typer.Option(None, "--model", "-m",
                              help="Default: the suite's trained 2-layer attention-only model; or e.g. smollm2-135m."),
    mode: str = typer.Option("both", "--mode", help="agent, oneshot, scan (the baseline: every head whose scan is "
                             ">= 0.4, and what the scans say of each) or both (scan, oneshot and agent)."),
    llm: str = typer.Option(None, "--llm", help="Describer endpoint (OpenAI-compatible base URL); default: configured."),
    llm_model: str = typer.Option(None, "--llm-model", help="Model name at --llm."),
    judge_llm: str = typer.Option(None, "--judge-llm", help="Judge endpoint (default: the describer's)."),
    judge_model: str = typer.Option(None, "--judge-model", help="Model name at --judge-llm."),
    head_list: str = typer.Option(None, "--heads", help="Heads to describe one by one, e.g. L0H1,L1H2 "
                                  "(default: every head of the suite's model; on another model the top 2 of each kind "
                                  "and 2 others)."),
    seed: int = typer.Option(0, "--seed", min=0),
    out: Path = typer.Option(None, "--out", help="Write the full report (report.json) here."),
    scoreboard: Path = typer.Option(None, "--scoreboard", help="Scoreboard JSON to update (default: SLEUTH_HOME/evals)."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
):
    """Find induction and previous-token heads by investigation; describe heads; score against measured truth."""
    from sleuth.evals.heads import heads_rows, run_heads
    from sleuth.evals.heads_target import default_heads
    from sleuth.tools import ToolContext

    settings = _settings(mode)
    code = code_state()
    target = _suite_target(model, settings, json_out)
    ctx = ToolContext(target=target, home=settings.home, corpus_spec=settings.corpus, seed=seed)
    chosen, truth = default_heads(ctx, model, head_list)
    work = (out or settings.home / "evals" / "runs" / time.strftime("heads-%Y%m%d-%H%M%S")).resolve()
    with run_folder.writer_lock(work, "eval heads output"):
        report = _with_endpoints(settings, (llm, llm_model, judge_llm, judge_model), lambda: ctx, work, MODES[mode],
                                 len(chosen) + 2, json_out,
                                 lambda env, judge, modes, **bar: run_heads(env, judge, modes, chosen, truth=truth, **bar))
        rows = heads_rows(report, f"heads:{target.name}")
        board = _record(report, rows, work, settings, scoreboard, {"mode": mode, "heads": head_list, "seed": seed}, code)
    if json_out:
        return emit_json(report)
    console.print("ground truth: " + "; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in report.truth.heads.items()),
                  highlight=False)
    _show(rows, work, board)


def _suite_target(model: str | None, settings, quiet: bool):
    """The heads suite's target; training its model (first use) shows a progress bar."""
    from sleuth.evals.heads_target import heads_target

    bar = Progress(TextColumn("[bold]training the heads suite's model"), BarColumn(),
                   TextColumn("{task.completed}/{task.total} steps  loss {task.fields[loss]:.3f}"), TimeElapsedColumn(),
                   console=err_console, disable=quiet, transient=True)
    task = bar.add_task("train", total=None, loss=float("nan"))
    with bar:
        return heads_target(model, settings, lambda step, total, loss: bar.update(task, completed=step, total=total,
                                                                                    loss=loss))


@app.command("prepare")
def prepare():
    """Train and cache the heads suite's model now (make setup does this; later runs find it)."""
    from sleuth.config import load_settings

    target = _suite_target(None, load_settings(), quiet=False)
    console.print(f"{target.name}: {target.source}", highlight=False)
