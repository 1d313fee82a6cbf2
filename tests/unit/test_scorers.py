"""Scorer arithmetic and the LLM-judged scorers against a rule-based judge over real HTTP."""

import sys
from pathlib import Path

import pytest

from sleuth.llm import LLMClient, LLMConfig
from sleuth.llm.client import _MODE_CACHE
from sleuth.llm.fake_server import FakeLLM
from sleuth.scorers import SCORERS, ScoringExample, load_all, scorer
from sleuth.scorers.embedding import auc
from sleuth.scorers.examples import balanced, balanced_accuracy
from sleuth.scorers.registry import run_scorer
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


@pytest.fixture
def judge():
    with FakeLLM(responder=investigator) as fake:
        yield LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0))
    _MODE_CACHE.clear()


def test_registry_holds_every_scorer_once():
    load_all()
    assert {"detection", "fuzzing", "simulation", "embedding", "intervention", "patch_recovery"} <= set(SCORERS)
    with pytest.raises(ValueError):
        scorer("detection", "again")(lambda **_: (0.0, 0, {}))


def test_arithmetic():
    assert balanced_accuracy([True, True, False, False], [True, False, False, False]) == 0.75
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0 and auc([0.1], [0.9]) == 0.0 and auc([0.5], [0.5]) == 0.5
    picked = balanced(EXAMPLES, 4)
    assert [e.active for e in picked] == [True, False, True, False]
    assert predicted_vector(EXAMPLES[0], ["def"]) == [1.0] + [0.0] * 7


@pytest.mark.parametrize("name", ["detection", "fuzzing", "simulation"])
def test_right_description_beats_wrong_one(judge, name):
    right = run_scorer(name, 0.6, description="Fires on the token 'def'.", examples=EXAMPLES, llm=judge)
    wrong = run_scorer(name, 0.6, description="Fires on the token 'banana'.", examples=EXAMPLES, llm=judge)
    assert right.status == wrong.status == "scored"
    assert right.value > 0.9 and right.passed
    assert wrong.value <= 0.5 and not wrong.passed


def test_failures_are_recorded_not_invented(judge):
    no_llm = run_scorer("detection", 0.6, description="x", examples=EXAMPLES, llm=None)
    assert no_llm.status == "unscored" and no_llm.value is None and "LLM" in no_llm.reason
    one_class = run_scorer("detection", 0.6, description="x", examples=[e for e in EXAMPLES if e.active], llm=judge)
    assert one_class.status == "unscored" and one_class.value is None
    with FakeLLM(steps=[{"content": "not json"}] * 3) as broken:
        client = LLMClient(LLMConfig(base_url=broken.base_url, timeout_s=5.0, max_validation_retries=2))
        failed = run_scorer("detection", 0.6, description="x", examples=EXAMPLES, llm=client)
    assert failed.status == "failed" and failed.value is None and failed.passed is None


def test_intervention_percentile():
    top = run_scorer("intervention", 0.9, fresh_value=0.9, population=[0.1, 0.2, 0.3, 0.9])
    low = run_scorer("intervention", 0.9, fresh_value=0.1, population=[0.1, 0.2, 0.3, 0.9])
    assert top.value == 1.0 and top.passed and low.value == 0.0 and not low.passed
    assert run_scorer("intervention", 0.9).status == "unscored"
