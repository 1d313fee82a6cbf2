"""What an audit job is: a YAML file validated by pydantic (`sleuth audit schema` prints its JSON schema).

Top-level keys: model, saes, llm, budget, output, tasks. Each task has a `kind` (question, sweep,
behaviour, label, diff). A malformed file is one line naming the file and the place, exit 2.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sleuth.errors import SleuthError

SPEC_VERSION = 1
LLM_KEY_VARIABLE = re.compile(r"SLEUTH_LLM_API_KEY|OPENAI_API_KEY|SLEUTH_LLM_KEY_[A-Z0-9_]+")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


class AuditSpecError(SleuthError):
    """A job file that cannot run as written (one line, exit 2)."""


def seconds(value: str | float | int) -> float:
    """'8h', '15m', '90s', '2.5h' or a number of seconds; more than zero (0 is not 'no limit')."""
    m = None if isinstance(value, (int, float)) else _DURATION.match(str(value))
    if m is None and not isinstance(value, (int, float)):
        raise ValueError(f"'{value}' is not a duration such as 90s, 15m or 8h")
    duration = float(value) if m is None else float(m.group(1)) * _UNITS[m.group(2)]
    if not duration > 0:
        raise ValueError(f"'{value}' is not a duration more than zero (leave it out for no limit)")
    return duration


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Limits(Strict):
    """A budget: graph steps, LLM tokens (prompt + completion) and wall time; unset means no limit."""

    steps: int | None = Field(None, ge=1)
    llm_tokens: int | None = Field(None, ge=1)
    wall_time: float | None = Field(None, gt=0, description="seconds, or a duration such as 15m or 8h")

    @field_validator("wall_time", mode="before")
    @classmethod
    def _duration(cls, value):
        return None if value is None else seconds(value)


class Budget(Strict):
    per_task: Limits = Field(default_factory=Limits)
    total: Limits = Field(default_factory=Limits)


class LLMSpec(Strict):
    """The LLM endpoint; unset fields fall back to sleuth's settings (SLEUTH_LLM_BASE_URL, else the embedded server).
    A key is read from the environment variable named by `api_key_env`, never from the job file."""

    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    timeout_s: float | None = Field(None, gt=0)

    @field_validator("api_key_env")
    @classmethod
    def _an_llm_key(cls, name: str | None) -> str | None:
        """A job may come from someone else: it may name only a variable meant for an LLM key, never any secret."""
        if name is not None and not LLM_KEY_VARIABLE.fullmatch(name):
            raise ValueError(f"may name only an LLM key variable (SLEUTH_LLM_API_KEY, OPENAI_API_KEY or "
                             f"SLEUTH_LLM_KEY_<NAME>), not {name!r}")
        return name


class ModelRef(Strict):
    """A checkpoint: an embedded name, a folder, a .gguf or a HF id; `zero_heads` edits a copy in memory
    (each head's query and output weights zeroed: it attends uniformly and writes nothing)."""

    model: str
    zero_heads: list[str] = []


class TaskBase(Strict):
    id: str | None = None
    budget: Limits | None = Field(None, description="this task's own limits, instead of budget.per_task")


class QuestionTask(TaskBase):
    kind: Literal["question"]
    question: str = Field(min_length=3)


class SweepTask(TaskBase):
    """Describe every component in a set: heads of some layers, or neurons (or SAE latents) of a range."""

    kind: Literal["sweep"]
    what: Literal["heads", "neurons", "latents"]
    layers: list[int] = Field(default_factory=list, description="heads/neurons: the layers")
    units: str | None = Field(None, description="neurons/latents: a range 0:50 or a list 3,17 (heads: all heads)")
    sae: str | None = Field(None, description="latents: the SAE (one of the job's saes)")

    @model_validator(mode="after")
    def _complete(self):
        if self.what in ("heads", "neurons") and not self.layers:
            raise ValueError(f"a {self.what} sweep needs layers")
        if self.what != "heads" and not self.units:
            raise ValueError(f"a {self.what} sweep needs units (a range like 0:50 or a list like 3,17)")
        if self.what == "latents" and not self.sae:
            raise ValueError("a latents sweep needs sae")
        return self


class PromptPair(Strict):
    clean: str = Field(min_length=1)
    corrupt: str = Field(min_length=1)
    answer: str = Field(min_length=1, description="the clean prompt's next token")
    foil: str = Field(min_length=1, description="the corrupt prompt's next token")


class BehaviourTask(TaskBase):
    """Find the heads behind a behaviour from contrast pairs: attribution on the explain pairs, then exact
    patching, ablation and path patching on the held-out pairs (which decide each head's status)."""

    kind: Literal["behaviour"]
    behaviour: str = Field(min_length=3, description="what the clean prompts make the model do, in words")
    pairs: list[PromptPair] = Field(min_length=2)
    heldout_fraction: float = Field(0.5, gt=0, lt=1)
    candidates: int = Field(5, ge=1, le=20, description="heads shortlisted by attribution and confirmed exactly")
    senders: int = Field(6, ge=0, le=30, description="earlier heads path-patched, each alone, into the strongest head")
    exact_sweep: bool = Field(True, description="also patch every head alone on the held-out pairs (a layer x head heatmap)")


class LabelTask(TaskBase):
    """A labeling job, as `sleuth label` runs it."""

    kind: Literal["label"]
    sae: str | None = None
    site: str | None = None
    units: str = "0:10"
    preset: Literal["sleuth", "delphi"] = "sleuth"
    refine: bool = True
    rounds: int = Field(1, ge=0, le=5)
    exact_first: bool = Field(False, description="as sleuth label --exact-first: a failed rule rejects before any judge")
    induce: bool | None = Field(None, description="as sleuth label --induce/--no-induce: code's rule search competes "
                                "with the LLM's draft (default: the preset's)")
    ray: str | None = Field(None, description="label on this Ray cluster (as sleuth label --ray); workers load the "
                            "job's model and this task's SAE themselves and share the job's LLM endpoint")
    workers: int = Field(2, ge=1, le=64, description="with ray: Ray workers")

    @model_validator(mode="after")
    def _one_source(self):
        if (self.sae is None) == (self.site is None):
            raise ValueError("a label task needs exactly one of sae or site")
        if self.induce and self.preset == "delphi":
            raise ValueError("induce needs a preset whose labels carry rules; 'delphi' has none (use sleuth)")
        return self


class Measurement(Strict):
    tool: str
    args: dict = Field(default_factory=dict)


class DiffTask(TaskBase):
    """Model diffing: the same measurements on the job's model and on `other`; per-component differences."""

    kind: Literal["diff"]
    other: ModelRef
    measure: list[Measurement] = Field(min_length=1)
    top: int = Field(5, ge=1, le=50)


Task = Annotated[QuestionTask | SweepTask | BehaviourTask | LabelTask | DiffTask, Field(discriminator="kind")]


class JobSpec(Strict):
    version: int = SPEC_VERSION
    model: ModelRef | str
    saes: list[str] = []
    llm: LLMSpec = Field(default_factory=LLMSpec)
    budget: Budget = Field(default_factory=Budget)
    agent: dict = Field(default_factory=dict, description="agent settings for this job (as sleuth.toml [agent]), "
                        "e.g. {max_candidates: 1, explain_windows: 256}")
    output: str = Field(min_length=1, description="the output directory (relative to the current directory)")
    seed: int = 0
    tasks: list[Task] = Field(min_length=1)

    @field_validator("model", mode="after")
    @classmethod
    def _as_ref(cls, value):
        return ModelRef(model=value) if isinstance(value, str) else value

    @field_validator("agent", mode="after")
    @classmethod
    def _agent_keys(cls, value: dict):
        from sleuth.config import AgentSettings

        unknown = sorted(set(value) - set(AgentSettings.model_fields))
        if unknown:
            raise ValueError(f"unknown agent setting '{unknown[0]}'; settings: {', '.join(AgentSettings.model_fields)}")
        AgentSettings.model_validate(value)
        return value

    @model_validator(mode="after")
    def _ids(self):
        seen = set()
        for i, task in enumerate(self.tasks):
            task.id = task.id or f"{i + 1:02d}-{task.kind}"
            if not re.fullmatch(r"[A-Za-z0-9._-]+", task.id):
                raise ValueError(f"task id '{task.id}' may hold only letters, digits, '.', '_' and '-'")
            if task.id in seen:
                raise ValueError(f"two tasks have the id '{task.id}'")
            seen.add(task.id)
            if task.kind in ("sweep", "label") and getattr(task, "sae", None) and task.sae not in self.saes:
                raise ValueError(f"task '{task.id}' uses sae '{task.sae}', which is not in the job's saes")
        return self

    def fingerprint(self) -> str:
        """What --resume must find unchanged: everything but the budgets (a run stopped by its budget is resumed
        with a larger one)."""
        data = self.model_dump(mode="json", exclude={"budget"})
        data["tasks"] = [{k: v for k, v in t.items() if k != "budget"} for t in data["tasks"]]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _where(error: dict, spec: dict) -> str:
    loc = [str(p) for p in error["loc"]]
    if len(loc) >= 2 and loc[0] == "tasks" and loc[1].isdigit():  # name the task, not the union branch
        task = (spec.get("tasks") or [{}])[int(loc[1])] if isinstance(spec.get("tasks"), list) else {}
        kinds = {"question", "sweep", "behaviour", "label", "diff"}
        rest = [p for p in loc[2:] if p not in kinds]
        name = task.get("id") if isinstance(task, dict) and task.get("id") else f"#{int(loc[1]) + 1}"
        return f"task {name}" + (f" field '{'.'.join(rest)}'" if rest else "")
    return f"'{'.'.join(loc)}'" if loc else "the top level"


def parse_job(text: str, source: str = "job") -> JobSpec:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise AuditSpecError(f"{source}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise AuditSpecError(f"{source}: a job is a YAML mapping with keys model, llm, budget, output, tasks")
    try:
        return JobSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "union_tag_invalid":
            msg = f"unknown task kind {first['input'].get('kind')!r}; kinds: question, sweep, behaviour, label, diff"
        raise AuditSpecError(f"{source}: {_where(first, data)}: {msg}") from None


def load_job(path: Path) -> JobSpec:
    if not path.is_file():
        raise AuditSpecError(f"job file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise AuditSpecError(f"{path}: not UTF-8 text (byte {exc.start}); a job is a UTF-8 YAML file") from None
    return parse_job(text, str(path))


def output_dir(spec: JobSpec, override: Path | None = None) -> Path:
    return (override or Path(spec.output)).expanduser()
