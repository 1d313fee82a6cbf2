"""The folder of an `eval find` run: a manifest saying which run it is, one file per finished result.

A full suite takes hours on a laptop-class CPU, so every (mode, component) result is written as soon
as it is scored (atomically), and `--resume` scores only what is missing, under the same settings.
A folder that is not this kind of run is never written to.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import BaseModel

from sleuth import run_folder
from sleuth.atomic_files import write_atomically
from sleuth.errors import ConfigError

MANIFEST = "find_run.json"
KIND = "sleuth-eval-find-run"


class FindRunSpec(BaseModel):
    """What must match for results to be comparable: the same components, texts, seed and endpoints.
    Not the modes: results are kept per (mode, component), so `--mode agent --resume` adds the agent's
    results to a one-shot run's folder and `--mode both` then reports both."""
    suite_checksum: str
    components: list[str]
    model: str
    llm: str
    judge_llm: str
    seed: int
    texts: int

    def fingerprint(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


def check(out: Path, resume: bool) -> None:
    """Refuse, with one line, an --out that cannot hold this run (before anything is written)."""
    run_folder.claim(out, MANIFEST, "an eval find run", resume, ConfigError)


def start(out: Path, spec: FindRunSpec) -> None:
    """Write the manifest of a new run, or check that a resumed run has the same settings."""
    if (out / MANIFEST).is_file():
        saved = run_folder.claim(out, MANIFEST, "an eval find run", resume=True, error=ConfigError)
        run_folder.same_settings(saved, spec, out, ConfigError)
        return
    write_atomically(out / MANIFEST, json.dumps({"kind": KIND, "version": 1, "fingerprint": spec.fingerprint(),
                                                 "spec": spec.model_dump()}, indent=1))


def result_path(out: Path, mode: str, name: str) -> Path:
    return out / "results" / f"{mode}--{name}.json"


def finished(out: Path, result_model: type[BaseModel]) -> dict[tuple[str, str], BaseModel]:
    """(mode, name) -> result already scored; a file that does not parse counts as not done."""
    return {(r.mode, r.name): r for r in run_folder.saved_records(out / "results", result_model)}
