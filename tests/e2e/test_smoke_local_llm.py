"""Smoke: the real embedded 0.5B LLM answers a neuron question end to end through `sleuth ask`.

A weak model may fail validation; that is an honest result. The run must finish cleanly, with a
description (validated, rejected or failed) whose claims cite evidence that exists in memory.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sleuth.memory import open_store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500), pytest.mark.embedded_llm]
SLEUTH = str(Path(sys.executable).parent / "sleuth")


def test_embedded_llm_answers_a_neuron_question(make_agent_home, tmp_path):
    agent_home = make_agent_home()  # an empty memory: nothing earlier tests stored
    config = tmp_path / "sleuth.toml"
    config.write_text("[agent]\nexplain_windows = 128\nheldout_windows = 128\nmax_attempts = 1\n")
    env = {k: v for k, v in os.environ.items() if k not in ("SLEUTH_LLM_BASE_URL", "OPENAI_API_KEY")}
    env.update(SLEUTH_HOME=str(agent_home), SLEUTH_CONFIG=str(config), SLEUTH_LLM_LOCAL_MODEL="qwen2.5-coder-0.5b")
    proc = subprocess.run([SLEUTH, "ask", "what does neuron blocks.3.mlp.hook_post[100] do?", "--json"],
                          capture_output=True, text=True, env=env, timeout=1400)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["status"] in ("done", "partial") and out["evidence_ids"]
    assert out["llm_usage"]["completion_tokens"] > 0
    store = open_store(agent_home)
    assert all(store.get(i) is not None for i in out["evidence_ids"])
    if out["findings"]:
        finding = out["findings"][0]
        assert finding["status"] in ("validated", "rejected", "failed")
        assert store.get(finding["description_id"]).status == finding["status"]
        for claim in finding["claims"]:
            assert all(store.get(i) is not None for i in claim["evidence_ids"])
    else:
        assert out["partial"], "no finding must come with the reason the run stopped"
