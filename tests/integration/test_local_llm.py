"""The embedded llama.cpp server, for real, with the small 0.5B model."""

import enum
import json
import os
import signal

import pytest
from pydantic import BaseModel, Field, create_model

from sleuth.llm import LLMClient, LLMConfig
from sleuth.llm import local_server

pytestmark = pytest.mark.timeout(900)
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
    assert client.schema_mode() == "json_object"  # llama-cpp-python rejects json_schema
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
    state = json.loads((sleuth_home / "llm" / "server.json").read_text())
    assert state["base_url"] == server["base_url"]


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
    assert local_server.read_state(sleuth_home) is None
