import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SLEUTH = str(Path(sys.executable).parent / "sleuth")


def test_tools_list_and_schema(cli):
    names = {t["name"] for t in json.loads(cli("tools", "list", "--json").stdout)}
    assert {"ablate", "patch", "probe", "top_activations"} <= names
    schema = json.loads(cli("tools", "schema", "attention_pattern", "--model", "smollm2-135m").stdout)
    assert schema["properties"]["head"]["maximum"] == 8


def test_tools_run_json(cli):
    args = json.dumps({"components": ["L4H5"], "texts": ["When Mary and John went out, John gave it to"],
                       "answers": [" Mary"], "foils": [" John"]})
    result = json.loads(cli("tools", "run", "ablate", "--model", "smollm2-135m", "--args", args, "--json").stdout)
    assert result["tool"] == "ablate" and result["provenance"]["model"] == "smollm2-135m"
    assert result["data"]["per_example"][0]["logit_diff_clean"] > 0


def test_tools_run_bad_input(cli):
    proc = cli("tools", "run", "activations", "--args", '{"site": "blocks.99.mlp.hook_post[1]", "texts": ["x"]}', ok=False)
    assert proc.returncode != 0 and "layers 0..29" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("tools", "run", "activations", "--args", "{not json", ok=False)
    assert proc.returncode != 0 and "not valid JSON" in proc.stderr
    proc = cli("tools", "run", "frobnicate", ok=False)
    assert proc.returncode != 0 and "unknown tool 'frobnicate'" in proc.stderr


@pytest.mark.faults
def test_the_scan_cache_survives_kills_at_random_points(make_agent_home):
    import fault_harness

    home = make_agent_home(own=("cache",))
    env = {**os.environ, "SLEUTH_HOME": str(home)}
    cache = home / "cache" / "smollm2-135m"
    args = json.dumps({"sites": ["blocks.2.mlp.hook_post"], "n_windows": 256})
    command = [SLEUTH, "tools", "run", "top_activations", "--model", "smollm2-135m", "--args", args, "--json"]

    def result() -> dict:
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["data"]

    reference = result()

    def forget() -> bool:
        for path in cache.glob("scan-*.npz"):
            path.unlink()
        return True

    def check() -> str | None:
        for path in cache.glob("scan-*.npz"):
            try:
                with np.load(path) as d:
                    [d[key] for key in d.files]
            except Exception as exc:
                return f"{path.name} is unreadable: {exc}"
        return None

    forget()
    chain = fault_harness.kill_chain("scan cache (tools run top_activations)", lambda: command, env,
                                     fault_harness.kills(), seed=5, delay=(1.0, 4.5), check=check, on_complete=forget)
    final = result()
    fault_harness.finish(chain, final == reference)
    assert chain.tried >= fault_harness.kills() and chain.survived == chain.tried, chain.line()
    assert final == reference
    assert not list(cache.glob(".*.tmp")), "a killed writer's temporary file is removed by the next writer"
