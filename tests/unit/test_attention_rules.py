"""Attention rules (the predicate language for heads) and the head scorers, without a model:
targets per form, attention mass, and the words check through the real client and a fake server."""

import random
import re
import sys
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError

from sleuth.llm import LLMClient, LLMConfig
from sleuth.llm.client import _MODE_CACHE
from sleuth.llm.fake_server import FakeLLM
from sleuth.predicates.attention import AttentionRule, mass, targets
from sleuth.scorers.attention import MIN_JUDGED, options, relations
from sleuth.scorers.registry import run_scorer

sys.path.insert(0, str(Path(__file__).parents[1]))
from scripted_policy import investigator  # noqa: E402

pytestmark = pytest.mark.timeout(60)
TOKENS = ["The", " cat", " sat", ".", " The", " cat", " ran"]


def rule(to) -> AttentionRule:
    return AttentionRule.model_validate({"attends_to": to})


def test_every_form_names_its_targets():
    assert targets(rule("previous_token"), TOKENS)[3] == [2] and targets(rule("previous_token"), TOKENS)[0] == []
    assert targets(rule("first_token"), TOKENS)[5] == [0]
    assert targets(rule("self"), TOKENS)[2] == [2]
    assert targets(rule("same_token_earlier"), TOKENS)[5] == [1]  # " cat" earlier at 1
    assert targets(rule("same_token_earlier"), TOKENS)[4] == [0]  # "The" vs " The": whitespace stripped
    assert targets(rule("after_previous_occurrence"), TOKENS)[4] == [1]  # induction: after the earlier "The"
    assert targets(rule("after_previous_occurrence"), TOKENS)[5] == [2]
    assert targets(rule({"offset": -2}), TOKENS)[3] == [1] and targets(rule({"offset": -2}), TOKENS)[1] == []
    assert targets(rule({"matching": {"token_in": ["cat"]}}), TOKENS)[6] == [1, 5]
    for q, keys in enumerate(targets(rule("same_token_earlier"), TOKENS)):
        assert all(k <= q for k in keys), "a rule never names a later key"


def test_bad_rules_are_refused():
    for bad in ({"attends_to": "next_token"}, {"attends_to": {"offset": 1}}, {"attends_to": "self", "x": 1}):
        with pytest.raises(ValidationError):
            AttentionRule.model_validate(bad)


def test_mass_is_the_attention_on_the_targets():
    n = len(TOKENS)
    prev = torch.zeros(n, n)
    prev[0, 0] = 1.0
    for q in range(1, n):
        prev[q, q - 1] = 1.0
    assert mass(prev, TOKENS, rule("previous_token")) == (1.0, n - 1)
    assert mass(prev, TOKENS, rule("first_token"))[0] == pytest.approx(1 / (n - 1))


def _induction_case(n_texts: int = 3, seed: int = 0):
    """Repeated random words; the head's argmax is the token after the earlier copy (an induction head)."""
    rng = random.Random(seed)
    words = [f" w{i}" for i in range(40)]
    texts, queries = [], []
    for t in range(n_texts):
        half = rng.sample(words, 8)
        tokens = half + half
        texts.append(tokens)
        queries += [{"text": t, "query": q, "key": q - 7, "weight": 0.8} for q in range(9, 16)]
    return texts, queries


@pytest.fixture
def judge():
    with FakeLLM(responder=investigator) as fake:
        yield LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0))
    _MODE_CACHE.clear()


def test_attention_simulation_passes_the_right_words_and_rejects_wrong_ones(judge):
    texts, queries = _induction_case()
    right = run_scorer("attention_simulation", 0.5, description="An induction head: each token attends to the token "
                       "right after an earlier copy of itself.", attention_texts=texts, attention_queries=queries, llm=judge)
    first = run_scorer("attention_simulation", 0.5, description="It attends to the first token.",
                       attention_texts=texts, attention_queries=queries, llm=judge)
    prev = run_scorer("attention_simulation", 0.5, description="It attends to the previous token.",
                      attention_texts=texts, attention_queries=queries, llm=judge)
    assert right.status == "scored" and right.value == 1.0 and right.passed
    # a wrong text picks its own relation, which is never the real key here (an option without it: a guess)
    assert first.value <= 0.3 and not first.passed and prev.value <= 0.3 and not prev.passed
    assert len(right.details["judged"]) == len(queries)  # every judged query and answer is kept


def test_words_code_stated_meet_the_same_per_query_check_without_a_reader():
    texts, queries = _induction_case()
    with FakeLLM(responder=investigator) as fake:
        client = LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0))
        kwargs = dict(attention_texts=texts, attention_queries=queries, llm=client)
        right = run_scorer("attention_simulation", 0.5, description="L1H2 is an induction head.",
                           stated_relation="after_previous_occurrence", **kwargs)
        wrong = run_scorer("attention_simulation", 0.5, description="L1H2 is a previous-token head.",
                           stated_relation="previous_token", **kwargs)
        asked = len(fake.requests)
    _MODE_CACHE.clear()
    assert right.passed and right.value == 1.0 and right.details["read_by"] == "code"
    assert not wrong.passed and wrong.value <= 0.3  # code's words are not waved through: the head must do it
    assert asked == 0, "code's own relation needs no LLM reading"


def test_a_copy_relation_is_judged_only_on_queries_that_have_an_earlier_copy():
    texts, queries = _induction_case()
    first_half = [{"text": t, "query": q, "key": q - 1, "weight": 0.6} for t in range(len(texts)) for q in range(2, 8)]
    with FakeLLM(responder=investigator) as fake:
        client = LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0))
        kwargs = dict(attention_texts=texts, llm=client)
        induction = run_scorer("attention_simulation", 0.5, description="L1H2 is an induction head.",
                               stated_relation="after_previous_occurrence", attention_queries=queries + first_half, **kwargs)
        previous = run_scorer("attention_simulation", 0.5, description="L1H2 is a previous-token head.",
                              stated_relation="previous_token", attention_queries=queries + first_half, **kwargs)
        nothing_to_judge = run_scorer("attention_simulation", 0.5, description="L1H2 is an induction head.",
                                      stated_relation="after_previous_occurrence", attention_queries=first_half, **kwargs)
        too_few = run_scorer("attention_simulation", 0.5, description="L1H2 is an induction head.",
                             stated_relation="after_previous_occurrence",
                             attention_queries=queries[:MIN_JUDGED - 1] + first_half, **kwargs)
    _MODE_CACHE.clear()
    # the distinct words of the first half have no earlier copy: an induction claim says nothing there
    assert induction.value == 1.0 and induction.details["unjudged"] == len(first_half)
    # a previous-token claim names a position at every query, so the same head's copies count against it
    assert previous.details["unjudged"] == 0 and previous.value == pytest.approx(len(first_half) / (len(first_half) + len(queries)), abs=1e-3)
    assert nothing_to_judge.status != "scored" and not nothing_to_judge.passed and "0 held-out queries" in nothing_to_judge.reason
    # a few lucky hits are not a pass either: below the floor it could not score
    assert too_few.status != "scored" and not too_few.passed and f"{MIN_JUDGED - 1} held-out queries" in too_few.reason


@pytest.mark.parametrize("blind", ["previous_token", "first_token", "self", "same_token_earlier", "random",
                                   "something_else_always_A", "something_else_random"])
def test_description_blind_attention_judges_score_at_chance(blind):
    texts, queries = _induction_case()
    rng = random.Random(1)

    def respond(request):
        title = request["response_format"]["schema"]["title"]
        if title == "RelationChoice":
            relation = {"random": rng.choice(["previous_token", "first_token", "self", "same_token_earlier"])}.get(
                blind, blind if not blind.startswith("something_else") else "something_else")
            return {"relation": relation}
        n = len(re.findall(r"<<<DATA query\n", request["messages"][-1]["content"]))
        return {"choices": ["A"] * n if blind.endswith("always_A") else [rng.choice("ABCD") for _ in range(n)]}

    with FakeLLM(responder=respond) as fake:
        client = LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0))
        score = run_scorer("attention_simulation", 0.5, description="An induction head.", attention_texts=texts,
                           attention_queries=queries, llm=client)
    _MODE_CACHE.clear()
    assert score.status == "scored" and score.value <= 0.4 and not score.passed, score.value
    assert score.details["chance"] <= 0.25


def test_words_that_name_a_kind_of_token_go_to_the_options_form(judge):
    texts, queries = _induction_case()
    score = run_scorer("attention_simulation", 0.5, description="It attends to nouns.", attention_texts=texts,
                       attention_queries=queries, llm=judge)
    assert score.details["relation"] == "something_else" and score.details["form"] == "options"
    assert score.details["chance"] == 0.25 and len(score.details["judged"]) == len(queries)


def test_the_real_key_is_always_an_option_and_its_letter_is_not_fixed():
    texts, queries = _induction_case(n_texts=6)
    letters = []
    for q in queries:
        shown = options(texts[q["text"]], q["query"], q["key"])
        assert q["key"] in shown and len(set(shown)) == len(shown) == 4
        letters.append(shown.index(q["key"]))
    assert len(set(letters)) == 4, "the real key sits under every letter somewhere"
    tokens = [" a", " b", " c", " a"]
    assert relations(tokens, 3, 1) == ["the token right after an earlier copy of the query token"]
    assert relations(tokens, 3, 0) == ["the first token of the text", "an earlier copy of the query token"]
    assert relations(tokens, 3, 2) == ["the token just before the query"]


def test_attention_rule_scorer_is_a_percentile_and_needs_its_measurement():
    population = [0.1] * 9 + [0.9]
    top = run_scorer("attention_rule", 0.9, rule_value=0.9, rule_population=population)
    low = run_scorer("attention_rule", 0.9, rule_value=0.1, rule_population=population)
    assert top.value == 1.0 and top.passed and top.details["rank"] == 1
    assert low.value < 0.5 and not low.passed
    assert run_scorer("attention_rule", 0.9).status == "unscored"
