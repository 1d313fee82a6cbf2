"""The graph's routing and protocol decisions, with the scripted fake LLM over real HTTP (no model)."""

import dataclasses
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from sleuth.agent.budget import exhausted, fresh_budget
from sleuth.agent.deps import AgentDeps
from sleuth.agent.graph import NODES, build_graph, route
from sleuth.agent.answer import contradicts, fact
from sleuth.scorers.verdict import verdict
from sleuth.agent.neuron import next_stage
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
                      "examples": [{"text": "a [[def]] b", "value": 3.0}], "quiet": [], "stats": "",
                      "windows": [{"tokens": ["a", " def", " b"], "values": [0.0, 3.0, 0.0]}], "fire_threshold": 0.9}])
    out = plan(s, deps)
    task = out["tasks"][0]
    assert task["stage"] == "test" and out["route"] == "plan"
    first = task["hypotheses"][0]
    assert first["statement"] == "fires on the token 'def'" and first["rule"] == {"token_in": ["def"]}
    # the rule is scored by code on the explain windows, before any test text exists
    assert first["fit"]["f1"] == 1.0 and first["status"] == "supported" and task["hypotheses"][1]["fit"]["f1"] == 0.0
    assert out["budget"]["tokens"] > 0 and out["budget"]["steps"] == 1


def test_invalid_llm_output_is_a_counted_failure_not_a_crash(deps):
    with FakeLLM(steps=[{"content": "nope"}] * 3) as broken:
        deps.llm = LLMClient(LLMConfig(base_url=broken.base_url, timeout_s=5.0))
        s = state(tasks=[{"component": "blocks.0.mlp.hook_post[1]", "kind": "neuron", "stage": "hypothesize"}])
        out = plan(s, deps)
    assert out["route"] == "plan" and out["budget"]["failures"] == 1
    assert "no valid Hypotheses" in out["messages"][0]["content"]


def test_without_llm_hypotheses_the_investigation_goes_on_with_code_s_rules(deps):
    with FakeLLM(steps=[{"content": "nope"}] * 3) as broken:
        deps.llm = LLMClient(LLMConfig(base_url=broken.base_url, timeout_s=5.0))
        s = state(tasks=[{"component": "blocks.0.mlp.hook_post[1]", "kind": "neuron", "stage": "hypothesize",
                          "windows": [{"tokens": ["a", " def", " b", " def"], "values": [0.0, 3.0, 0.0, 2.5]}],
                          "fire_threshold": 0.9}])
        out = plan(s, deps)
    task = out["tasks"][0]
    assert out["budget"]["failures"] == 0 and task["stage"] == "test" and "no valid Hypotheses" in task["hypothesize_error"]
    assert task["hypotheses"] and {h["source"] for h in task["hypotheses"]} == {"induced"}
    assert task["hypotheses"][0]["rule"] == {"token_in": ["def"]} and task["hypotheses"][0]["fit"]["f1"] == 1.0


def test_one_malformed_rule_drops_only_its_hypothesis():
    """Measured in eval find: the 1.5B, shown '*' tokens, wrote the regex '*' in one of three hypotheses,
    and three refused replies ended the investigation. Now only that hypothesis goes."""
    from pydantic import ValidationError

    from sleuth.agent.schemas import Hypotheses

    good = {"statement": "fires on the word 'from'", "rule": {"token_in": ["from"]}}
    bad = {"statement": "fires on a star", "rule": {"regex": {"token": "*"}}}
    kept = Hypotheses.model_validate({"hypotheses": [bad, good]})
    assert [h.statement for h in kept.hypotheses] == [good["statement"]]
    with pytest.raises(ValidationError, match="bad regex"):  # none valid: refused, the problem goes back
        Hypotheses.model_validate({"hypotheses": [bad]})


def test_failed_tool_call_on_llm_texts_asks_for_new_texts(deps):
    s = state(tasks=[{"component": "c", "kind": "neuron", "stage": "run_tests"}],
              results=[{"tool": "activations", "purpose": "test_texts", "error": "activations: bad text"}])
    out = update(s, deps)
    assert out["tasks"][0]["stage"] == "test" and "bad text" in out["tasks"][0]["feedback"]


def test_refinement_is_bounded_and_stops_at_the_target():
    cfg = AgentSettings(rule_rounds=2, rule_target_f1=0.9)
    hyp = lambda i, f1: {"id": f"H{i}", "fit": {"f1": f1, "correlation": 0.0}}  # noqa: E731
    assert next_stage({"hypotheses": [hyp(1, 0.5)], "rounds": []}, cfg) == "refine"
    assert next_stage({"hypotheses": [hyp(1, 0.5), hyp(2, 0.95)], "rounds": [{"from": "H1"}]}, cfg) == "describe"
    improved = {"hypotheses": [hyp(1, 0.5), hyp(2, 0.6)], "rounds": [{"from": "H1"}]}
    assert next_stage(improved, cfg) == "refine"
    assert next_stage({**improved, "rounds": [{"from": "H1"}, {"from": "H2"}]}, cfg) == "describe"  # rounds spent
    # the revision did not beat H1: a second round would send the same rule and misses again
    assert next_stage({"hypotheses": [hyp(1, 0.5), hyp(2, 0.4)], "rounds": [{"from": "H1"}]}, cfg) == "describe"


def test_a_rejected_neuron_goes_back_only_as_far_as_what_failed():
    from sleuth.agent import circuit, head, neuron

    passed = {"scorer": "rule", "status": "scored", "passed": True}
    words = {"scorer": "words_match_rule", "status": "scored", "passed": False}
    judge_down = {"scorer": "detection", "status": "failed", "passed": None}
    words_by_code = {"stage": "describe", "rule_words": True}  # the rule held: its words, stated by code
    assert neuron.retry({}, {"scores": [passed, words]}) == words_by_code
    assert neuron.retry({}, {"scores": [passed, judge_down]}) == words_by_code
    rule_failed = {"scorer": "rule", "status": "scored", "passed": False}
    assert neuron.retry({}, {"scores": [rule_failed, words]})["stage"] == "hypothesize"
    # code's exact words for a rule that held were rejected: no other attempt (a worse rule would be less true)
    assert neuron.retry({"rule_words": True}, {"scores": [passed, words]}) is None
    # the LLM already wrote code's literal words for the rule (any case): stating them again would repeat the failure
    copied = {"draft": {"description": "fires on the word 'def' (any case).", "rule": {"token_in": ["def"]}}}
    assert neuron.retry(copied, {"scores": [passed, words]}) is None
    assert neuron.retry(copied, {"scores": [rule_failed, words]})["stage"] == "hypothesize"  # the rule failed: another
    own = {"draft": {"description": "Fires on Python's def keyword.", "rule": {"token_in": ["def"]}}}
    assert neuron.retry(own, {"scores": [passed, words]}) == words_by_code
    assert head.retry({}, {"scores": []})["stage"] == "hypothesize" and circuit.retry({}, {"scores": []}) is None
    assert head.retry({"searched": "induction"}, {"scores": []}) is None  # failing the search's check is the answer


def test_a_rejected_head_whose_behaviour_replicated_goes_back_only_to_its_words():
    from sleuth.agent import head

    c = "blocks.1.attn.hook_z[3]"
    task = {"component": c, "hypotheses": [
        {"statement": "L1H3 is an induction head", "kind": "induction", "rule": {"attends_to": "after_previous_occurrence"}},
        {"statement": "L1H3 is a previous-token head", "kind": "previous_token", "rule": {"attends_to": "previous_token"}}],
        "scan": {"induction": {"value": 0.9, "rank": 2, "of": 8, "percentile": 0.95, "standing": 0.95},
                 "previous_token": {"value": 0.1, "rank": 6, "of": 8, "percentile": 0.3, "standing": 0.3}},
        "draft": {"description": "L1H3 copies tokens from earlier in the text."}, "fresh": {"value": 0.9}}
    held = [{"scorer": "replication", "status": "scored", "passed": True},
            {"scorer": "attention_rule", "status": "scored", "passed": True}]
    words = {"scorer": "attention_simulation", "status": "scored", "passed": False}
    assert head.retry(task, {"scores": held + [words]}) == {"stage": "describe", "rule_words": True}
    text, claims = head.words_draft(task, head.best(task))
    assert text == head.code_text(c, "induction") and "induction" in text and "ranks 2 of 8 heads" in claims[0]["text"]
    # code's words failed already, or the LLM had written them: new hypotheses, measured again
    assert head.retry({**task, "rule_words": True}, {"scores": held + [words]})["stage"] == "hypothesize"
    assert head.retry({**task, "draft": {"description": text}}, {"scores": held + [words]})["stage"] == "hypothesize"
    moved = {"scorer": "replication", "status": "scored", "passed": False}
    again = head.retry(task, {"scores": [moved, held[1], words]})
    assert again["stage"] == "hypothesize" and again["fresh"] is None


def _score(name, status="scored", value=0.9, threshold=0.5):
    from sleuth.scorers import Score

    passed = None if status != "scored" else value >= threshold
    return Score(scorer=name, status=status, value=value if status == "scored" else None, threshold=threshold,
                 passed=passed, reason=None if status == "scored" else "LLM: down")


def test_validated_only_when_every_configured_scorer_scored_and_passed():
    assert verdict([_score("rule"), _score("detection")]) == ("validated", None)
    status, reason = verdict([_score("rule"), _score("detection", status="failed")])
    assert status == "failed" and "detection failed: LLM: down" in reason
    status, reason = verdict([_score("rule", value=0.2), _score("embedding", status="unscored")])
    assert status == "rejected" and "rule 0.20 < 0.5" in reason and "embedding unscored" in reason
    status, reason = verdict([_score("rule"), _score("words_match_rule", value=0.4, threshold=0.7)])
    assert status == "rejected" and "words do not match the rule" in reason
    assert verdict([])[0] == "failed"


FOUND = {"short": "L16H0", "status": "validated", "text": "L16H0 attends to the previous token.", "reason": None}


def test_the_answer_states_each_status_as_stored():
    assert "validated on held-out data" in fact(FOUND)
    rejected = {**FOUND, "status": "rejected", "reason": "rule 0.20 < 0.5"}
    assert "rejected" in fact(rejected) and "rule 0.20 < 0.5" in fact(rejected)
    assert contradicts("The findings were not validated on held-out data.", [FOUND])
    assert contradicts("L16H0 failed validation.", [FOUND])
    assert not contradicts("L16H0 is a previous-token head.", [FOUND])
    assert contradicts("L16H0 was validated as a previous-token head.", [rejected])
    assert not contradicts("L16H0 was not validated.", [rejected])
    assert contradicts("L16N0 is a previous-token head.", [FOUND])  # names a component with no finding


def test_evidence_reducer_never_repeats():
    assert add_unique(["a", "b"], ["b", "c"]) == ["a", "b", "c"]


def test_task_kind():
    assert task_kind("blocks.1.attn.hook_z[2]") == "head"
    assert task_kind("blocks.1.mlp.hook_post[2]") == "neuron"
    assert task_kind("blocks.1.hook_resid_post~probe") == "neuron"


def test_head_hypotheses_carry_rules_and_rule_measurements_decide_them(deps):
    from sleuth.agent import head
    from sleuth.predicates.attention import AttentionRule

    hyps = head.kind_hypotheses("L1H2", ["induction", "successor", "induction"],
                            [AttentionRule(attends_to={"offset": -2}), AttentionRule(attends_to="after_previous_occurrence")])
    assert [h["kind"] for h in hyps] == ["induction", "successor", None]  # the LLM's induction rule is not repeated
    assert hyps[0]["rule"] == {"attends_to": "after_previous_occurrence"} and hyps[1]["rule"] is None
    task = {"component": "blocks.1.attn.hook_z[2]", "kind": "head", "stage": "test", "hypotheses": hyps}
    calls = head.plan(task, {}, deps)["pending"]
    assert [c["tool"] for c in calls] == ["head_scan", "head_scan", "attention_rule"]
    assert calls[2]["args"]["split"] == "explain", "hypotheses are tested on the explain split, never held-out"
    labels = [f"L{layer}H{h}" for layer in range(2) for h in range(4)]
    scan = lambda kind, mine: {"kind": kind, "labels": labels, "scores": [mine if lbl == "L1H2" else 0.1 for lbl in labels]}  # noqa: E731
    results = [{"purpose": "head_scan", "data": scan("induction", 0.05)}, {"purpose": "head_scan", "data": scan("successor", 0.0)},
               {"purpose": "rule_scan", "data": {"rule": {"attends_to": {"offset": -2}}, "value": 0.9, "rank": 1, "of": 8,
                                                 "percentile": 1.0, "population": scan("", 0.9)["scores"]}}]
    out = head.absorb(task, results, {}, deps)["task"]
    statuses = {h["statement"]: h["status"] for h in out["hypotheses"]}
    assert statuses == {"L1H2 is an induction head": "refuted", "L1H2 is a successor head": "refuted",
                        "L1H2 attends to the token 2 positions back": "supported"}
    top = head.best({**task, **out})
    assert top["kind"] is None and top["rule"] == {"attends_to": {"offset": -2}}
    held = head.plan({**task, **out, "stage": "heldout"}, {}, deps)["pending"]
    assert [(c["tool"], c["args"].get("split"), c.get("fresh")) for c in held] == [("attention_rule", "heldout", True)]


def test_a_head_first_among_heads_at_noise_level_does_not_hold_and_heads_level_with_the_best_do(deps):
    """Measured in `sleuth eval heads`: L1H0 (an induction head) was described as a duplicate-token head
    because it ranked first on a duplicate scan where every head scored about 0.01, so induction was never
    scanned; and three of four induction heads at 0.96-0.97 were refuted by a plain percentile."""
    from sleuth.agent import head

    labels = [f"L{layer}H{h}" for layer in range(2) for h in range(4)]
    hyps = head.kind_hypotheses("L1H0", ["duplicate_token"], [])
    task = {"component": "blocks.1.attn.hook_z[0]", "kind": "head", "stage": "test", "hypotheses": hyps}
    noise = [0.013, 0.010, 0.011, 0.009, 0.013, 0.012, 0.010, 0.011]  # L1H0 is labels[4]: first, by a hair
    out = head.absorb(task, [{"purpose": "head_scan", "data": {"kind": "duplicate_token", "labels": labels,
                                                               "scores": noise}}], {}, deps)
    assert out["task"]["hypotheses"][0]["status"] == "refuted"
    assert out["task"]["stage"] == "test"  # nothing held, so the protocol scans the other known kinds itself
    added = {h["kind"] for h in out["task"]["hypotheses"][1:]}
    assert {"induction", "previous_token"} <= added
    induction = [0.0, 0.0, 0.0, 0.0, 0.965, 0.971, 0.967, 0.961]  # L1H0 third of four level heads
    task = {**task, **out["task"]}
    done = head.absorb(task, [{"purpose": "head_scan", "data": {"kind": k, "labels": labels,
                                                                "scores": induction if k == "induction" else noise}}
                              for k in sorted(added)], {}, deps)["task"]
    assert head.best({**task, **done})["kind"] == "induction"
    assert {h["kind"]: h["status"] for h in done["hypotheses"]}["induction"] == "supported"
    # the thresholds are settings, and the verdict is kept with each measurement
    assert done["scan"]["induction"]["holds"] and not done["scan"]["duplicate_token"]["holds"]
    strict = dataclasses.replace(deps, settings=deps.settings.model_copy(update={"head_min_score": 0.99}))
    again = head.absorb(task, [{"purpose": "head_scan", "data": {"kind": "induction", "labels": labels,
                                                                 "scores": induction}}], {}, strict)["task"]
    assert not again["scan"]["induction"]["holds"]


def test_the_task_model_refuses_what_no_protocol_has():
    from pydantic import ValidationError

    from sleuth.agent.nodes import with_task
    from sleuth.agent.state import Task, checked

    task = checked({"component": "L3N1", "kind": "neuron", "stage": "explore"})
    assert task == {"component": "L3N1", "kind": "neuron", "stage": "explore"}  # plain JSON, only what is set
    s = state(tasks=[task])
    assert with_task(s, {"stage": "hypothesize", "fire_threshold": 1})[0]["fire_threshold"] == 1.0
    for changes, says in [({"hypothesis": []}, "Extra inputs"), ({"stage": "heldout_scan"}, "no stage 'heldout_scan'"),
                          ({"attempts": "many"}, "valid integer"), ({"kind": "direction"}, "no protocol for task kind")]:
        with pytest.raises(ValidationError, match=says):
            with_task(s, changes)
    with pytest.raises(ValidationError, match="circuit protocol has no stage 'explore'"):
        Task(component="L3N1", kind="circuit", stage="explore")


def test_rule_schemas_go_to_a_grammar_server_as_a_brief():
    """The rule schema is ~5,000 characters; a server that enforces it gets the reply's shape in words."""
    from sleuth.agent.schemas import Hypotheses, RevisedRule, TestTexts
    from sleuth.llm.structured import schema_instruction

    with FakeLLM(responder=investigator) as fake:
        d = AgentDeps(ctx=SimpleNamespace(target=SimpleNamespace(name="m"), seed=0),
                      llm=LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0)), store=None, settings=AgentSettings())
        d.ask("test_texts", TestTexts, component="L3N1", hypotheses=["fires on 'the'"], n=3)
        assert fake.requests[-1]["messages"][0]["content"] == TestTexts.BRIEF
    _MODE_CACHE.clear()
    for schema in (Hypotheses, RevisedRule):
        assert "RULE a rule as listed" in schema.BRIEF and len(schema.BRIEF) < len(schema_instruction(schema)) / 20


@pytest.mark.parametrize("learns", [True, False])
def test_test_texts_that_repeat_the_hypotheses_are_asked_again_then_skipped(learns):
    from sleuth.agent import neuron

    statement = "Fires on the token 'def'."
    seen = []

    def respond(request):
        prompt = request["messages"][-1]["content"]
        seen.append("could not be used" in prompt)
        told = "could not be used" in prompt
        return {"texts": ["def f(x): pass", "hello world"] if told and learns else [statement, statement]}

    hyp = {"id": "H1", "statement": statement, "rule": {"token_in": ["def"]}, "status": "open", "accuracy": None,
           "fit": {"f1": 0.5, "correlation": 0.4}}
    task = {"component": "L3N1", "kind": "neuron", "stage": "test", "hypotheses": [hyp], "rounds": []}
    with FakeLLM(responder=respond) as fake:
        d = AgentDeps(ctx=SimpleNamespace(target=SimpleNamespace(name="m"), seed=0),
                      llm=LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0)), store=None,
                      settings=AgentSettings(rule_rounds=1))
        out = neuron.plan(task, {}, d)["task"]
    _MODE_CACHE.clear()
    assert seen == [False, True]  # asked twice, the second time told why
    if learns:
        assert out == {"test_texts": ["def f(x): pass", "hello world"], "stage": "run_tests"}
    else:  # evidence, never validation: the protocol goes on without them
        assert out == {"test_texts": [], "stage": "refine"}


def test_a_placeholder_statement_is_refused():
    """Measured: with a brief, the 1.5B sometimes copied its placeholder and wrote the statement "..."."""
    from pydantic import ValidationError

    from sleuth.agent.schemas import DescriptionDraft, RevisedRule
    from sleuth.label.explain import LabelDraft

    for model, fields in [(RevisedRule, {"statement": "...", "rule": {"token_in": ["a"]}}),
                          (LabelDraft, {"label": "<...>", "rule": {"token_in": ["a"]}}),
                          (DescriptionDraft, {"description": "... ...", "claims": [{"text": "x y z", "basis": "top_examples"}]})]:
        with pytest.raises(ValidationError, match="not a statement in words"):
            model.model_validate(fields)
    assert RevisedRule.model_validate({"statement": "fires on 'a'", "rule": {"token_in": ["a"]}}).statement == "fires on 'a'"


def test_a_describer_never_reads_held_out_scans():
    from sleuth.agent.conclude import explain_notes
    from sleuth.agent.nodes import heldout
    from sleuth.memory import Evidence

    notes = [{"basis": "top_examples", "summary": "max 1.0 at 'such'"}, {"basis": "validation", "summary": "held-out top"},
             {"basis": "top_examples", "summary": "max 1.0 at 'such'"}]
    assert explain_notes({"notes": notes}) == [notes[0]]  # each note once, the held-out scan never
    scan = dict(model="m", component="c", run_id="r", tool="top_activations", summary="s")
    assert heldout(Evidence(**scan, args={"split": "heldout"}))
    assert not heldout(Evidence(**scan, args={"split": "explain"})) and not heldout(SimpleNamespace(text="a description"))


def test_peak_tokens_name_each_top_examples_strongest_token():
    from sleuth.agent.neuron import peak_tokens

    top = [{"tokens": ["a", " such", " that"], "values": [0.1, 0.9, 0.2]},
           {"tokens": [" such", " as"], "values": [0.8, 0.1]}, {"tokens": ["e", ".", "g"], "values": [0.0, 0.1, 0.7]}]
    assert peak_tokens(top) == ["'such' (2)", "'g'"]


INDUCTION = [{"short": s, "status": "validated", "text": f"{s} is an induction head.", "reason": None, "strength": v}
             for s, v in (("L17H3", 0.41), ("L18H6", 0.93), ("L17H4", 0.88), ("L20H6", 0.52), ("L22H7", 0.47))] + \
            [{"short": "L9H1", "status": "rejected", "text": "L9H1 is an induction head.", "reason": "fresh 0.1 < 0.4",
              "strength": 0.1}]


@pytest.mark.parametrize("lead,kept", [
    ("The induction heads are L17H3, L20H6 and L22H7.", False),  # leaves out the strongest two
    ("The induction heads include L18H6 and L9H1.", False),  # names one that did not validate
    ("L18H6 is the strongest; search_shortlist limited the rest.", False),  # an internal setting's name
    ("L18H6, L17H4, L20H6, L22H7 and L17H3 are induction heads.", True),
])
def test_the_answer_names_the_strongest_validated_components_and_nothing_unvalidated(lead, kept):
    from sleuth.agent.answer import answer

    with FakeLLM(responder=lambda request: lead) as fake:
        client = LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0))
        events = []
        deps = SimpleNamespace(llm=client, on_event=lambda kind, data: events.append((kind, data)))
        out = answer.__wrapped__(state(question="Which heads are induction heads?", findings=INDUCTION), deps)
    _MODE_CACHE.clear()
    first = out["answer"].splitlines()[0]
    assert (lead in out["answer"]) == kept, (out["answer"], events)
    assert "L9H1" not in first and "search_shortlist" not in out["answer"]
    for head in ("L18H6", "L17H4", "L20H6", "L22H7", "L17H3"):  # the prose read first names every validated head
        assert head in first, first
    assert first.index("L18H6") < first.index("L17H4") < first.index("L17H3")  # strongest first
    facts = out["answer"].splitlines()[1 if not kept else 1:]
    assert [line.split(":")[0] for line in facts if line.startswith("- ")][:2] == ["- L18H6", "- L17H4"]
