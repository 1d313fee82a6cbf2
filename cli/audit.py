"""`sleuth audit job.yaml`: an unattended audit job; `sleuth audit validate job.yaml`; `sleuth audit schema`."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import typer

from sleuth.cli.output import console, emit_json, err_console

EXIT_SOME_FAILED = 1


class TaskDisplay:
    """Per-task progress: a rich status line in a terminal, plain log lines otherwise (e.g. under nohup)."""

    def __init__(self, quiet: bool):
        self.quiet, self.live = quiet, err_console.is_terminal and not quiet
        self.status = err_console.status("") if self.live else None
        self.current = ""

    def __call__(self, kind: str, data: dict) -> None:
        if self.quiet:
            return
        if kind == "task":
            self._task(data)
        elif self.live and kind in ("tool", "item"):
            what = data.get("tool") or f"item {data.get('done')}/{data.get('of')}"
            self.status.update(f"[bold]{self.current}[/] · {what}")

    def _task(self, data: dict) -> None:
        state = data["status"]
        if state == "running":
            self.current = f"{data['id']}: {data['title']}"
            if self.live:
                self.status.start()
                self.status.update(f"[bold]{self.current}[/]")
            else:
                err_console.print(f"task {self.current} ... running", highlight=False, markup=False)
            return
        if self.live:
            self.status.stop()
        detail = "; ".join(data.get("errors") or []) or data.get("why") or f"{data.get('findings', 0)} findings"
        err_console.print(f"task {data['id']}: {state} ({detail})", highlight=False, markup=False)


def _job(path: Path):
    from sleuth.audit import load_job

    return load_job(path)


def audit(
    job: str = typer.Argument(..., help="A job file (YAML), or 'validate JOB', or 'schema'."),
    extra: Path = typer.Argument(None, help="With 'validate': the job file."),
    resume: bool = typer.Option(False, "--resume", help="Continue the job in its output folder after a crash."),
    max_wall_time: str = typer.Option(None, "--max-wall-time", help="Stop starting new tasks after this long (8h, 90m)."),
    out: Path = typer.Option(None, "--out", help="Output folder (default: the job's `output`)."),
    json_out: bool = typer.Option(False, "--json", help="Print run.json's totals and task statuses as JSON."),
):
    """Run an audit job unattended: question, sweep, behaviour, label and diff tasks; writes run.json,
    report.html and report.md. Exit 0 when no task failed (a task skipped for budget is reported, not failed),
    1 when some failed, 2 for a bad spec."""
    from sleuth.audit.spec import AuditSpecError, JobSpec, seconds

    if job == "schema":
        return emit_json(JobSpec.model_json_schema())
    if job == "validate":
        if extra is None:
            raise AuditSpecError("usage: sleuth audit validate JOB.yaml")
        spec = _job(extra)
        _check_on_model(spec, json_out)
        if json_out:
            return emit_json({"valid": True, "tasks": [t.id for t in spec.tasks], "fingerprint": spec.fingerprint()})
        console.print(f"{extra}: valid on {spec.model.model}; {len(spec.tasks)} tasks: " + ", ".join(t.id for t in spec.tasks), highlight=False)
        return
    if extra is not None:
        raise AuditSpecError(f"unexpected argument '{extra}'; run: sleuth audit JOB.yaml")
    try:
        wall = seconds(max_wall_time) if max_wall_time else None
    except ValueError as exc:
        raise AuditSpecError(f"--max-wall-time: {exc}") from None
    log = _run(_job(Path(job)), out, resume, wall, json_out)
    totals = log.totals()
    if json_out:
        emit_json({"status": log.status, "totals": totals, "out": str(out or log.spec["output"]),
                   "tasks": [{"id": t.id, "kind": t.kind, "status": t.status, "errors": t.errors,
                              "validated": sum(f.status == "validated" for f in t.findings)} for t in log.tasks]})
    else:
        console.print(f"{totals['done']}/{totals['tasks']} tasks done, {totals['failed']} failed, {totals['skipped']} "
                      f"skipped; {totals['validated']} of {totals['findings']} findings validated; {totals['evidence']} "
                      f"evidence records; {totals['llm_tokens']} LLM tokens", highlight=False)
    if any(t.status == "failed" for t in log.tasks):
        raise typer.Exit(EXIT_SOME_FAILED)


def _check_on_model(spec, quiet: bool) -> None:
    """Sites, layers, heads, unit ranges, SAEs and tools checked against the loaded model (nothing written)."""
    from sleuth.audit.runner import AuditRunner
    from sleuth.config import load_settings

    with err_console.status("loading the target model to check the job's components") if not quiet else nullcontext():
        AuditRunner(spec=spec, out=Path(spec.output)).prepare(load_settings(), check_out=False)


def _run(spec, out: Path | None, resume: bool, wall: float | None, quiet: bool):
    from sleuth.audit.runner import AuditRunner, job_llm_config
    from sleuth.audit.spec import output_dir
    from sleuth.config import load_settings
    from sleuth.llm.endpoint import llm_session

    settings = load_settings()
    folder = output_dir(spec, out)
    display = TaskDisplay(quiet)
    runner = AuditRunner(spec=spec, out=folder, resume=resume, max_wall=wall, on_event=display)
    cfg = job_llm_config(spec, settings)
    with err_console.status("loading the target model, SAEs, corpus and memory") if display.live else nullcontext():
        job = runner.prepare(settings)

    def open_llm(stack):
        client = stack.enter_context(llm_session(cfg, settings.home, settings.llm.local_model))
        client.schema_mode()  # an unreachable endpoint fails the task that needs it, with one line
        return client

    log = runner.run(job, open_llm)
    if not quiet:
        console.print(f"wrote {folder / 'run.json'}, {folder / 'report.html'}, {folder / 'report.md'}", highlight=False)
    return log
