"""Words that name a class: the generalization split of a planted unit, its scoring on members never shown,
and the class step's substitution experiment (agent.generalize). No model is loaded."""

import re

import pytest

from sleuth.agent import generalize
from sleuth.evals.heldout import HeldoutTexts, texts_for
from sleuth.evals.metrics import rule_agreement
from sleuth.predicates import PredicateError, SyntheticComponent, TokenView, load_suite
from sleuth.predicates.suite import SuiteComponent

UNITS = SyntheticComponent(fn={"token_in": ["second", "hour", "minute", "day"]}, unseen=["Minute", "day"])


def test_unseen_members_are_withheld_and_marked():
    assert UNITS.unseen == ["minute", "day"] and UNITS.seen == ["second", "hour"]
    assert UNITS.withheld([" wait", " a", " minute"]) and not UNITS.withheld([" one", " hour"])
    view = TokenView([" a", " day", " and", " an", " hour"])
    assert UNITS.unseen_marks(view) == [False, True, False, False, False]
    assert UNITS.seen_marks(view) == [False, False, False, False, True]
    assert UNITS.fingerprint != SyntheticComponent(fn=UNITS.fn).fingerprint  # the split keys cached scans


@pytest.mark.parametrize("bad, message", [
    ({"fn": {"numeric": "even"}, "unseen": ["2"]}, "needs a token_in fn"),
    ({"fn": {"token_in": ["a", "b"]}, "unseen": ["c"]}, "'c' is not in the token_in list"),
    ({"fn": {"token_in": ["a", "b"]}, "unseen": ["a", "b"]}, "leave at least one shown"),
])
def test_a_bad_unseen_split_is_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        SyntheticComponent(**bad)


def test_a_suite_file_with_a_bad_unseen_split_is_one_line(tmp_path):
    (tmp_path / "s.yaml").write_text("components:\n  - name: x\n    description: d\n    fn: {token_in: [a, b]}\n"
                                     "    unseen: [z]\n")
    with pytest.raises(PredicateError, match="component 'x'.*'z' is not in the token_in list"):
        load_suite(tmp_path)


def test_the_packaged_open_classes_have_at_least_twelve_members_and_two_halves():
    units = [c for c in load_suite("evals/find") if c.category == "open_class"]
    assert len(units) >= 8
    for c in units:
        assert len(c.unit.fn.token_in) >= 12 and len(c.unit.unseen) >= 6 and len(c.unit.seen) >= 6, c.name


def _held(texts: list[list[str]]) -> HeldoutTexts:
    component = SuiteComponent(name="u", description="units of time", category="open_class", source="t", unit=UNITS)
    pool = [TokenView(t) for t in texts]
    return texts_for(component, pool, len(pool), seed=0)


def test_on_members_never_shown_a_list_of_the_seen_members_scores_zero_and_the_class_scores_one():
    held = _held([[" one", " hour", " or", " a", " day"], [" a", " minute", " left"], [" no", " time"],
                  [" each", " second"], [" plain", " text"], [" more", " words"]])
    assert len(held.views) == 6
    assert held.seen is not None and held.scores_unseen
    seen_list, whole = {"token_in": ["second", "hour"]}, {"token_in": ["second", "hour", "minute", "day", "week"]}
    assert rule_agreement(seen_list, held).f1 == pytest.approx(2 / 3, abs=0.01)  # all members: recall 2/4
    assert rule_agreement(seen_list, held, unseen=True).f1 == 0.0
    assert rule_agreement(whole, held, unseen=True).f1 == 1.0
    assert rule_agreement({"token_in": ["minute", "day", "text"]}, held, unseen=True).precision == pytest.approx(2 / 3, abs=0.001)


def test_a_unit_without_a_split_has_no_unseen_scope():
    component = SuiteComponent(name="u", description="d", category="c", source="t",
                               unit=SyntheticComponent(fn={"token_in": ["a"]}))
    assert texts_for(component, [TokenView([" a"]), TokenView([" b"])], 2, 0).unseen_scope() is None


WINDOW = {"tokens": [" if", " bad", ":", " raise", " Value", "Error", "(", "msg", ")"],
          "values": [0, 0, 0, 0, 1.0, 1.0, 0, 0, 0]}
QUIET = {"tokens": [" plain", " text"], "values": [0, 0]}


def test_proposed_members_are_put_where_a_listed_word_fired_beside_controls():
    assert generalize.listed_words({"token_in": ["valueerror", "keyerror"]}) == ["valueerror", "keyerror"]
    assert generalize.listed_words({"token_in": ["the"]}) == ["the"] and generalize.listed_words({"numeric": "even"}) is None
    members = generalize.new_members(["TypeError", "valueerror", "bad word", "OSError", "TypeError", "kettle"],
                                     ["valueerror", "keyerror"])
    assert members == ["TypeError", "OSError"]  # single new words, each once, never a control
    places = generalize.contexts([QUIET, WINDOW], 0.5, ["valueerror", "keyerror"])
    assert places == [(" if bad: raise ", "ValueError", "(msg)")]
    texts = generalize.substitution_texts(places, members)
    assert [t["text"] for t in texts] == [" if bad: raise TypeError(msg)", " if bad: raise OSError(msg)",
                                          " if bad: raise Kettle(msg)", " if bad: raise Meadow(msg)"]
    assert [t["control"] for t in texts] == [False, False, True, True]


def _row(text: str, fires_on: set[str]) -> dict:
    tokens = re.findall(r"\s*\w+|\s*\W", text)
    return {"tokens": tokens, "values": [1.0 if t.strip().lower() in fires_on else 0.0 for t in tokens]}


def test_a_member_counts_only_where_it_fired_and_the_context_s_control_did_not():
    places = [("raise ", "ValueError", "(x)"), ("except ", "KeyError", ":")]
    texts = generalize.substitution_texts(places, ["TypeError", "OSError"])
    fired = {"typeerror", "kettle"}  # in the second context the control fires too: that context proves nothing
    rows = [_row(t["text"], fired if t["context"] == 1 else {"typeerror"}) for t in texts]
    assert generalize.confirmed_members(texts, rows, 0.5) == (["typeerror"], ["oserror"])
    rows = [_row(t["text"], fired) for t in texts]
    assert generalize.confirmed_members(texts, rows, 0.5) == ([], ["typeerror", "oserror"])


def test_class_words_name_the_class_with_examples():
    words = generalize.class_words("names of Python exception classes.", ["valueerror", "keyerror", "typeerror"])
    assert words == "Fires on names of Python exception classes, such as 'valueerror', 'keyerror' or 'typeerror' (any case)."


def _reader(reading: dict, members: list[str] | None):
    """A reader behind real HTTP: `reading` for the words, `members` (or an error reply) for the class turn."""
    from sleuth.llm import LLMClient, LLMConfig
    from sleuth.llm.fake_server import FakeLLM, Step

    def answer(request):
        title = ((request.get("response_format") or {}).get("schema") or {}).get("title")
        if title == "ClassMembers":
            return {"members": members} if members is not None else Step(fault="500")
        return {"statement": "x", "rule": reading}

    fake = FakeLLM(responder=answer)
    fake.start()
    return fake, LLMClient(LLMConfig(base_url=fake.base_url, timeout_s=5.0, max_retries=0))


@pytest.mark.parametrize("words, reading, members, expected", [
    # a class named by examples: the reader's own list of members joins the examples (single words only)
    ("Fires on units of time, such as second or hour.", {"token_in": ["second", "hour"]},
     ["second", "minute", "Days", "time zone"], {"token_in": ["second", "hour", "minute", "days"]}),
    ("Fires on units of time, like 'second'.", {"regex": {"word": "(?i)second|hour"}}, ["minute"],
     {"any": [{"regex": {"word": "(?i)second|hour"}}, {"token_in": ["minute"]}]}),
    # no examples, or a reading that is not only words: left as read
    ("Fires on the word 'second'.", {"token_in": ["second"]}, ["minute"], {"token_in": ["second"]}),
    ("Fires inside quotes, such as names.", {"inside": "quotes"}, ["minute"], {"inside": "quotes"}),
    # a class turn that fails leaves the reading as it was
    ("Fires on units of time, such as second.", {"token_in": ["second"]}, None, {"token_in": ["second"]}),
])
def test_words_that_name_a_class_by_examples_read_back_as_the_class(words, reading, members, expected):
    from sleuth.predicates import predicate_dict
    from sleuth.scorers.read_back import read_rule

    fake, client = _reader(reading, members)
    try:
        assert predicate_dict(read_rule(client, words)) == expected
    finally:
        fake.stop()
