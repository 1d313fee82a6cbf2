import json
import os
import subprocess
import sys
from pathlib import Path

from sleuth.llm.fake_server import FakeLLM

SLEUTH = str(Path(sys.executable).parent / "sleuth")


def _run(args, env_extra, home):
    env = {**os.environ, "SLEUTH_HOME": str(home), **env_extra}
    return subprocess.run([SLEUTH, *args], capture_output=True, text=True, env=env, timeout=300)


def test_llm_check_against_an_openai_compatible_endpoint(tmp_path):
    secret = "sk-planted-key-do-not-log-4242"
    with FakeLLM([{"content": "one two three four five"},
                  {"content": {"answer": "Paris", "confidence": 0.9}}]) as fake:
        proc = _run(["llm", "check", "--json"], {"SLEUTH_LLM_BASE_URL": fake.base_url,
                                                 "SLEUTH_LLM_API_KEY": secret}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["reachable"] and report["model"] == "fake-model" and report["structured_output"]
    assert report["schema_mode"] == "json_object" and report["tokens_per_s"] > 0
    assert report["structured_sample"] == {"answer": "Paris", "confidence": 0.9}
    assert secret not in proc.stdout + proc.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), f"key leaked into {path}"


def test_llm_check_unreachable_endpoint(tmp_path):
    proc = _run(["llm", "check"], {"SLEUTH_LLM_BASE_URL": "http://127.0.0.1:9/v1"}, tmp_path)
    assert proc.returncode != 0 and "unreachable" in proc.stderr and "Traceback" not in proc.stderr
