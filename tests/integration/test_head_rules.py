"""Attention rules on SmolLM2: the rule's held-out attention mass ranks the known heads, and the
words check rejects a wrong text for the induction head L18H6 (scripted judge, real client, real HTTP)."""

import sys
from pathlib import Path

import pytest

from sleuth.llm import LLMClient, LLMConfig
from sleuth.llm.client import _MODE_CACHE
from sleuth.llm.fake_server import FakeLLM
from sleuth.scorers.registry import run_scorer
from sleuth.tools import ToolContext, run_tool

sys.path.insert(0, str(Path(__file__).parents[1]))
from scripted_policy import investigator  # noqa: E402

INDUCTION = {"attends_to": "after_previous_occurrence"}


@pytest.fixture(scope="module")
def ctx(smollm, sleuth_home):
    return ToolContext(target=smollm, home=sleuth_home, seed=1000)


@pytest.fixture(scope="module")
def measured(ctx):
    return run_tool("attention_rule", {"layer": 18, "head": 6, "rule": INDUCTION, "split": "heldout", "n_texts": 8,
                                       "also": ["L16H0"]}, ctx)


@pytest.fixture(scope="module")
def l18h6(measured):
    return measured.data


def test_the_evidence_is_about_each_measured_head(measured):
    about = dict(measured.about)
    assert set(about) == {"blocks.18.attn.hook_z[6]", "blocks.16.attn.hook_z[0]"}
    assert about["blocks.18.attn.hook_z[6]"].startswith(f"L18H6 attention on the rule's targets {measured.data['value']:.3f}")


def test_the_induction_rule_ranks_l18h6_at_the_top_on_held_out_text(l18h6, ctx):
    assert l18h6["percentile"] >= 0.97 and l18h6["value"] > 0.3
    first = run_tool("attention_rule", {"layer": 18, "head": 6, "rule": {"attends_to": "first_token"}, "split": "heldout",
                                        "n_texts": 8}, ctx).data
    assert first["percentile"] < l18h6["percentile"]
    assert l18h6["queries"] and all(q["key"] != 0 for q in l18h6["queries"])
    assert "L16H0" in l18h6["queries_of"]  # batched: another head's query positions from the same run


def test_two_seeds_give_different_held_out_texts(smollm, sleuth_home, l18h6):
    other = run_tool("attention_rule", {"layer": 18, "head": 6, "rule": INDUCTION, "split": "heldout", "n_texts": 8},
                     ToolContext(target=smollm, home=sleuth_home, seed=7)).data
    assert other["texts"] != l18h6["texts"]


def test_a_wrong_head_text_is_rejected_and_the_right_one_passes(l18h6):
    inputs = {"attention_texts": l18h6["texts"], "attention_queries": l18h6["queries"]}
    with FakeLLM(responder=investigator) as fake:
        llm = LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=10.0))
        wrong = run_scorer("attention_simulation", 0.5, description="L18H6 attends to the first token.", llm=llm, **inputs)
        right = run_scorer("attention_simulation", 0.5, llm=llm, **inputs,
                           description="L18H6 is an induction head: each token attends to the token right after an "
                                       "earlier copy of itself.")
    _MODE_CACHE.clear()
    assert wrong.status == "scored" and not wrong.passed and wrong.value < 0.2
    assert right.passed and right.value > wrong.value + 0.4
