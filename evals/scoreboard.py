"""The scoreboard: the latest row per (suite, mode), as Markdown and a JSON twin, plus a history file.

Every eval run appends its rows to `$SLEUTH_HOME/evals/history.jsonl`, so runs can be
compared over time; `scoreboard.json`/`scoreboard.md` keep the latest row of each suite and mode.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from pydantic import BaseModel

from sleuth import __version__
from sleuth.atomic_files import write_atomically
from sleuth.locks import file_lock


class Row(BaseModel):
    suite: str
    mode: str
    n: int
    failed: int = 0
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


def commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() or __version__
    except (OSError, subprocess.SubprocessError):
        return __version__


def stamp(rows: list[Row]) -> list[Row]:
    now, head = time.strftime("%Y-%m-%d %H:%M"), commit()
    return [r.model_copy(update={"commit": r.commit or head, "date": r.date or now}) for r in rows]


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
            current[f"{row.suite}/{row.mode}"] = row
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


def render(rows: list[Row]) -> str:
    head = ("| suite | mode | n | failed | F1 | read-back F1 | judge choice | judge match | decoy match | rule F1 | head precision | "
            "head recall | head text right | LLM tokens | wall s | LLM | commit | date |")
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
             "a predictor whose reference F1 is low cannot tell good descriptions from bad ones.", "", head,
             "|" + "---|" * (head.count("|") - 1)]
    for r in sorted(rows, key=lambda r: (r.suite, r.mode)):
        lines.append("| " + " | ".join([r.suite, r.mode, str(r.n), str(r.failed), _cell(r.f1), _cell(r.read_back_f1),
                                        _cell(r.judge_choice), _cell(r.judge_match), _cell(r.decoy_match), _cell(r.rule_f1),
                                        _cell(r.head_precision), _cell(r.head_recall), _cell(r.head_text_right),
                                        str(r.llm_tokens), f"{r.seconds:.0f}", r.llm,
                                        r.commit, r.date]) + " |")
    return "\n".join(lines) + "\n"
