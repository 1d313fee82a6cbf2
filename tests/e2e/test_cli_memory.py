import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SLEUTH = str(Path(sys.executable).parent / "sleuth")

SEED = """
from pathlib import Path
from sleuth.memory import open_store, Evidence, Description
store = open_store(Path(__import__("os").environ["SLEUTH_HOME"]))
ev = Evidence(run_id="r", model="smollm2-135m", component="blocks.3.mlp.hook_post[100]", tool="activations",
              summary="fires on the names of months")
store.put([ev, Description(model="smollm2-135m", component="blocks.3.mlp.hook_post[100]", text="month names",
                           evidence_ids=[ev.id], status="validated", scores={"detection": 0.9})])
print(ev.id)
"""


def _sleuth(home, *args, env_extra=None):
    env = {**os.environ, "SLEUTH_HOME": str(home), **(env_extra or {})}
    return subprocess.run([SLEUTH, *args], capture_output=True, text=True, env=env, timeout=300)


def test_memory_cli_round_trip(tmp_path):
    home = tmp_path / "home"
    seeded = subprocess.run([sys.executable, "-c", SEED], capture_output=True, text=True, check=True,
                            env={**os.environ, "SLEUTH_HOME": str(home)})
    ev_id = seeded.stdout.strip().splitlines()[-1]
    hits = json.loads(_sleuth(home, "memory", "search", "calendar months", "--json").stdout)
    assert hits[0]["component"] == "blocks.3.mlp.hook_post[100]"
    shown = json.loads(_sleuth(home, "memory", "show", ev_id, "--json").stdout)
    assert shown["summary"] == "fires on the names of months"
    history = _sleuth(home, "memory", "history", "blocks.3.mlp.hook_post[100]")
    assert "v1 [validated]" in history.stdout
    stats = json.loads(_sleuth(home, "memory", "stats", "--json").stdout)
    assert stats["records"] == 2
    out = tmp_path / "export.jsonl"
    assert _sleuth(home, "memory", "export", str(out)).returncode == 0
    other = tmp_path / "other"
    assert _sleuth(other, "memory", "import", str(out)).returncode == 0
    assert json.loads(_sleuth(other, "memory", "stats", "--json").stdout)["records"] == 2
    missing = _sleuth(home, "memory", "show", "ev-nope")
    assert missing.returncode != 0 and "no record with id 'ev-nope'" in missing.stderr


def test_unreachable_team_server(tmp_path):
    proc = _sleuth(tmp_path, "memory", "stats", env_extra={"SLEUTH_CHROMA_URL": "http://127.0.0.1:9"})
    assert proc.returncode != 0 and "cannot reach the Chroma server" in proc.stderr
    assert "Traceback" not in proc.stderr


def _export_file(path: Path, n: int) -> dict[str, dict]:
    """A JSONL export of n evidence records and n // 10 descriptions (what `memory export` writes)."""
    from sleuth.memory import Description, Evidence

    records = [Evidence(run_id="r", model="smollm2-135m", component=f"blocks.3.mlp.hook_post[{i}]", tool="activations",
                        args={"texts": [f"text {i}"]}, result={"max": i / 7}, summary=f"fires on token {i} of a list")
               for i in range(n)]
    records += [Description(model="smollm2-135m", component=f"blocks.3.mlp.hook_post[{i}]", text=f"unit {i} fires on lists",
                            version=1, status="validated", scores={"rule": 0.9}, run_id="r") for i in range(0, n, 10)]
    rows = [{"kind": "description" if isinstance(r, Description) else "evidence", "record": r.model_dump(mode="json")}
            for r in records]
    path.write_text("".join(json.dumps(row, sort_keys=True) + "\n" for row in rows))
    return {row["record"]["id"]: row["record"] for row in rows}


@pytest.mark.faults
def test_memory_import_killed_at_random_points_loses_and_duplicates_nothing(tmp_path):
    import fault_harness

    from sleuth.memory import open_store

    export = tmp_path / "export.jsonl"
    expected = _export_file(export, 600)
    home = tmp_path / "home"
    env = {**os.environ, "SLEUTH_HOME": str(home)}

    def stored() -> dict[str, dict]:
        return {r.id: r.model_dump(mode="json") for r in open_store(home).all()}

    def check() -> str | None:
        try:
            now = stored()
        except Exception as exc:  # the store must open after any kill
            return f"the store does not open: {exc}"
        extra = set(now) - set(expected)
        torn = [i for i in set(now) & set(expected) if now[i] != expected[i]]
        return f"{len(extra)} unknown and {len(torn)} altered records" if extra or torn else None

    def progress() -> tuple[int, int]:  # records in the store, of the export's
        try:
            return len(stored()), len(expected)
        except Exception:
            return 0, len(expected)

    attempt = [0]

    def command() -> list[str]:
        attempt[0] += 1
        return [SLEUTH, "memory", "import", str(export)]

    def rows_on_disk() -> int:  # Chroma's own table, read-only (opening a store in the poll would be far slower)
        import sqlite3

        database = home / "memory" / "chroma.sqlite3"
        if not database.is_file():
            return 0
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as con:
                return con.execute("select count(*) from embeddings").fetchone()[0]
        except sqlite3.Error:
            return 0

    # the first kill lands in the start-up, before anything is stored; every later one a seeded moment after the
    # store holds a batch, so it lands between the import's batches (it writes 32 records at a time)
    chain = fault_harness.kill_chain("memory import", command, env, fault_harness.kills(), seed=3, delay=(0.0, 1.0),
                                     check=check, started=lambda: attempt[0] == 1 or rows_on_disk() > 0,
                                     on_complete=lambda: True, progress=progress)
    assert _sleuth(home, "memory", "import", str(export)).returncode == 0
    final = stored()
    fault_harness.finish(chain, final == expected)
    assert chain.tried >= fault_harness.kills() and chain.survived == chain.tried, chain.line()
    assert {"before", "inside"} <= set(chain.landed), chain.line()  # kills landed before and between batches
    assert final == expected
