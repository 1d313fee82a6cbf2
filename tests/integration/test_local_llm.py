"""The embedded llama.cpp server, for real, with the small 0.5B model."""

import enum
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from pydantic import BaseModel, Field, create_model

from sleuth.llm import LLMClient, LLMConfig
from sleuth.llm import local_server

pytestmark = [pytest.mark.timeout(900), pytest.mark.embedded_llm]
MODEL = "qwen2.5-coder-0.5b"


@pytest.fixture(scope="module")
def server(sleuth_home):
    state = local_server.acquire(sleuth_home, MODEL, threads=2)
    yield state
    local_server.release(sleuth_home, state["lease"])


def _action_model(smollm):
    """An agent action whose site is an enum of the loaded target's hook points, with bounded head/layer."""
    attention = [s for s in smollm.hook_sites() if s.hook in ("attn.hook_pattern", "attn.hook_z")]
    Sites = enum.Enum("Sites", {str(s).replace(".", "_"): str(s) for s in attention})
    return create_model("AgentAction", tool=(str, Field(description="one of: attention_pattern, ablate")),
                        site=(Sites, ...), layer=(int, Field(ge=0, le=smollm.shape.n_layers - 1)),
                        head=(int, Field(ge=0, le=smollm.shape.n_heads - 1)), reason=(str, ...), __base__=BaseModel)


def test_embedded_server_gives_schema_valid_actions(server, smollm):
    client = LLMClient(LLMConfig(base_url=server["base_url"], timeout_s=300))
    # llama-cpp-python rejects json_schema; llm_session configures json_object for it without a probe
    assert client.schema_mode() == "json_object"
    Action = _action_model(smollm)
    action = client.structured([{"role": "user", "content": "We want to look at the attention pattern of head 5 in "
                                 "layer 4 (site blocks.4.attn.hook_pattern). Choose the next action."}], Action,
                               max_tokens=120)
    assert 0 <= action.layer < 30 and 0 <= action.head < 9
    assert action.site.value in {str(s) for s in smollm.hook_sites()}
    assert action.site.value.startswith("blocks.")
    assert client.ledger.totals()["completion_tokens"] > 0


def test_a_second_user_shares_the_server(server, sleuth_home):
    again = local_server.acquire(sleuth_home, MODEL)
    assert again["pid"] == server["pid"]  # shared, not a second server
    local_server.release(sleuth_home, again["lease"])
    assert local_server.healthy(server["base_url"])  # the fixture still holds a lease
    state = json.loads((sleuth_home / "llm" / "servers" / f"{MODEL}.json").read_text())
    assert state["base_url"] == server["base_url"]


def test_a_busy_server_gets_a_health_budget_and_is_never_killed_under_its_users(server, sleuth_home):
    os.killpg(server["pid"], signal.SIGSTOP)  # busy: its health check times out
    resume = threading.Timer(4.0, os.killpg, (server["pid"], signal.SIGCONT))
    resume.start()
    again = local_server.acquire(sleuth_home, MODEL, health_budget_s=30)
    assert again["pid"] == server["pid"], "a server that answers within the budget is reused, not replaced"
    local_server.release(sleuth_home, again["lease"])
    os.killpg(server["pid"], signal.SIGSTOP)
    try:
        with pytest.raises(local_server.LLMUnreachable, match="not restarted under them"):
            local_server.acquire(sleuth_home, MODEL, health_budget_s=1)
        assert local_server.same_process(server["pid"], server["start_time"]), "a server with a live lease survives"
    finally:
        os.killpg(server["pid"], signal.SIGCONT)
    assert local_server.healthy(server["base_url"], timeout=10)
    with pytest.raises(local_server.ServerInUse, match="in use"):
        local_server.stop(sleuth_home, MODEL)  # `sleuth llm stop` without --force respects the lease
    assert local_server.healthy(server["base_url"])


def test_a_second_model_gets_its_own_server(server, sleuth_home):
    users = local_server.live_leases(sleuth_home, "qwen2.5-coder-1.5b")  # a sleuth run on this machine may hold one
    other = local_server.acquire(sleuth_home, "qwen2.5-coder-1.5b", threads=2)
    try:
        assert other["pid"] != server["pid"] and other["port"] != server["port"]
        assert local_server.healthy(server["base_url"]), "the first model's server is not stopped for the second"
    finally:
        local_server.release(sleuth_home, other["lease"])
    still = local_server.same_process(other["pid"], other["start_time"])
    assert still if users else not still, "on demand: it stops with its last lease, never under another user's"
    assert local_server.healthy(server["base_url"])


# A background job of a non-interactive shell (how CI may run) starts with SIGINT ignored, and Python then
# installs no KeyboardInterrupt handler; a terminal user's Ctrl-C is not ignored: restore it as a terminal has it.
_START_IN_CHILD = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from pathlib import Path
from sleuth.llm import local_server
local_server.acquire(Path(sys.argv[1]), sys.argv[2], threads=1)
"""


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT])
def test_an_interrupted_start_leaves_no_orphan_server(tmp_path, sleuth_home, signum):
    home = tmp_path / "home"
    home.mkdir()
    (home / "gguf").symlink_to(sleuth_home / "gguf")  # the joined model file, not a second copy
    child = subprocess.Popen([sys.executable, "-c", _START_IN_CHILD, str(home), MODEL])
    state_file = home / "llm" / "servers" / f"{MODEL}.json"
    deadline = time.time() + 120
    while not state_file.exists() and time.time() < deadline:
        time.sleep(0.05)
    recorded = json.loads(state_file.read_text())
    assert recorded["ready"] is False, "the pid is recorded before the server answers"
    child.send_signal(signum)
    child.wait(timeout=60)
    if signum == signal.SIGINT:  # Ctrl-C during start-up stops the half-started server itself
        assert _gone(recorded), "the interrupted start stopped its own server"
        assert local_server.read_state(home, MODEL) is None
    state = local_server.acquire(home, MODEL, threads=1)
    local_server.release(home, state["lease"])
    assert _gone(recorded), "no orphan llama.cpp server"
    assert _gone(state)


def _gone(state: dict, within_s: float = 30.0) -> bool:
    """The recorded server has exited (bounded: a loaded 2-core machine may take seconds to tear it down)."""
    deadline = time.time() + within_s
    while local_server.same_process(state["pid"], state["start_time"]) and time.time() < deadline:
        time.sleep(0.1)
    return not local_server.same_process(state["pid"], state["start_time"])


def test_a_dead_server_is_detected_and_replaced(sleuth_home, server):
    os.killpg(server["pid"], signal.SIGKILL)
    fresh = local_server.acquire(sleuth_home, MODEL, threads=2)
    try:
        assert fresh["pid"] != server["pid"] and local_server.healthy(fresh["base_url"])
        assert fresh["model"] == MODEL
    finally:
        local_server.release(sleuth_home, fresh["lease"])
    assert local_server.healthy(fresh["base_url"]), "the fixture's lease still holds the server"
    local_server.release(sleuth_home, server["lease"])
    assert not local_server.healthy(fresh["base_url"]), "the on-demand server must stop with its last lease"
    assert local_server.read_state(sleuth_home, MODEL) is None
