"""The scoreboard: the latest row per (suite, split, mode), as Markdown and a JSON twin, plus a history file.

Every eval run appends its rows to `$SLEUTH_HOME/evals/history.jsonl`, so runs can be
compared over time; `scoreboard.json`/`scoreboard.md` keep the latest row of each suite and mode.
A row is written only by a run: it carries that run's manifest (commit and dirty flag, suite and
corpus checksums, model, LLMs, settings), and a board given with `--scoreboard` keeps a copy of
the run's report.json beside it (`runs/<...>/report.json`), so each of its rows can be checked.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

from pydantic import BaseModel, Field

from sleuth import __version__
from sleuth.atomic_files import write_atomically
from sleuth.locks import file_lock


class Manifest(BaseModel):
    """What a run ran on: enough to tell two rows apart and to run it again."""

    commit: str = ""
    dirty: bool = False  # the working tree had uncommitted changes to tracked files
    suite_checksum: str = ""
    corpus_checksum: str = ""
    model: str = ""
    llm: str = ""
    judge_llm: str = ""
    settings: dict = Field(default_factory=dict)  # seed, texts, split, limit... and a hash of the agent's settings


class Row(BaseModel):
    suite: str
    mode: str
    n: int
    split: str = ""  # dev or test (a suite's split); unseen: units' members never shown, alone; empty: every component
    failed: int = 0
    scoring_failed: int = 0  # items a scorer could not score (left out of its mean, not counted 0)
    read_back_vs_reference: float | None = None  # read-back F1 / the true words' on the same units
    read_back_by_author: dict[str, float] = Field(default_factory=dict)  # llm / code / human -> read-back F1
    by_author: dict[str, int] = Field(default_factory=dict)  # how many descriptions each wrote
    rule_syntax: int = 0  # descriptions whose words carry rule syntax
    f1: float | None = None
    judge_choice: float | None = None  # find: forced choice between the true words and a decoy (chance 0.5)
    judge_match: float | None = None  # find before judge_choice: the absolute judge; heads: not used
    decoy_match: float | None = None
    rule_f1: float | None = None
    read_back_f1: float | None = None
    head_precision: float | None = None
    head_recall: float | None = None
    head_text_right: float | None = None
    llm_tokens: int = 0
    seconds: float = 0.0
    llm: str = ""
    commit: str = ""
    date: str = ""
    manifest: Manifest | None = None
    report: str = ""  # the run's report.json (beside a --scoreboard board: a path relative to it)

    @property
    def key(self) -> str:
        return "/".join(p for p in (self.suite, self.split, self.mode) if p)


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent)
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def commit() -> str:
    return _git("rev-parse", "--short", "HEAD") or __version__


def code_state() -> tuple[str, bool]:
    """(commit, dirty) of the code now: taken when a run starts, so later commits do not relabel it."""
    return commit(), bool(_git("status", "--porcelain", "--untracked-files=no"))


def manifest(suite_checksum: str, corpus_checksum: str, model: str, llm: str, judge_llm: str, settings: dict,
             agent_settings=None, code: tuple[str, bool] | None = None) -> Manifest:
    """This run's manifest; the agent's settings enter as a hash (they are many)."""
    if agent_settings is not None:
        settings = {**settings, "agent_settings": hashlib.sha256(agent_settings.model_dump_json().encode()).hexdigest()[:12]}
    head, dirty = code or code_state()
    return Manifest(commit=head, dirty=dirty, suite_checksum=suite_checksum, corpus_checksum=corpus_checksum, model=model, llm=llm,
                    judge_llm=judge_llm, settings=settings)


def stamp(rows: list[Row], run_manifest: Manifest | None = None) -> list[Row]:
    now = time.strftime("%Y-%m-%d %H:%M")
    head = run_manifest.commit + ("+dirty" if run_manifest.dirty else "") if run_manifest else commit()
    return [r.model_copy(update={"commit": r.commit or head, "date": r.date or now,
                                 "manifest": r.manifest or run_manifest}) for r in rows]


def keep_report(report: Path, board: Path, rows: list[Row]) -> list[Row]:
    """Copy a run's report.json beside `board` (runs/<suite>-<commit>-<date>/report.json) and point the rows
    at it, relative to the board: the board's rows then each come with the run that wrote them."""
    first = rows[0] if rows else None
    name = f"{first.suite.replace(':', '-')}-{first.commit}-{first.date.replace(' ', '-').replace(':', '')}" if first else "run"
    dest = board.parent / "runs" / name / "report.json"
    write_atomically(dest, report.read_text(encoding="utf-8"))
    return [r.model_copy(update={"report": str(dest.relative_to(board.parent))}) for r in rows]


def update(board: Path, rows: list[Row], history: Path) -> dict[str, Row]:
    """Merge `rows` into the scoreboard at `board` (.json; the .md twin is written beside it)."""
    with file_lock(board.with_name(f".{board.name}.lock"), what=f"the scoreboard {board}"):  # read-modify-write
        current: dict[str, Row] = {}
        if board.is_file():
            try:
                current = {k: Row.model_validate(v) for k, v in json.loads(board.read_text())["rows"].items()}
            except (ValueError, KeyError, TypeError):
                current = {}  # an unreadable scoreboard is rebuilt from this run; the history keeps every run
        for row in rows:
            current[row.key] = row
        write_atomically(board, json.dumps({"rows": {k: v.model_dump() for k, v in sorted(current.items())}}, indent=1))
        write_atomically(board.with_suffix(".md"), render(list(current.values())))
    history.parent.mkdir(parents=True, exist_ok=True)
    with history.open("a", encoding="utf-8") as fh:
        for row in rows:
            fh.write(row.model_dump_json() + "\n")
    return current


def _cell(value) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _authors(row: Row) -> str:
    return ", ".join(f"{a} {v:.2f} ({row.by_author.get(a, 0)})" for a, v in sorted(row.read_back_by_author.items())) or "–"


def render(rows: list[Row]) -> str:
    head = ("| suite | split | mode | n | failed | scorer failed | F1 | read-back F1 | read-back / true words' | "
            "read-back by author (n) | words with rule syntax | judge choice | "
            "judge match | decoy match | rule F1 | head precision | head recall | head text right | LLM tokens | wall s | LLM | "
            "commit | date | run |")
    lines = ["# sleuth eval scoreboard", "", "Latest run of each suite and mode (`sleuth eval find`, `sleuth eval heads`).",
             "Judge choice: an LLM reads the description and says of two options, the true words and a decoy "
             "(another category's component), whether each matches it, once in each order (1 only the truth, "
             "0 only the decoy, 0.5 both or neither): a judge that ignores the description scores 0.5. Judge match and decoy match are the absolute judge of older runs "
             "(match / partial / miss against the true words, and the same against a decoy; heads: a behaviour "
             "the head does not have): it means something only where it is well above decoy match. "
             "F1: an LLM lists the firing tokens from the words alone. Read-back F1: an LLM restates the words "
             "as a rule (a schema small models fill well) and code marks the tokens it fires on. "
             "Rule F1 is the description's own executable rule against the truth, by code. "
             "The reference row scores the true words themselves: F1 there is the predictor's ceiling, and "
             "a predictor whose reference F1 is low cannot tell good descriptions from bad ones. "
             "Read-back / true words': a mode's read-back F1 over the reference's on the same units (above 1 by more "
             "than noise is a reader bias). Scorer failed: items a scorer could not score, left out of its mean. "
             "Split: test rows are reported and never tuned on; dev rows are what sleuth is tuned on; unseen rows "
             "score units with a generalization split on the members no describer saw fire, alone.", "", head,
             "|" + "---|" * (head.count("|") - 1)]
    for r in sorted(rows, key=lambda r: (r.suite, r.split, r.mode)):
        lines.append("| " + " | ".join([r.suite, r.split or "all", r.mode, str(r.n), str(r.failed), str(r.scoring_failed),
                                        _cell(r.f1), _cell(r.read_back_f1), _cell(r.read_back_vs_reference),
                                        _authors(r), str(r.rule_syntax),
                                        _cell(r.judge_choice), _cell(r.judge_match), _cell(r.decoy_match), _cell(r.rule_f1),
                                        _cell(r.head_precision), _cell(r.head_recall), _cell(r.head_text_right),
                                        str(r.llm_tokens), f"{r.seconds:.0f}", r.llm,
                                        r.commit, r.date, f"[report]({r.report})" if r.report else "–"]) + " |")
    return "\n".join(lines) + "\n"
