import json
import os
import subprocess
import sys
from pathlib import Path

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
