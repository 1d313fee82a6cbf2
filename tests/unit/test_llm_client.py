"""The real LLM client against a scripted fake LLM served over real HTTP on loopback."""

import time

import pytest
from pydantic import BaseModel, Field

from sleuth.llm import InvalidOutput, LLMClient, LLMConfig, LLMError, LLMRefused, LLMTimedOut, LLMUnreachable
from sleuth.llm.client import _MODE_CACHE
from sleuth.llm.fake_server import FakeLLM
from sleuth.llm.settings import llm_config

pytestmark = pytest.mark.timeout(60)


class Action(BaseModel):
    tool: str
    layer: int = Field(ge=0, le=29)


@pytest.fixture
def fake():
    with FakeLLM() as server:
        yield server
    _MODE_CACHE.clear()


def client(fake, **kw) -> LLMClient:
    cfg = LLMConfig(base_url=fake.base_url, timeout_s=kw.pop("timeout_s", 2.0), backoff_base_s=0.01, **kw)
    return LLMClient(cfg)


def test_plain_chat_and_token_accounting(fake):
    fake.push({"content": "hello there"})
    c = client(fake)
    assert c.chat([{"role": "user", "content": "hi"}]) == "hello there"
    totals = c.ledger.totals()
    assert totals["calls"] == 1 and totals["prompt_tokens"] == 10 and totals["completion_tokens"] == 2
    assert c.model == "fake-model"


@pytest.mark.parametrize("fault", ["500", "429", "drop"])
def test_transient_faults_are_retried(fake, fault):
    fake.push({"fault": fault}, {"fault": fault}, {"content": "recovered"})
    assert client(fake).chat([{"role": "user", "content": "x"}]) == "recovered"


def test_timeout_is_retried_and_then_surfaces(fake):
    fake.timeout_delay_s = 3.0
    fake.push({"fault": "timeout"}, {"content": "after timeout"})
    start = time.time()
    assert client(fake, timeout_s=0.5).chat([{"role": "user", "content": "x"}]) == "after timeout"
    fake.push(*[{"fault": "timeout"}] * 3)
    with pytest.raises(LLMTimedOut, match="timed out after 3 attempts.*only this call failed"):  # it answers /models
        client(fake, timeout_s=0.5, max_retries=2).chat([{"role": "user", "content": "x"}])
    assert time.time() - start < 20


def test_one_call_stops_at_its_deadline_whatever_its_retries(fake):
    fake.timeout_delay_s = 3.0
    fake.push(*[{"fault": "timeout"}] * 20)
    with pytest.raises(LLMTimedOut, match="one call may take 1.2 s in all"):
        client(fake, timeout_s=0.5, max_retries=19, call_deadline_s=1.2).chat([{"role": "user", "content": "x"}])
    assert len(fake.requests) <= 3  # 20 tries of 0.5 s on main
    assert LLMConfig(timeout_s=100).call_deadline == 250


def test_persistent_errors_surface_clearly(fake):
    fake.push(*[{"fault": "500"}] * 3)
    with pytest.raises(LLMError, match="kept failing"):
        client(fake, max_retries=2).chat([{"role": "user", "content": "x"}])


@pytest.mark.parametrize("fault,words", [("401", "authentication failed"), ("404", "not found")])
def test_a_bad_key_or_model_is_fatal_at_once(fake, fault, words):
    fake.push({"fault": fault}, {"content": "never reached"})
    with pytest.raises(LLMRefused, match=words) as info:
        client(fake).chat([{"role": "user", "content": "x"}])
    assert "fake-model" in str(info.value) and len(fake.requests) == 1, "not retried"
    assert isinstance(info.value, LLMUnreachable), "the agent treats it as fatal, like an unreachable endpoint"


def test_unreachable_endpoint():
    c = LLMClient(LLMConfig(base_url="http://127.0.0.1:9/v1", max_retries=1, backoff_base_s=0.01, timeout_s=1))
    with pytest.raises(LLMUnreachable, match="unreachable"):
        c.chat([{"role": "user", "content": "x"}], max_tokens=1)


def test_schema_mode_is_detected_once_like_llama_cpp(fake):
    c = client(fake)
    assert c.schema_mode() == "json_object"  # json_schema is rejected with HTTP 500, as llama.cpp does
    n = len(fake.requests)
    assert c.schema_mode() == "json_object" and len(fake.requests) == n


def test_a_configured_schema_mode_sends_no_probe(fake, monkeypatch):
    monkeypatch.setenv("SLEUTH_LLM_SCHEMA_MODE", "json_object")
    cfg = llm_config(base_url=fake.base_url)
    fake.push({"content": {"tool": "ablate", "layer": 4}})
    c = LLMClient(cfg)
    assert c.structured([{"role": "user", "content": "go"}], Action) == Action(tool="ablate", layer=4)
    assert len(fake.requests) == 1 and [u.purpose for u in c.ledger.calls] == ["Action"]


def test_openai_style_endpoint_uses_json_schema():
    with FakeLLM(accept_modes=("json_schema", "json_object")) as fake:
        fake.push({"content": {"tool": "ablate", "layer": 4}})
        c = client(fake)
        assert c.structured([{"role": "user", "content": "go"}], Action) == Action(tool="ablate", layer=4)
        assert fake.requests[-1]["response_format"]["type"] == "json_schema"
    _MODE_CACHE.clear()


def test_malformed_and_schema_violating_json_are_fed_back(fake):
    fake.push({"content": "Sure! I would ablate layer 4."}, {"content": {"tool": "ablate", "layer": 99}},
              {"content": "```json\n{\"tool\": \"ablate\", \"layer\": 4}\n```"})
    action = client(fake).structured([{"role": "user", "content": "go"}], Action)
    assert action == Action(tool="ablate", layer=4)
    feedback = fake.requests[-1]["messages"][-1]["content"]
    assert "layer" in feedback and "less than or equal to 29" in feedback


def test_usage_is_kept_per_purpose(fake):
    fake.push({"content": "hi"}, {"content": "not json"}, {"content": {"tool": "ablate", "layer": 4}})
    c = client(fake)
    c.chat([{"role": "user", "content": "hi"}])
    c.structured([{"role": "user", "content": "go"}], Action)  # one retry: two Action calls
    rows = c.ledger.by_purpose()
    assert rows["Action"]["calls"] == 2 and rows["chat"]["calls"] == 1
    assert sum(r["calls"] for r in rows.values()) == c.ledger.totals()["calls"]
    assert sum(r["prompt_tokens"] for r in rows.values()) == c.ledger.totals()["prompt_tokens"]


def test_still_invalid_output_is_an_error_not_a_default(fake):
    fake.push(*[{"content": "no json here"}] * 3)
    with pytest.raises(InvalidOutput, match="no valid Action after 3 tries"):
        client(fake).structured([{"role": "user", "content": "go"}], Action)


def test_slow_streaming_delivers_every_token(fake):
    fake.push({"content": "one two three four", "fault": "slow_stream"})
    seen = []
    text = client(fake).chat([{"role": "user", "content": "x"}], on_token=seen.append)
    assert text == "one two three four" and len(seen) == 4


def test_keys_never_reach_errors_or_usage(fake, monkeypatch):
    secret = "sk-planted-SECRET-123456"
    fake.push(*[{"fault": "500"}] * 2)
    from pydantic import SecretStr

    c = LLMClient(LLMConfig(base_url=fake.base_url, api_key=SecretStr(secret), max_retries=1, backoff_base_s=0.01))
    with pytest.raises(LLMError) as info:
        c.chat([{"role": "user", "content": "x"}])
    assert secret not in str(info.value)
    assert secret not in c.ledger.model_dump_json() and secret not in repr(c.cfg)
    assert fake.requests  # the key was sent as a header, but never echoed


def test_a_brief_replaces_the_schema_only_where_the_server_enforces_it():
    brief = 'Reply with {"tool": "...", "layer": N}.'
    with FakeLLM() as fake:  # json_object + schema: a grammar enforces it
        fake.push({"content": {"tool": "ablate", "layer": 4}}, {"content": {"tool": "ablate", "layer": 4}})
        c = client(fake)
        c.structured([{"role": "user", "content": "go"}], Action, brief=brief)
        assert fake.requests[-1]["messages"][0]["content"] == brief
        c.structured([{"role": "user", "content": "go"}], Action)
        assert '"layer"' in fake.requests[-1]["messages"][0]["content"] and "maximum" in fake.requests[-1]["messages"][0]["content"]
    _MODE_CACHE.clear()
    with FakeLLM(accept_modes=()) as fake:  # no response_format at all: the prompt is all there is
        fake.push({"content": {"tool": "ablate", "layer": 4}})
        c = client(fake)
        assert c.schema_mode() == "prompt"
        c.structured([{"role": "user", "content": "go"}], Action, brief=brief)
        assert "maximum" in fake.requests[-1]["messages"][0]["content"]
    _MODE_CACHE.clear()


def test_a_server_too_busy_to_answer_is_alive_only_while_it_computes():
    """The embedded llama-cpp-python server answers /models only after its current generation: a label run
    sharing it with another process must not take it for down (on main the run stopped)."""
    import socket

    with socket.socket() as silent:  # accepts connections, never answers: a server busy generating
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        c = LLMClient(LLMConfig(base_url=f"http://127.0.0.1:{silent.getsockname()[1]}/v1", model="m"))
        assert not c.alive(timeout_s=0.3)
        c.busy = lambda: True
        assert c.alive(timeout_s=0.3) and c.metered(c.ledger).alive(timeout_s=0.3)
        c.busy = lambda: False  # hung or stopped: down
        assert not c.alive(timeout_s=0.3)
