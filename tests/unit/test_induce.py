"""Code's rule search (predicates.induce): it recovers planted rules from measured windows and
generalises to texts it never saw, and it makes nothing of a unit that fires at random (no model)."""

from __future__ import annotations

import random
import re

import pytest

from sleuth.predicates import SyntheticComponent, TokenView, evaluate, parse_predicate
from sleuth.predicates.fit import agreement
from sleuth.predicates.induce import induce
from sleuth.predicates.words import in_words

SENTENCES = [
    "The parser reads the file and returns a list of tokens.",
    'She said "hello" to the 12 visitors, then left at 7 (or maybe 8).',
    "Running the tests is boring but testing early saves time.",
    "def load(path): return open(path).read()",
    "In 1999 there were 40 cats, 13 dogs and 250 birds in the town.",
    "They quickly walked home, singing loudly and happily.",
    "import os; from sys import argv",
    "We counted 2, 4, 6 and 11 apples; the rest were pears.",
    "A NASA report and an ESA paper agree on the result.",
    "It was raining, so he stayed inside and read a book.",
    "x = compute(total, count) if ready else None",
    "Reading, writing and arithmetic were taught in the old school.",
    "Call f(3, 14) then g[5] with 9 retries and [the 21 others] later.",
]
FRESH = [
    "The cat sat on the mat while the dog was sleeping.",
    "Parsing 64 files took 3 seconds and 128 more took 9.",
    "He said \"nothing\" and kept walking along the road.",
    "class Point: def norm(self): return 5",
    "An NHS study found that the new treatment was working (in 30 of 41 cases).",
    "Looking ahead, the team is hiring and building again.",
]


def tokens_of(text: str) -> list[str]:
    return re.findall(r"\s*\w+|\s*[^\w\s]", text)


def windows(component: SyntheticComponent, texts: list[str]) -> list[tuple[list[str], list[float]]]:
    return [(tokens_of(t), component.activations(tokens_of(t))) for t in texts]


def heldout_f1(rule: dict, truth: dict, texts: list[str]) -> float:
    want = [x for t in texts for x in evaluate(parse_predicate(truth), tokens_of(t))]
    got = [x for t in texts for x in evaluate(parse_predicate(rule), tokens_of(t))]
    return agreement(want, got, len(texts)).f1


@pytest.mark.parametrize("truth", [
    {"token_in": ["the", "a", "an"]},
    {"regex": {"word": "ing$"}},
    {"numeric": "even"},
    {"previous_token_in": ["the"]},
    {"inside": "quotes"},
    {"position": "first"},
    {"all": [{"numeric": {"ge": 0}}, {"inside": "brackets"}]},
])
def test_a_planted_rule_is_found_and_holds_on_texts_the_search_never_saw(truth):
    unit = SyntheticComponent(fn=truth)
    found = induce(windows(unit, SENTENCES), threshold=0.5)
    assert found, "a unit that fires must get a rule"
    assert found[0].f1 >= 0.9
    assert heldout_f1(found[0].rule, truth, FRESH) >= 0.85, (truth, found[0].rule)
    assert found[0].rule == parse_predicate(found[0].rule).model_dump(by_alias=True, exclude_none=True)
    assert in_words(found[0].rule).startswith("Fires on ")


def test_a_unit_firing_at_random_gets_no_rule_that_holds_on_fresh_texts():
    rng = random.Random(0)
    noise = [(tokens_of(t), [float(rng.random() < 0.15) for _ in tokens_of(t)]) for t in SENTENCES]
    fresh = [(tokens_of(t), [float(rng.random() < 0.15) for _ in tokens_of(t)]) for t in FRESH]
    found = induce(noise, threshold=0.5)
    truth = [v >= 0.5 for _, values in fresh for v in values]
    for candidate in found:
        guess = [x for tokens, _ in fresh for x in evaluate(parse_predicate(candidate.rule), TokenView(tokens))]
        assert agreement(truth, guess, len(fresh)).f1 < 0.45, candidate.rule


def test_nothing_fires_nothing_is_induced_and_rules_are_distinct():
    quiet = [(tokens_of(t), [0.0] * len(tokens_of(t))) for t in SENTENCES]
    assert induce(quiet, threshold=0.5) == []
    found = induce(windows(SyntheticComponent(fn={"token_in": ["the"]}), SENTENCES), threshold=0.5, keep=3)
    assert len({repr(f.rule) for f in found}) == len(found) == 3
    assert found[0].rule == {"token_in": ["the"]} and found[0].f1 == 1.0


def test_an_affix_rule_is_said_in_words():
    assert in_words({"regex": {"word": "(?i)ing$"}}) == "Fires on any token of a word ending with 'ing' (any case)."
    assert in_words({"regex": {"word": "(?i)^un"}}) == "Fires on any token of a word beginning with 'un' (any case)."
    assert in_words({"regex": {"word": "ing$"}}) == "Fires on any token of a word ending with 'ing'."  # plain words


def test_the_search_gives_the_same_rules_in_every_process():
    """A resumed run must find what the killed one found: nothing may depend on the string hash seed."""
    import subprocess
    import sys

    script = ("import re; from sleuth.predicates.induce import induce\n"
              "texts = ['We were running and singing, then reading and cooking the thing.', 'Jumping, sling, king.']\n"
              "tok = lambda t: re.findall(r'\\s*\\w+|\\s*[^\\w\\s]', t)\n"
              "w = [(tok(t), [float(x.strip().endswith('ng')) for x in tok(t)]) for t in texts]\n"
              "print([r.rule for r in induce(w, 0.5, keep=3)])")
    outs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2, 3)}
    assert len(outs) == 1 and "ing$" in outs.pop()


CONDITIONS = [
    "If the door is open we leave now and never come back here.",
    "She waits while the kettle boils and the radio plays softly.",
    "Stop if it rains hard, because the field turns to mud.",
    "The dog barked while the children ran around the old garden.",
    "We will go if you come with us to the station tonight.",
    "Nobody spoke while the judge read the long verdict aloud.",
    "The river was calm and the boats drifted past the bridge.",
    "He reads books at night and writes letters in the morning.",
]
FRESH_CONDITIONS = [
    "Call me if the train is late again this evening.",
    "Birds sang while the sun rose over the quiet hills.",
    "The market opens early and closes before the evening rain.",
]


def test_a_context_a_few_tokens_back_is_found_and_said_in_words():
    truth = {"context_regex": {"pattern": r"\b(if|If|while)\b", "window": 4}}
    found = induce(windows(SyntheticComponent(fn=truth), CONDITIONS), threshold=0.5)
    best = found[0].rule
    assert "context_regex" in best and best["context_regex"]["window"] == 4, found
    assert heldout_f1(best, truth, FRESH_CONDITIONS) >= 0.85
    assert in_words(best) == "Fires on a token within 4 tokens after the words 'if' or 'while' (any case)."


def test_a_line_start_unit_is_found_and_said_in_words():
    lines = ["import os\nimport sys\n\ndef main():\n    return 0\n", "Dear Anna,\nthank you for the letter.\nBest,\nTom",
             "first line here\nsecond line there\nthird one", "no break in this one at all, just words"]
    fresh = ["alpha beta\ngamma delta\n  epsilon", "one\ntwo\nthree four five"]
    split = lambda text: re.findall(r"\n|[ ]*\w+|[ ]*[^\w\s]", text)  # line breaks as tokens of their own
    truth = {"context_regex": {"pattern": "\n\\s*$", "window": 1}}
    unit = SyntheticComponent(fn=truth)
    found = induce([(split(t), unit.activations(split(t))) for t in lines], threshold=0.5)
    assert found[0].rule == truth, found
    want = [x for t in fresh for x in evaluate(parse_predicate(truth), split(t))]
    got = [x for t in fresh for x in evaluate(parse_predicate(found[0].rule), split(t))]
    assert want == got and any(want)
    assert in_words(found[0].rule) == "Fires on the first token of a line (right after a line break)."
