"""`sleuth chat`: an interactive session (rich output, prompt_toolkit input with persistent history).

Ctrl-C during an investigation cancels that step; the thread is checkpointed and /resume continues it.
"""

from __future__ import annotations

import signal
from pathlib import Path

import typer
from rich.markup import escape

from sleuth.cli.events import EventPrinter
from sleuth.cli.output import console
from sleuth.errors import SleuthError

HELP = """/help              this help
/tools             the experiment tools
/memory QUERY      search the evidence memory
/budget            steps, time and LLM tokens of the last question
/resume [THREAD]   continue an interrupted investigation (default: the last one)
/save PATH         write this session as markdown, with evidence ids
/quit              leave (Ctrl-D too)
anything else      a question, e.g. what does L3N100 do?"""


class ChatSession:
    def __init__(self, inv, client, printer: EventPrinter):
        self.inv, self.client, self.printer = inv, client, printer
        self.last_thread: str | None = None
        self.last_summary: dict | None = None

    def investigate(self, question: str | None, resume: str | None = None) -> None:
        from sleuth.agent.report import summarize
        from sleuth.cli.ask import print_findings

        self.printer.transcript.append(f"\n## {question or 'resumed ' + str(resume)}\n")
        try:
            if resume:
                self.last_thread = resume
                state = self.inv.resume(resume)
            else:
                thread = _thread_for(question)
                self.last_thread = thread
                state = self.inv.ask(question, thread_id=thread)
        except KeyboardInterrupt:
            self.printer.end_answer("(cancelled)")
            console.print(f"[yellow]cancelled[/]; the investigation is saved as {self.last_thread}: /resume continues it")
            return
        except SleuthError as exc:
            console.print(f"[red]error:[/] {escape(str(exc))}")
            self.printer.transcript.append(f"- error: {exc}")
            return
        self.printer.end_answer(state.get("answer", ""))
        self.last_summary = summarize(state, self.client.ledger.totals())
        print_findings(self.last_summary)
        for f in self.last_summary["findings"]:
            ids = sorted({i for c in f["claims"] for i in c["evidence_ids"]})
            self.printer.transcript.append(f"- **{f['short']}** ({f['status']}): {f['text']} — evidence: {', '.join(ids)}")

    def command(self, line: str) -> bool:
        """Run a /command; False means quit."""
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in ("/quit", "/exit"):
            return False
        if name == "/help":
            console.print(HELP, markup=False)
        elif name == "/tools":
            from sleuth.tools import load_all

            for spec in sorted(load_all().values(), key=lambda s: s.name):
                console.print(f"[cyan]{spec.name:<22}[/] {escape(spec.description)}", highlight=False)
        elif name == "/memory":
            hits = self.inv.deps.store.search(arg or "description", k=8)
            for hit in hits:
                r = hit.record
                text = getattr(r, "text", None) or getattr(r, "statement", None) or r.summary
                console.print(f"[dim]{r.id}[/] {r.component}: {escape(text[:160])}", highlight=False)
            if not hits:
                console.print("memory has nothing on that")
        elif name == "/budget":
            b = (self.last_summary or {}).get("budget", {})
            console.print(f"last question: {b.get('steps', 0)} steps, {b.get('seconds', 0):.1f}s, {b.get('tokens', 0)} "
                          f"LLM tokens; session LLM use: {self.client.ledger.totals()}", highlight=False)
        elif name == "/resume":
            target = arg or self.last_thread
            if not target:
                console.print("nothing to resume")
            else:
                self.investigate(None, resume=target)
        elif name == "/save":
            self.save(arg)
        else:
            console.print(f"unknown command {escape(name)}; /help lists them")
        return True

    def save(self, arg: str) -> None:
        if not arg:
            return console.print("usage: /save PATH")
        path = Path(arg).expanduser()
        path = path if path.is_absolute() else Path.cwd() / path
        root = Path.cwd().resolve()
        if not path.resolve().is_relative_to(root):
            return console.print(f"[red]error:[/] /save writes only inside the working directory {root}")
        if path.is_dir():
            return console.print(f"[red]error:[/] {escape(str(path))} is a folder; /save takes a file name such as "
                                 f"{escape(str(path / 'session.md'))}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("# sleuth chat transcript\n" + "\n".join(self.printer.transcript) + "\n")
        except OSError as exc:  # the session goes on; only the save failed
            return console.print(f"[red]error:[/] cannot save {escape(str(path))}: {escape(exc.strerror or str(exc))}")
        console.print(f"saved {path}")


def _thread_for(question: str) -> str:
    from sleuth.agent.session import new_thread_id

    return new_thread_id(question)


def chat(
    model: str = typer.Option(None, "--model", "-m", help="Target model (default: configured)."),
    sae: str = typer.Option(None, "--sae", help="An SAE to investigate latents of."),
    synthetic: list[Path] = typer.Option(None, "--synthetic", help="A suite folder or YAML file whose components "
                                         "become sites synthetic.<suite>.<name> (see sleuth eval); repeatable."),
    resume: str = typer.Option(None, "--resume", help="Continue a checkpointed investigation first."),
):
    """Ask questions about the target model interactively; every tool call is shown live."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    from sleuth.cli.agent_setup import investigator
    from sleuth.config import load_settings

    home = load_settings().home
    home.mkdir(parents=True, exist_ok=True)
    # Ctrl-C must cancel a step even when the parent started us with SIGINT ignored (background jobs)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    printer = EventPrinter(console)
    with investigator(model, sae, printer, resume=resume, synthetic=synthetic) as (inv, client):
        session = ChatSession(inv, client, printer)
        console.print(f"[bold]sleuth chat[/] on {inv.deps.target.name}; /help for commands, /quit to leave")
        if resume:
            session.investigate(None, resume=resume)
        prompt = PromptSession(history=FileHistory(str(home / "chat_history")))
        while True:
            try:
                line = prompt.prompt("sleuth> ").strip()
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            if not line:
                continue
            if line.startswith("/"):
                if not session.command(line):
                    break
            else:
                session.investigate(line)
    console.print("bye")
