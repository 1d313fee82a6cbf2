"""The graph's routing and protocol decisions, with the scripted fake LLM over real HTTP (no model)."""

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from sleuth.agent.budget import exhausted, fresh_budget
from sleuth.agent.deps import AgentDeps
from sleuth.agent.graph import NODES, build_graph, route
from sleuth.agent.neuron import most_disagreed
from sleuth.agent.nodes import plan, task_kind, update
from sleuth.agent.state import add_unique
from sleuth.config import AgentSettings
from sleuth.llm import LLMClient, LLMConfig
from sleuth.llm.client import _MODE_CACHE
from sleuth.llm.fake_server import FakeLLM

sys.path.insert(0, str(Path(__file__).parents[1]))
from scripted_policy import investigator  # noqa: E402

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def deps():
    with FakeLLM(responder=investigator) as fake:
        client = LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0))
        yield AgentDeps(ctx=SimpleNamespace(target=SimpleNamespace(name="m"), seed=0), llm=client, store=None,
                        settings=AgentSettings(max_steps=10))
    _MODE_CACHE.clear()


def state(**kw):
    base = {"thread_id": "t", "model": "m", "question": "q", "stage": "investigate", "budget": fresh_budget(),
            "current": 0, "tasks": [], "shape": {"kind": "component"}}
    return {**base, **kw}


def test_graph_has_the_documented_nodes():
    assert list(NODES) == ["retrieve", "plan", "act", "record", "update", "describe", "validate", "answer"]
    graph = build_graph(SimpleNamespace())
    assert set(graph.nodes) == set(NODES)
    assert route({"route": "act"}) == "act" and route({"route": "nonsense"}) == "answer" and route({}) == "answer"


def test_plan_routes_by_stage(deps):
    s = state(tasks=[{"component": "blocks.0.mlp.hook_post[1]", "kind": "neuron", "stage": "describe"}])
    assert plan(s, deps)["route"] == "describe"
    s["tasks"][0]["stage"] = "score"
    assert plan(s, deps)["route"] == "validate"
    s["tasks"][0]["stage"] = "done"
    out = plan(s, deps)
    assert out["route"] == "plan" and out["current"] == 1
    assert plan(state(current=1, tasks=s["tasks"]), deps)["route"] == "answer"
    s["tasks"][0]["stage"] = "explore"
    out = plan(s, deps)
    assert out["route"] == "act" and out["pending"][0]["tool"] == "top_activations"
    assert out["pending"][0]["args"]["sites"] == ["blocks.0.mlp.hook_post[1]"]  # the site comes from the state


def test_budget_ends_the_run_with_a_reason(deps):
    s = state(budget={**fresh_budget(), "steps": 10}, tasks=[{"component": "x", "kind": "neuron", "stage": "explore"}])
    out = plan(s, deps)
    assert out["route"] == "answer" and "step budget" in out["partial"]
    assert exhausted({**fresh_budget(), "failures": 3}, AgentSettings()) is not None
    assert exhausted(fresh_budget(), AgentSettings()) is None


def test_llm_step_goes_through_the_real_client(deps):
    s = state(tasks=[{"component": "blocks.0.mlp.hook_post[1]", "kind": "neuron", "stage": "hypothesize",
                      "examples": [{"text": "a [[def]] b", "value": 3.0}], "quiet": [], "stats": ""}])
    out = plan(s, deps)
    task = out["tasks"][0]
    assert task["stage"] == "test" and out["route"] == "plan"
    assert task["hypotheses"][0]["statement"] == "fires on the token 'def'"
    assert out["budget"]["tokens"] > 0 and out["budget"]["steps"] == 1


def test_invalid_llm_output_is_a_counted_failure_not_a_crash(deps):
    with FakeLLM(steps=[{"content": "nope"}] * 3) as broken:
        deps.llm = LLMClient(LLMConfig(base_url=broken.base_url, timeout_s=5.0))
        s = state(tasks=[{"component": "blocks.0.mlp.hook_post[1]", "kind": "neuron", "stage": "hypothesize"}])
        out = plan(s, deps)
    assert out["route"] == "plan" and out["budget"]["failures"] == 1
    assert "no valid Hypotheses" in out["messages"][0]["content"]


def test_failed_tool_call_on_llm_texts_asks_for_new_texts(deps):
    s = state(tasks=[{"component": "c", "kind": "neuron", "stage": "run_tests"}],
              results=[{"tool": "activations", "purpose": "test_texts", "error": "activations: bad text"}])
    out = update(s, deps)
    assert out["tasks"][0]["stage"] == "test" and "bad text" in out["tasks"][0]["feedback"]


def test_experiment_choice_prefers_disagreement():
    predictions = {"H1": [True, True, False, False], "H2": [True, False, True, False]}
    assert most_disagreed(predictions, 4, 2) == [1, 2]


def test_evidence_reducer_never_repeats():
    assert add_unique(["a", "b"], ["b", "c"]) == ["a", "b", "c"]


def test_task_kind():
    assert task_kind("blocks.1.attn.hook_z[2]") == "head"
    assert task_kind("blocks.1.mlp.hook_post[2]") == "neuron"
    assert task_kind("blocks.1.hook_resid_post~probe") == "neuron"
