"""The find suite's judge: the true words and a decoy side by side, the judge saying of each whether it
matches, asked in both orders. A judge that reads the description picks the truth; one that ignores it
scores at chance (0.5)."""

import random
import re

import pytest

from sleuth.evals.find import pick_decoy
from sleuth.evals.metrics import CHANCE_CHOICE, judge_choice
from sleuth.llm import LLMClient, LLMConfig
from sleuth.llm.fake_server import FakeLLM
from sleuth.predicates import PredicateError, SyntheticComponent
from sleuth.predicates.suite import SuiteComponent

QUOTED = re.compile(r"'([^']+)'")
CASES = [("It fires on 'the'.", "Fires on the word 'the'.", "Fires on the word 'and'."),
         ("Fires on 'def' and 'class'.", "Fires on 'def' or 'class'.", "Fires on even numbers."),
         ("Fires on the token '('.", "Fires on '('.", "Fires on the first token of a text."),
         ("Tokens ending in 'ing'.", "Fires on words ending in 'ing'.", "Fires on 'not' and 'never'.")]


def _options(prompt: str) -> tuple[str, str, str]:
    found = [re.search(rf"<<<DATA {name}\n(.*?)\nDATA>>>", prompt, re.S).group(1) for name in ("description", "A", "B")]
    return found[0], found[1], found[2]


def _reader(request):  # an option matches when it quotes a word the description quotes
    description, first, second = _options(request["messages"][-1]["content"])
    quoted = set(QUOTED.findall(description))
    return {"a_matches": bool(quoted & set(QUOTED.findall(first))), "b_matches": bool(quoted & set(QUOTED.findall(second)))}


def _blind(kind: str):
    rng, turn = random.Random(7), iter(range(10_000))
    pick = {"first": lambda: (True, False), "second": lambda: (False, True), "both": lambda: (True, True),
            "alternate": lambda: [(True, False), (False, True)][next(turn) % 2],
            "random": lambda: (rng.random() < 0.5, rng.random() < 0.5)}[kind]

    def responder(request):
        a, b = pick()
        return {"a_matches": a, "b_matches": b}

    return responder


def _scores(responder, cases) -> list[float]:
    with FakeLLM(responder=responder) as fake:
        llm = LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=10.0))
        return [judge_choice(llm, description, truth, decoy, seed=i).score
                for i, (description, truth, decoy) in enumerate(cases)]


def test_a_judge_that_reads_picks_the_true_words_and_a_wrong_description_gets_the_decoy():
    assert _scores(_reader, CASES) == [1.0] * len(CASES)
    wrong = [(description, decoy, truth) for description, truth, decoy in CASES]  # the words describe the decoy
    assert _scores(_reader, wrong) == [0.0] * len(CASES)


@pytest.mark.parametrize("kind", ["first", "second", "both", "alternate", "random"])
def test_a_judge_that_ignores_the_description_scores_at_chance(kind):
    scores = _scores(_blind(kind), CASES * 4)
    assert abs(sum(scores) / len(scores) - CHANCE_CHOICE) <= 0.15, (kind, scores)


def _component(name: str, category: str, words: str) -> SuiteComponent:
    return SuiteComponent(name=name, description=words, category=category, source="test",
                          unit=SyntheticComponent(fn={"token_in": [name]}))


def test_the_decoy_comes_from_another_category_and_is_never_the_noisy_twin():
    pool = [_component("odd_numbers", "numeric", "Odd numbers."), _component("even_numbers", "numeric", "Even."),
            _component("noisy_odd_numbers", "noisy", "Odd numbers, noisily."),
            _component("articles", "lexical", "Articles."), _component("first_token", "positional", "First.")]
    rng = random.Random(0)
    for _ in range(50):
        decoy = pick_decoy(pool[0], pool, rng)
        assert decoy.category != "numeric" and decoy.name != "noisy_odd_numbers"
    assert pick_decoy(pool[0], pool[:2], rng).name == "even_numbers"  # a lone category: any other words
    with pytest.raises(PredicateError, match="decoy"):
        pick_decoy(pool[0], pool[:1], rng)


def test_the_decoy_never_fires_where_the_truth_fires():
    """inside_quotes and a differently named quotes unit fire on the same tokens: never each other's decoy."""
    from sleuth.evals.find import firing_set
    from sleuth.predicates import TokenView

    def unit(name, category, fn):
        return SuiteComponent(name=name, description=f"{name} words", category=category, source="test",
                              unit=SyntheticComponent(fn=fn))

    quotes = unit("inside_quotes", "contextual", {"inside": "quotes"})
    pool = [quotes, unit("quoted_text", "noisy", {"inside": "quotes"}), unit("evens", "numeric", {"numeric": "even"})]
    texts = [TokenView(["He", " said", ' "', "go", " now", '"', " at", " 4"]), TokenView(["a", " 2", ' "', "x", '"'])]
    firing = {c.name: firing_set(c, texts) for c in pool}
    assert firing["inside_quotes"] == firing["quoted_text"] and firing["evens"]
    rng = random.Random(0)
    assert {pick_decoy(quotes, pool, rng, firing).name for _ in range(30)} == {"evens"}
    assert "quoted_text" in {pick_decoy(quotes, pool, rng).name for _ in range(30)}  # without the check it would be
