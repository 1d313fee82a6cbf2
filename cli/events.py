"""Live display of an investigation: tool calls, hypotheses, validation, the streamed answer.
Everything shown is also kept as markdown lines for /save."""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table

SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(SPARK[int((v - low) / span * (len(SPARK) - 1))] for v in values)


def _args(args: dict) -> str:
    text = json.dumps(args, ensure_ascii=False)
    return text if len(text) <= 160 else text[:157] + "..."


class EventPrinter:
    def __init__(self, console: Console, show: bool = True):
        self.console, self.show = console, show
        self.transcript: list[str] = []
        self.streaming = False

    def _say(self, markup: str, plain: str) -> None:
        if self.show:
            self.console.print(markup, highlight=False)
        self.transcript.append(plain)

    def __call__(self, kind: str, payload: dict) -> None:
        getattr(self, f"on_{kind}", lambda p: None)(payload)

    def on_thread(self, p: dict) -> None:
        verb = "resuming" if p.get("resumed") else "thread"
        self._say(f"[dim]{verb} {p['thread_id']}[/]", f"_{verb} `{p['thread_id']}`_")

    def on_settings_restored(self, p: dict) -> None:
        names = ", ".join(sorted(p))
        self._say(f"[dim]the thread's own settings are used ({escape(names)}), not the current configuration[/]",
                  f"_the thread's own settings are used ({names})_")

    def on_memory(self, p: dict) -> None:
        for line in p["lines"]:
            self._say(f"[dim]memory: {escape(line)}[/]", f"- memory: {line}")

    def on_shortlist(self, p: dict) -> None:
        self._say(f"[bold]shortlist:[/] {escape(', '.join(p['components']))}", f"**shortlist:** {', '.join(p['components'])}")

    def on_tool_start(self, p: dict) -> None:
        self._say(f"[cyan]→ {p['tool']}[/] {escape(_args(p['args']))}", f"- tool `{p['tool']}` `{_args(p['args'])}`")

    def on_tool_result(self, p: dict) -> None:
        if p["error"]:
            return self._say(f"[red]✗ {p['tool']}: {escape(p['error'])}[/]", f"  - failed: {p['error']}")
        summary = p["summary"].splitlines()[0][:300]
        self._say(f"[green]✓ {p['tool']}[/] ({p.get('seconds', 0):.1f}s) {escape(summary)}", f"  - result: {summary}")
        data = p.get("data") or {}
        if p["tool"] == "activations" and self.show:
            table = Table(show_header=True, header_style="dim", box=None)
            table.add_column("text")
            table.add_column("per-token activation")
            table.add_column("max", justify="right")
            for row in data.get("per_text", [])[:6]:
                table.add_row(escape(row["text"][:40]), sparkline(row["values"]), f"{row['max_value']:.2f}")
            self.console.print(table)
        if p["tool"] == "top_activations" and self.show:
            for comp in data.get("components", [])[:1]:
                self.console.print(f"  [dim]window maxima histogram[/] {sparkline([float(c) for c in comp['histogram']])}")

    def on_hypotheses(self, p: dict) -> None:
        for h in p["hypotheses"]:
            acc = f", accuracy {h['accuracy']:.2f}" if h.get("accuracy") is not None else ""
            self._say(f"[magenta]{h['id']}[/] {escape(h['statement'])} [dim]({h['status']}{acc})[/]",
                      f"- hypothesis {h['id']}: {h['statement']} ({h['status']}{acc})")

    def on_description(self, p: dict) -> None:
        self._say(f"[bold]draft:[/] {escape(p['text'])}", f"**draft ({p['component']}):** {p['text']}")
        for c in p["claims"]:
            self._say(f"  • {escape(c['text'])} [dim]{', '.join(c['evidence_ids'])}[/]",
                      f"  - claim: {c['text']} (evidence: {', '.join(c['evidence_ids'])})")

    def on_validation(self, p: dict) -> None:
        colour = {"validated": "green", "rejected": "yellow"}.get(p["status"], "red")
        scores = "; ".join(f"{s['scorer']} {s['value']:.2f}/{s['threshold']}" if s["status"] == "scored"
                           else f"{s['scorer']} {s['status']}: {s['reason']}" for s in p["scores"])
        self._say(f"[{colour}]{p['status']}[/] {p['component']}: {escape(scores)}",
                  f"**{p['status']}** {p['component']}: {scores}")

    def on_error(self, p: dict) -> None:
        self._say(f"[red]{escape(p['message'])}[/]", f"- error: {p['message']}")

    def on_answer_token(self, p: dict) -> None:
        if self.show:
            if not self.streaming:
                self.console.print("\n[bold]answer:[/] ", end="")
            self.console.print(p["text"], end="", markup=False, highlight=False, soft_wrap=True)
        self.streaming = True

    def end_answer(self, answer: str) -> None:
        if self.streaming and self.show:
            self.console.print()
        self.streaming = False
        self.transcript.append(f"\n**answer:** {answer}\n")
