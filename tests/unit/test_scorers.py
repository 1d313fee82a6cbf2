"""Scorer arithmetic and the LLM-judged scorers against a rule-based judge over real HTTP."""

import random
import re
import sys
from pathlib import Path

import pytest

from sleuth.llm import LLMClient, LLMConfig
from sleuth.llm.client import _MODE_CACHE
from sleuth.llm.fake_server import FakeLLM
from sleuth.scorers import SCORERS, ScoringExample, load_all, scorer
from sleuth.scorers.embedding import auc
from sleuth.scorers.examples import balanced, balanced_accuracy
from sleuth.scorers.registry import ScoringInput, run_scorer
from sleuth.scorers.simulation import predicted_vector

sys.path.insert(0, str(Path(__file__).parents[1]))
from scripted_policy import investigator  # noqa: E402

pytestmark = pytest.mark.timeout(60)


def ex(text: str, active: bool, peak_token: str | None = None) -> ScoringExample:
    tokens = text.split(" ")
    tokens = [t if i == 0 else " " + t for i, t in enumerate(tokens)]
    values = [1.0 if peak_token and t.strip() == peak_token else 0.0 for t in tokens]
    return ScoringExample(tokens=tokens, values=values, active=active, source="heldout-top" if active else "heldout-random")


EXAMPLES = [ex("def f ( x ) : return x", True, "def"), ex("we def ine it", True, "def"),
            ex("class A : pass", False), ex("the cat sat", False), ex("def main ( ) :", True, "def"),
            ex("print ( 1 )", False)]

ALL_FIRING = [ex(t, True, "def") for t in ["def f ( x ) : return x", "we def ine it now", "x = 1 ; def g ( )",
                                             "def main ( ) : pass", "so def is here", "a b c def"]]


@pytest.fixture
def judge():
    with FakeLLM(responder=investigator) as fake:
        yield LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0))
    _MODE_CACHE.clear()


def test_registry_holds_every_scorer_once():
    load_all()
    assert {"detection", "fuzzing", "simulation", "embedding", "intervention", "replication", "patch_recovery"} <= set(SCORERS)
    with pytest.raises(ValueError):
        scorer("detection", "again")(lambda **_: (0.0, 0, {}))


def test_arithmetic():
    assert balanced_accuracy([True, True, False, False], [True, False, False, False]) == 0.75
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0 and auc([0.1], [0.9]) == 0.0 and auc([0.5], [0.5]) == 0.5
    picked = balanced(EXAMPLES, 4, seed=0)
    assert sorted(e.active for _, e in picked) == [False, False, True, True]
    assert all(EXAMPLES[i] is e for i, e in picked)
    orders = {tuple(i for i, _ in balanced(EXAMPLES, 6, seed=s)) for s in range(8)}
    assert len(orders) > 4, "the order must follow the seed"
    assert predicted_vector(EXAMPLES[0], ["def"]) == [1.0] + [0.0] * 7


@pytest.mark.parametrize("name", ["detection", "fuzzing", "simulation"])
def test_right_description_beats_wrong_one(judge, name):
    right = run_scorer(name, 0.6, description="Fires on the token 'def'.", examples=EXAMPLES, llm=judge)
    wrong = run_scorer(name, 0.6, description="Fires on the token 'banana'.", examples=EXAMPLES, llm=judge)
    assert right.status == "scored" and right.value > 0.9 and right.passed
    assert not wrong.passed
    # a wrong description scores low, or (simulation) predicts nothing at all, which cannot be scored
    assert (wrong.status == "scored" and wrong.value <= 0.5) or (name == "simulation" and wrong.status == "failed")


def test_a_constant_simulation_is_not_scored_as_zero():
    with FakeLLM(responder=lambda request: {"tokens": [[] for _ in range(_n_texts(request))]}) as silent:
        client = LLMClient(LLMConfig(base_url=silent.base_url, timeout_s=5.0))
        score = run_scorer("simulation", 0.3, description="Fires on nothing.", examples=EXAMPLES, llm=client)
    _MODE_CACHE.clear()
    assert score.status == "failed" and score.value is None and "constant" in score.reason


def _n_texts(request) -> int:
    return request["response_format"]["schema"]["properties"]["tokens"]["minItems"]


def test_failures_are_recorded_not_invented(judge):
    no_llm = run_scorer("detection", 0.6, description="x", examples=EXAMPLES, llm=None)
    assert no_llm.status == "unscored" and no_llm.value is None and "needs llm" in no_llm.reason
    for name, examples in [("detection", [e for e in EXAMPLES if not e.active]),
                           ("fuzzing", [e for e in EXAMPLES if e.active]),
                           # every text fires on every token: not even a quiet token to mark
                           ("detection", [e.model_copy(update={"values": [1.0] * len(e.tokens)}) for e in ALL_FIRING])]:
        one_class = run_scorer(name, 0.6, description="x", examples=examples, llm=judge, fire_threshold=0.5)
        assert one_class.status == "failed" and one_class.value is None and "could not score" in one_class.reason
    with FakeLLM(steps=[{"content": "not json"}] * 3) as broken:
        client = LLMClient(LLMConfig(base_url=broken.base_url, timeout_s=5.0, max_validation_retries=2))
        failed = run_scorer("detection", 0.6, description="x", examples=EXAMPLES, llm=client)
    assert failed.status == "failed" and failed.value is None and failed.passed is None


def test_replication_percentile():
    top = run_scorer("replication", 0.9, fresh_value=0.9, population=[0.1, 0.2, 0.3, 0.9])
    low = run_scorer("replication", 0.9, fresh_value=0.1, population=[0.1, 0.2, 0.3, 0.9])
    assert top.value == 1.0 and top.passed and low.value == 0.0 and not low.passed
    assert run_scorer("replication", 0.9).status == "unscored"


def test_heads_level_with_the_strongest_of_their_kind_all_replicate():
    # the trained 2-layer model's fresh induction scores: four heads within noise of each other
    induction = [0.019, 0.0, 0.001, 0.0, 0.910, 0.927, 0.953, 0.947]
    assert [run_scorer("replication", 0.9, fresh_value=v, population=induction).passed for v in induction] == \
        [False] * 4 + [True] * 4
    previous = [0.167, 0.987, 0.229, 0.817, 0.140, 0.141, 0.131, 0.133]  # a second head clearly below the first
    assert run_scorer("replication", 0.9, fresh_value=0.817, population=previous).value == round(6 / 7, 4)
    bulk = [0.5] * 30 + [0.9]  # level with the bulk (an attention sink every head shares): its plain percentile
    assert run_scorer("replication", 0.9, fresh_value=0.5, population=bulk).value < 0.5


# canaries: judges that ignore the description must score at chance on balanced, shuffled examples
def _canary_examples(n=40):
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]
    out = []
    for i in range(n):
        active = i % 2 == 0  # the source order alternates: a judge answering true, false, ... must not profit
        text = f"{words[i % 8]} item {i} " + ("def here" if active else "nothing here")
        out.append(ex(text, active, "def" if active else None))
    return out


def _blind(kind):
    rng = random.Random(7)
    counter = iter(range(10**6))

    def answer(n):
        if kind == "always_true":
            return [True] * n
        if kind == "always_false":
            return [False] * n
        if kind == "alternating":
            return [next(counter) % 2 == 0 for _ in range(n)]
        return [rng.random() < 0.5 for _ in range(n)]

    def responder(request):
        n = int(re.search(r"exactly (\d+) booleans", request["messages"][-1]["content"]).group(1))
        return {"answers": answer(n)}

    return responder


@pytest.mark.parametrize("name", ["detection", "fuzzing"])
@pytest.mark.parametrize("kind", ["always_true", "always_false", "alternating", "random"])
def test_description_blind_judges_score_at_chance(name, kind):
    examples = _canary_examples()
    with FakeLLM(responder=_blind(kind)) as fake:
        client = LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0))
        values = [run_scorer(name, 0.65, description="Fires on 'def'.", examples=examples, llm=client, limit=40,
                             seed=seed).value for seed in (0, 1, 2)]
    _MODE_CACHE.clear()
    assert sum(values) / len(values) <= 0.6, values
    assert all(not v >= 0.65 for v in values)


def test_when_every_text_fires_detection_judges_marked_tokens(judge):
    """No quiet text exists (a positional unit fires in every window): the judge is shown one marked
    token per text, firing or quiet, and the words are still checked, by the judge and against the rule."""
    right = run_scorer("detection", 0.6, description="Fires on the token 'def'.", examples=ALL_FIRING, llm=judge,
                       fire_threshold=0.5)
    wrong = run_scorer("detection", 0.6, description="Fires on the token 'return'.", examples=ALL_FIRING, llm=judge,
                       fire_threshold=0.5)
    assert right.status == "scored" and right.value == 1.0 and right.details["form"].startswith("marked tokens")
    judged = right.details["judged"]
    assert {j["active"] for j in judged} == {True, False}
    assert all(("[[ def]]" in j["text"] or "[[def]]" in j["text"]) == j["active"] for j in judged)
    assert wrong.status == "scored" and wrong.value <= 0.5 and not wrong.passed
    for rule, agrees in [({"token_in": ["def"]}, True), ({"position": "first"}, False)]:
        check = run_scorer("words_match_rule", 0.7, rule=rule, judged=judged, examples=ALL_FIRING)
        assert check.passed is agrees, (rule, check)


@pytest.mark.parametrize("kind", ["always_true", "always_false", "alternating", "random"])
def test_description_blind_judges_of_marked_tokens_score_at_chance(kind):
    examples = [ex(e.text.replace("nothing here", "def there"), True, "def") for e in _canary_examples()]
    with FakeLLM(responder=_blind(kind)) as fake:
        client = LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0))
        values = [run_scorer("detection", 0.65, description="Fires on 'def'.", examples=examples, llm=client, limit=40,
                             seed=seed, fire_threshold=0.5).value for seed in (0, 1, 2)]
    _MODE_CACHE.clear()
    assert sum(values) / len(values) <= 0.6, values
    assert all(not v >= 0.65 for v in values)


def test_judged_examples_and_answers_are_kept_for_audit(judge):
    score = run_scorer("detection", 0.6, description="Fires on the token 'def'.", examples=EXAMPLES, llm=judge)
    judged = score.details["judged"]
    assert len(judged) == score.n and all(EXAMPLES[j["example"]].active == j["active"] for j in judged)
    assert [j["answer"] for j in judged] == [j["active"] for j in judged]


def test_rule_scorer_is_exact_and_needs_a_rule():
    right = run_scorer("rule", 0.5, rule={"token_in": ["def"]}, examples=EXAMPLES, fire_threshold=0.5)
    wrong = run_scorer("rule", 0.5, rule={"token_in": ["class"]}, examples=EXAMPLES, fire_threshold=0.5)
    assert right.value == 1.0 and right.passed and right.details["correlation"] == 1.0
    assert wrong.value == 0.0 and not wrong.passed and wrong.details["false_negatives"]
    assert run_scorer("rule", 0.5, examples=EXAMPLES, fire_threshold=0.5).status == "unscored"
    bad = run_scorer("rule", 0.5, rule={"token_of": ["x"]}, examples=EXAMPLES, fire_threshold=0.5)
    assert bad.status == "failed" and "not a predicate" in bad.reason


def test_words_must_match_the_rule(judge):
    rule = {"token_in": ["def"]}
    for words, agrees in [("Fires on the token 'def'.", True), ("Fires on the token 'class'.", False)]:
        det = run_scorer("detection", 0.6, description=words, examples=EXAMPLES, llm=judge)
        check = run_scorer("words_match_rule", 0.7, rule=rule, judged=det.details["judged"], examples=EXAMPLES)
        assert check.passed is agrees, (words, check)


def test_a_failed_rule_rejects_before_any_judge_is_asked(judge):
    from sleuth.scorers.verdict import run_scorers, verdict

    names, thresholds = ["rule", "detection", "words_match_rule"], {"rule": 0.5, "detection": 0.6, "words_match_rule": 0.7}
    inp = ScoringInput(examples=EXAMPLES, llm=judge, fire_threshold=0.5, seed=0)
    calls = len(judge.ledger.calls)
    wrong = run_scorers(names, inp.model_copy(update={"rule": {"token_in": ["class"]}}), "Fires on 'class'.",
                        thresholds, exact_first=True)
    assert [s.status for s in wrong] == ["scored", "unscored", "unscored"] and len(judge.ledger.calls) == calls
    assert "not run: rule 0.00 < 0.5" in wrong[1].reason
    status, reason = verdict(wrong)
    assert status == "rejected" and "rule 0.00 < 0.5" in reason and "detection unscored" in reason
    right = run_scorers(names, inp.model_copy(update={"rule": {"token_in": ["def"]}}), "Fires on the token 'def'.",
                        thresholds, exact_first=True)
    assert [s.status for s in right] == ["scored"] * 3 and len(judge.ledger.calls) > calls
    everything = run_scorers(names, inp.model_copy(update={"rule": {"token_in": ["class"]}}), "Fires on 'class'.",
                             thresholds)  # without the gate every scorer runs
    assert [s.status for s in everything] == ["scored"] * 3


# read_back: an LLM restates the words as a rule; code scores that rule on the held-out windows
def test_read_back_passes_right_words_and_fails_wrong_and_vacuous_ones(judge):
    def read(words):
        return run_scorer("read_back", 0.5, description=words, examples=EXAMPLES, llm=judge, fire_threshold=0.5)

    right, wrong, vacuous = read("Fires on the token 'def'."), read("Fires on the token 'class'."), \
        read("Responds to specific tokens in the input.")
    assert right.status == "scored" and right.value == 1.0 and right.passed
    assert right.details["read_rule"] == {"token_in": ["def"]} and right.details["precision"] == 1.0
    assert "matches_rule_f1" not in right.details  # no rule given
    assert wrong.status == "scored" and wrong.value == 0.0 and not wrong.passed
    assert vacuous.status == "scored" and not vacuous.passed
    assert run_scorer("read_back", 0.5, description="x", examples=EXAMPLES, llm=judge).status == "unscored"  # no threshold
    stated = run_scorer("read_back", 0.5, description="Fires on the token 'class'.", examples=EXAMPLES, llm=judge,
                        fire_threshold=0.5, rule={"token_in": ["def"]})
    assert stated.details["matches_rule_f1"] == 0.0  # the words say something else than the rule


def _blind_reader(kind):
    rng = random.Random(11)
    rules = [{"token_in": ["the"]}, {"position": "first"}, {"numeric": "even"}, {"regex": {"word": "^[a-z]"}},
             {"inside": "brackets"}]

    def responder(request):
        rule = {"the": rules[0], "first": rules[1], "everything": {"regex": {"token": "."}}}.get(kind) or rng.choice(rules)
        return {"statement": "whatever the words say", "rule": rule}

    return responder


@pytest.mark.parametrize("kind", ["the", "first", "everything", "random"])
def test_description_blind_readers_cannot_pass_or_tell_right_from_wrong(kind):
    """A reader that ignores the words gives right and wrong words the same rules: neither passes."""
    examples = _canary_examples()
    with FakeLLM(responder=_blind_reader(kind)) as fake:
        client = LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0))
        scores = {words: [run_scorer("read_back", 0.5, description=words, examples=examples, llm=client,
                                     fire_threshold=0.5).value for _ in range(4)]
                  for words in ("Fires on the token 'def'.", "Fires on the token 'zebra'.")}
    _MODE_CACHE.clear()
    assert all(v < 0.5 for values in scores.values() for v in values), scores
    if kind != "random":
        assert scores["Fires on the token 'def'."] == scores["Fires on the token 'zebra'."]


def test_a_clause_copied_from_a_worked_reading_is_dropped_and_one_the_words_state_is_kept():
    """The 1.5B once added a worked example's `previous_token_in: [return]` to a reading of pronoun words
    (here the worked example's `yield`)."""
    from sleuth.predicates import predicate_dict
    from sleuth.scorers.read_back import read_rule

    copied = {"any": [{"token_in": ["it", "they"]}, {"previous_token_in": ["yield"]}, {"numeric": "odd"}]}
    with FakeLLM(responder=lambda request: {"statement": "as read", "rule": copied}) as fake:
        client = LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0))
        pronouns = read_rule(client, "Fires on the words 'it' or 'they', and on odd numbers.")
        stated = read_rule(client, "Fires on 'it' or 'they', on odd numbers, and right after 'yield'.")
    _MODE_CACHE.clear()
    assert predicate_dict(pronouns) == {"any": [{"token_in": ["it", "they"]}, {"numeric": "odd"}]}
    assert predicate_dict(stated) == copied



def test_a_word_list_misread_as_a_character_class_is_read_as_the_list_and_real_classes_stay():
    """The 1.5B wrote `[It|They|i]` (a class of letters, firing on most words) for the pronouns it, they, I."""
    from sleuth.predicates import predicate_dict
    from sleuth.predicates.fit import rule_values
    from sleuth.scorers.read_back import read_rule

    replies = iter([{"all": [{"regex": {"word": "^[It|They|i]$"}}, {"not": {"regex": {"token": "(?i)[he|she]"}}}]},
                    {"any": [{"regex": {"token": "[aeiou]"}}, {"regex": {"word": "(It|They)"}}]}])
    with FakeLLM(responder=lambda request: {"statement": "as read", "rule": next(replies)}) as fake:
        client = LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0))
        listed = read_rule(client, "Fires on the pronouns It, They and I, but not on he or she.")
        kept = read_rule(client, "Fires on tokens with a vowel, and on It or They.")
    _MODE_CACHE.clear()
    assert predicate_dict(listed) == {"all": [{"token_in": ["it", "they", "i"]}, {"not": {"token_in": ["he", "she"]}}]}
    assert rule_values(listed, [" It", " was", " they", " said", " I", " she"]) == [1, 0, 1, 0, 1, 0]
    assert predicate_dict(kept) == {"any": [{"regex": {"token": "[aeiou]"}}, {"regex": {"word": "(It|They)"}}]}

# intervention: the judge picks the steered continuation from the words; blind pickers score at chance
def _steered(n=12, changed=True):
    from sleuth.scorers.examples import SteeredText
    return [SteeredText(prompt=f"Text number {i} says", baseline=f" nothing much {i}",
                        steered=(f" wedding cake {i} wedding" if changed else f" nothing much {i}")) for i in range(n)]


def _blind_picks(kind):
    rng = random.Random(3)
    counter = iter(range(10**6))

    def responder(request):
        n = int(re.search(r"exactly (\d+) letters", request["messages"][-1]["content"]).group(1))
        pick = {"always_a": lambda: "A", "always_b": lambda: "B", "alternating": lambda: "AB"[next(counter) % 2],
                "random": lambda: rng.choice("AB")}[kind]
        return {"picks": [pick() for _ in range(n)]}

    return responder


def test_intervention_passes_the_right_words_and_fails_wrong_ones(judge):
    right = run_scorer("intervention", 0.7, description="Pushes the text toward 'wedding'.", steering=_steered(), llm=judge)
    wrong = run_scorer("intervention", 0.7, description="Pushes the text toward 'zebra'.", steering=_steered(), llm=judge)
    assert right.value == 1.0 and right.passed and right.n == 12
    assert wrong.value == 0.5 and not wrong.passed  # no word to go by: the tie pick is right in exactly half
    pairs = right.details["pairs"]
    assert sum(p["steered"] == "A" for p in pairs) == 6 and all(p["correct"] for p in pairs)
    assert "wedding" in pairs[0]["a" if pairs[0]["steered"] == "A" else "b"]


@pytest.mark.parametrize("kind", ["always_a", "always_b", "alternating", "random"])
def test_intervention_blind_pickers_score_at_chance(kind):
    with FakeLLM(responder=_blind_picks(kind)) as fake:
        client = LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0))
        values = [run_scorer("intervention", 0.7, description="Pushes toward 'wedding'.", steering=_steered(16),
                             llm=client, seed=seed).value for seed in (0, 1, 2)]
    _MODE_CACHE.clear()
    assert sum(values) / len(values) <= 0.6, values
    assert all(v < 0.7 for v in values), values


def test_intervention_needs_steering_that_changed_something(judge):
    unchanged = run_scorer("intervention", 0.7, description="Pushes toward 'wedding'.", steering=_steered(changed=False),
                           llm=judge)
    assert unchanged.status == "failed" and "changed 0 of 12" in unchanged.reason
    assert run_scorer("intervention", 0.7, description="x", llm=judge).status == "unscored"


def test_a_failing_score_is_never_printed_equal_to_its_threshold():
    from sleuth.scorers.verdict import below

    assert below(0.3, 0.65) == "0.30 < 0.65"
    assert below(0.6458, 0.65) == "0.646 < 0.65"  # "0.65 < 0.65" read as a contradiction
    assert below(0.4999, 0.5) == "0.4999 < 0.5"
