"""`sleuth ask "question"`: one investigation, non-interactive, for scripts."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from sleuth.cli.events import EventPrinter
from sleuth.cli.output import console, emit_json, err_console


def print_findings(summary: dict) -> None:
    for f in summary["findings"]:
        colour = {"validated": "green", "rejected": "yellow"}.get(f["status"], "red")
        console.print(f"\n[bold]{f['short']}[/] [{colour}]{f['status']}[/] (description {f['description_id']} "
                      f"v{f['version']}, attempt {f['attempts']})", highlight=False)
        console.print(f"  {escape(f['text'])}", highlight=False)
        for c in f["claims"]:
            console.print(f"  • {escape(c['text'])}  [dim]evidence: {', '.join(c['evidence_ids'])}[/]", highlight=False)
        for s in f["scores"]:
            value = f"{s['value']:.3f} (threshold {s['threshold']})" if s["status"] == "scored" else f"{s['status']}: {s['reason']}"
            console.print(f"  score {s['scorer']}: {escape(value)}", highlight=False)
    b, u = summary["budget"], summary["llm_usage"]
    acc = summary["prediction_accuracy"]
    console.print(f"\n[dim]{summary['status']}; {b.get('steps', 0)} steps, {b.get('seconds', 0):.0f}s, LLM tokens "
                  f"{u.get('prompt_tokens', 0)} in / {u.get('completion_tokens', 0)} out; {summary['experiments']} "
                  f"predicted outcomes{f', {acc:.0%} right' if acc is not None else ''}; thread {summary['thread_id']}[/]",
                  highlight=False)
    if summary["partial"]:
        console.print(f"[yellow]stopped early: {escape(summary['partial'])}[/] (findings above are partial)")


def ask(
    question: str = typer.Argument(None, help='e.g. "what does L3N100 do?"'),
    model: str = typer.Option(None, "--model", "-m", help="Target model (default: configured)."),
    sae: str = typer.Option(None, "--sae", help="An SAE to investigate latents of."),
    synthetic: list[Path] = typer.Option(None, "--synthetic", help="A suite folder or YAML file whose components "
                                         "become sites synthetic.<suite>.<name> (see sleuth eval); repeatable."),
    resume: str = typer.Option(None, "--resume", help="Continue a checkpointed investigation (its thread id)."),
    thread: str = typer.Option(None, "--thread", help="Name the investigation's thread (default: generated)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
):
    """Investigate one question and print the validated description, claims, evidence ids, scores and token use."""
    from sleuth.agent.report import summarize
    from sleuth.cli.agent_setup import investigator

    if not question and not resume:
        raise typer.BadParameter("give a question, or --resume THREAD")
    printer = EventPrinter(err_console if json_out else console)  # with --json, progress goes to stderr
    with investigator(model, sae, printer, resume=resume, quiet=json_out, question=question,
                      synthetic=synthetic) as (inv, client):
        state = inv.resume(resume) if resume else inv.ask(question, thread_id=thread)
        printer.end_answer(state.get("answer", ""))
        summary = summarize(state, {**client.ledger.totals(), "by_purpose": client.ledger.by_purpose()})
    if json_out:
        return emit_json(summary)
    print_findings(summary)
