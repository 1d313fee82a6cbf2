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
SCORERS = ("listing", "read_back", "judge")  # the LLM's scorers of the words; rule F1 is code's and always runs
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
    rescored_from: str | None = None  # --rescore: the run whose descriptions are scored again ...
    rescored: list[str] | None = None  # ... and the scorers run again

    def fingerprint(self) -> str:
        return hashlib.sha256(self.model_dump_json(exclude_none=True).encode()).hexdigest()[:16]


def check(out: Path, resume: bool) -> None:
    """Refuse, with one line, an --out that cannot hold this run (before anything is written)."""
    run_folder.claim(out, MANIFEST, "an eval find run", resume, ConfigError)


def held(out: Path, resume: bool):
    """This process is the folder's one writer for the whole run, checked under its lock."""
    return run_folder.held(out, MANIFEST, "an eval find run", resume, ConfigError)


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


def _spec_of(run: Path) -> FindRunSpec:
    manifest = run / MANIFEST
    try:
        data = json.loads(manifest.read_text())
        if data.get("kind") != KIND:
            raise ValueError
        return FindRunSpec(**data["spec"])
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"--rescore: {run} is not an eval find run (no readable {MANIFEST})") from exc


def descriptions_to_rescore(run: Path, spec: FindRunSpec, modes: list[str],
                            result_model: type[BaseModel]) -> tuple[FindRunSpec, dict[tuple[str, str], BaseModel]]:
    """`run`'s settings and its results to score again under `spec`: the same suite, target, seed and texts
    (so the held-out texts are the same), and a result for every requested (mode, component); else one line."""
    saved = _spec_of(run)
    missing = [name for name in spec.components if name not in saved.components]
    if missing:
        raise ConfigError(f"--rescore: {run} has no component '{missing[0]}' (use the suite, --limit and --only it ran with)")
    if saved.components != spec.components:
        raise ConfigError(f"--rescore: {run} ran {len(saved.components)} components, this run "
                          f"{len(spec.components)}; use the --limit and --only it ran with")
    for field in ("suite_checksum", "model", "seed", "texts"):
        if getattr(saved, field) != getattr(spec, field):
            raise ConfigError(f"--rescore: {run} was run with another {field.replace('_', ' ')} "
                              f"({getattr(saved, field)} vs {getattr(spec, field)}); its held-out texts differ")
    found = finished(run, result_model)
    for mode in (m for m in modes if m != "reference"):  # the true words are scored anew, not rescored
        for name in spec.components:
            if (mode, name) not in found:
                raise ConfigError(f"--rescore: {run} has no {mode} result for '{name}'")
    return saved, found
