"""The audit runner: checks a job against the loaded model before writing anything, then runs its tasks
in order, saving run.json after each unit of progress. One failed task does not stop the rest; a
lock stops two runners from working on one job; --resume continues after a kill -9.

Resume is exact because every part is idempotent: agent investigations continue their checkpointed
threads (thread ids derive from the job), label tasks continue per item, memory ids derive from content,
and a task that was running when the process died is run again from its own saved progress.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from sleuth.audit import runlog
from sleuth.audit.job import JobContext
from sleuth.audit.runlog import Resolved, RunLog, TaskRecord
from sleuth.audit.spec import AuditSpecError, JobSpec, Limits
from sleuth.audit.tasks import load_kinds
from sleuth.errors import SleuthError
from sleuth.run_folder import claim, writer_lock

RUN_FILE = "run.json"


def check_output(out: Path, spec: JobSpec, resume: bool) -> None:
    """Refuse an output folder that is not this job's (before anything is written)."""
    data = claim(out, RUN_FILE, "an audit run", resume, AuditSpecError)
    if data is None:
        return
    saved = runlog.parse(data)
    if saved is None or saved.kind != runlog.KIND:
        raise AuditSpecError(f"{out / RUN_FILE} is not a readable audit run; it is never overwritten")
    if saved.fingerprint != spec.fingerprint():
        raise AuditSpecError(f"--resume with a job that differs from the one in {out}; run it into another output")


def _commit() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        proc = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=5)
        return proc.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run_id(spec: JobSpec, out: Path) -> str:
    """Names this job in this output folder: its agent threads and evidence. The same job run into another
    folder is a new run (nothing reused); --resume into the same folder continues the same threads."""
    where = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:6]
    return f"audit-{spec.fingerprint()}-{where}"


def check_tasks(spec: JobSpec, target) -> None:
    """Every component, unit range and tool a task names must exist on the loaded model (one line, exit 2)."""
    for task in spec.tasks:
        try:
            load_kinds()[task.kind].check(task, target)
        except SleuthError as exc:
            raise AuditSpecError(f"task {task.id}: {exc}") from None


def remaining(total: Limits, per_task: Limits, used: dict, began: float, max_wall: float | None) -> tuple[Limits, str | None]:
    """This task's limits: its own, capped by what is left of the job's total; or why nothing is left."""
    wall_cap = [w for w in (total.wall_time, max_wall) if w]
    left = {"steps": (total.steps - used["steps"]) if total.steps else None,
            "llm_tokens": (total.llm_tokens - used["llm_tokens"]) if total.llm_tokens else None,
            "wall_time": (min(wall_cap) - (time.monotonic() - began + used["seconds_before"])) if wall_cap else None}
    for key, value in left.items():
        if value is not None and value <= 0:
            return per_task, f"the job's total {key.replace('_', ' ')} budget is spent"
    limits = {}
    for key, value in left.items():
        own = getattr(per_task, key)
        limits[key] = min(x for x in (own, value) if x is not None) if (own or value) else None
    limits = {k: (max(1, int(v)) if k != "wall_time" and v is not None else v) for k, v in limits.items()}
    return Limits(**limits), None


@dataclass
class AuditRunner:
    spec: JobSpec
    out: Path
    resume: bool = False
    max_wall: float | None = None  # seconds (--max-wall-time)
    on_event: object = lambda kind, data: None  # progress: (kind, data)
    log: RunLog | None = None
    _began: float = field(default_factory=time.monotonic)

    def prepare(self, settings, check_out: bool = True):
        """Load and check everything; nothing is written yet. Returns the JobContext."""
        from sleuth.memory import open_store
        from sleuth.sae.library import load_sae
        from sleuth.target import load_target
        from sleuth.tools import ToolContext

        load_kinds()
        if self.spec.agent:  # the job's agent settings over sleuth.toml's
            settings = settings.model_copy(update={"agent": settings.agent.model_copy(update=self.spec.agent)})
        if check_out:
            check_output(self.out, self.spec, self.resume)
        target = load_target(self.spec.model.model, settings.home)
        if self.spec.model.zero_heads:
            target.zero_heads(self.spec.model.zero_heads)
        for sae in self.spec.saes:
            load_sae(sae, target, settings.home)
        check_tasks(self.spec, target)
        tools = ToolContext(target=target, home=settings.home, corpus_spec=settings.corpus, seed=self.spec.seed)
        tools.windows  # an empty or unreadable corpus fails here, before the output exists
        store = open_store(settings.home, settings.chroma_url)
        self.resolved = Resolved(model=target.name, model_source=target.source, arch=target.shape.arch,
                                 saes=dict(target.sae_fingerprints), corpus=tools.corpus.name,
                                 corpus_checksum=tools.corpus.checksum, commit=_commit())
        return JobContext(spec=self.spec, out=self.out, settings=settings, target=target, tools=tools, store=store,
                          llm=None, run_id=run_id(self.spec, self.out), on_event=self.on_event)

    def run(self, job: JobContext, open_llm) -> RunLog:
        with ExitStack() as stack:
            stack.enter_context(writer_lock(self.out, "audit output"))
            check_output(self.out, self.spec, self.resume)  # again, under the lock: a second run started beside us
            log = runlog.load(self.out / RUN_FILE) if self.resume else None
            if log is None:
                log = RunLog(fingerprint=self.spec.fingerprint(), spec=self.spec.model_dump(mode="json"),
                             tasks=[TaskRecord(id=t.id, kind=t.kind, title=load_kinds()[t.kind].title(t))
                                    for t in self.spec.tasks])
            log.attempts += 1
            log.spec = self.spec.model_dump(mode="json")  # a resume may bring larger budgets (not in the fingerprint)
            log.status = "running"
            self.log = log

            def llm():
                client = open_llm(stack)
                log.resolved = log.resolved.model_copy(update={"llm_base_url": client.cfg.base_url, "llm_model": client.model})
                return client

            log.resolved = (log.resolved or self.resolved).model_copy(update=self.resolved.model_dump(
                exclude={"llm_base_url", "llm_model"}))
            job.open_llm = llm
            self._save()
            seconds_before = sum(t.seconds for t in log.tasks)
            for task, record in zip(self.spec.tasks, log.tasks):
                if record.status == "done":
                    continue  # failed and skipped tasks are tried again by --resume
                used = {"steps": sum(t.steps for t in log.tasks), "llm_tokens": sum(t.llm_tokens for t in log.tasks),
                        "seconds_before": seconds_before}
                own = task.budget or self.spec.budget.per_task
                limits, spent = remaining(self.spec.budget.total, own, used, self._began, self.max_wall)
                if spent:
                    record.status, record.errors = "skipped", [*record.errors, spent]
                    self.on_event("task", {"id": record.id, "status": "skipped", "why": spent})
                    self._save()
                    continue
                self._run_task(task, record, job, limits)
            log.status = "done" if all(t.status == "done" for t in log.tasks) else "partial"
            log.finished = runlog.now()
            self._save()
        return log

    def _run_task(self, task, record: TaskRecord, job: JobContext, limits: Limits) -> None:
        record.status, record.errors = "running", []
        self.on_event("task", {"id": record.id, "status": "running", "title": record.title})
        self._save()
        job.limits = limits
        job.checkpoint = self._save
        began = time.monotonic()
        try:
            load_kinds()[task.kind].run(task, record, job)
            if record.status == "running":  # a task its budget stopped says "unfinished": --resume continues it
                record.status = "done"
        except SleuthError as exc:
            record.status, record.errors = "failed", [*record.errors, str(exc)]
        except Exception as exc:  # a bug in one task must not stop the job; its type and message are kept
            record.status, record.errors = "failed", [*record.errors, f"{type(exc).__name__}: {exc}"]
        record.seconds = round(record.seconds + time.monotonic() - began, 2)
        self.on_event("task", {"id": record.id, "status": record.status, "errors": record.errors,
                               "findings": len(record.findings)})
        self._save()

    def _save(self) -> None:
        """run.json first (what --resume reads), then the reports and the Inspect log rendered from it."""
        from sleuth.audit import inspect_log
        from sleuth.audit.report import write_reports

        runlog.save(self.out / RUN_FILE, self.log)
        write_reports(self.out, self.log)
        try:
            inspect_log.write(self.out, self.log, self.out.resolve().name)
        except Exception as exc:  # an export must not stop an unattended audit: run.json and the reports are written
            logging.getLogger(__name__).warning("audit.eval not written: %s: %s", type(exc).__name__, exc)


def job_llm_config(spec: JobSpec, settings):
    """The job's LLM endpoint: the job file's values over sleuth's settings; a key only from the environment.
    A job file may come from someone else: the default key goes to its base_url only over https or to this
    machine; `api_key_env` sends the key it names (the job asks for it by name)."""
    from pydantic import SecretStr

    from sleuth.llm import llm_config
    from sleuth.llm.settings import key_may_go_to

    trusted = settings.llm.base_url_trusted if not spec.llm.base_url else False
    cfg = llm_config(spec.llm.base_url or settings.llm.base_url, spec.llm.model or settings.llm.model,
                     spec.llm.timeout_s or settings.llm.timeout_s, settings.llm.max_retries, trusted_url=trusted)
    if spec.llm.api_key_env:
        key = os.environ.get(spec.llm.api_key_env)
        if not key:
            raise AuditSpecError(f"llm.api_key_env names {spec.llm.api_key_env}, which is not set in the environment")
        if not key_may_go_to(cfg.base_url, trusted):  # the same policy as the default key
            raise AuditSpecError(f"llm.api_key_env: not sending {spec.llm.api_key_env} to {cfg.base_url} over plain "
                                 "http (the job file named it); set SLEUTH_LLM_SEND_KEY=1 to send it")
        cfg = cfg.model_copy(update={"api_key": SecretStr(key)})
    return cfg
