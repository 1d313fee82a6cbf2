"""The ruler sleuth measures itself with: a reader not tuned to sleuth's phrasing, a sealed test split the
rule search carries no answer for, words marked by who wrote them, and failures counted, not scored 0."""

import re
from pathlib import Path

import pytest

from sleuth.evals.find import ComponentResult, mode_report, select, summarize
from sleuth.predicates import load_suite, parse_predicate, predicate_dict
from sleuth.predicates.induce import fixed_candidates
from sleuth.predicates.regex_words import has_rule_syntax, regex_in_words
from sleuth.predicates.words import in_words
from sleuth.prompts import worked_examples

ROOT = Path(__file__).parents[2]
SUITE = load_suite(ROOT / "evals" / "find")
# rules of every form, as code states them: the phrasing the reader must not have been shown
SAMPLE_RULES = [{"token_in": ["cat", "dog"]}, {"previous_token_in": ["the"]}, {"regex": {"word": "(?i)ing$"}},
                {"regex": {"word": "(?i)^un"}}, {"numeric": "odd"}, {"numeric": {"gt": 10}},
                {"position": {"after": 8}}, {"position": "first"}, {"position": {"every": 3}}, {"inside": "quotes"},
                {"context_regex": {"pattern": "\n\\s*$", "window": 1}}, {"all": [{"numeric": "odd"}, {"numeric": {"gt": 10}}]},
                {"any": [{"token_in": ["if"]}, {"previous_token_in": ["return"]}]}, {"not": {"inside": "brackets"}}]


def _grams(text: str, n: int = 4) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def _template_text(name: str) -> str:
    return (ROOT / "prompts" / f"{name}.j2").read_text()


def test_the_readers_worked_examples_share_no_phrasing_with_the_describer_or_the_suite():
    examples = worked_examples("read_back_examples")
    describer = set().union(*(_grams(_template_text(n)) for n in ("describe", "oneshot_describe", "label_explain")))
    code_words = set().union(*(_grams(in_words(c.unit.fn)) for c in SUITE), *(_grams(in_words(r)) for r in SAMPLE_RULES))
    truths = set().union(*(_grams(c.description) for c in SUITE))
    for example in examples:
        said = _grams(example["words"])
        assert not said & describer, (example["words"], said & describer)
        assert not said & code_words, (example["words"], said & code_words)
        assert not said & truths, (example["words"], said & truths)
        assert example["words"].strip().lower() not in {c.description.strip().lower() for c in SUITE}
        assert predicate_dict(parse_predicate(example["rule"])) not in [predicate_dict(c.unit.fn) for c in SUITE]


def _made_of_fixed(rule: dict, fixed: list[dict]) -> bool:
    if rule in fixed:
        return True
    for key in ("all", "any"):
        if key in rule:
            return all(_made_of_fixed(part, fixed) for part in rule[key])
    return "not" in rule and _made_of_fixed(rule["not"], fixed)


def test_no_test_unit_is_answered_by_a_constant_of_the_rule_search():
    fixed = [predicate_dict(parse_predicate(r)) for r in fixed_candidates()]
    test_units = [c for c in SUITE if c.split == "test"]
    assert len(test_units) >= 14 and {c.category for c in test_units} == {c.category for c in SUITE}
    for c in test_units:
        assert not _made_of_fixed(predicate_dict(c.unit.fn), fixed), c.name
    assert _made_of_fixed(predicate_dict(parse_predicate({"regex": {"word": "^[A-Z][a-z]+$"}})), fixed)  # the check bites


def test_every_packaged_unit_is_in_one_split_and_select_takes_one():
    assert {c.split for c in SUITE} == {"dev", "test"}
    assert {c.name for c in select(SUITE, split="test")} == {c.name for c in SUITE if c.split == "test"}
    assert len(select(SUITE, limit=7, split="test")) == 7
    unsplit = [c.model_copy(update={"split": None}) for c in SUITE[:3]]
    with pytest.raises(Exception, match="no component in the 'test' split"):
        select(unsplit, split="test")


@pytest.mark.parametrize("pattern,said", [
    ("^[A-Z][a-z]+$", "a word made of a capital letter followed by one or more lower-case letters"),
    ("^[A-Z]{2,}$", "a word made of 2 or more capital letters"),
    ("(?i)ing$", "a word ending with 'ing' (any case)"),
    ("^(?:cat|dog)$", "a word that is exactly 'cat' or 'dog'"),
    ("\\b(if|while)\\b", "a word containing the whole word 'if' or 'while'"),
    ("[a-z]_[a-z]", "a word containing a lower-case letter followed by an underscore followed by a lower-case letter"),
])
def test_simple_patterns_are_said_in_plain_words(pattern, said):
    assert regex_in_words(pattern) == said
    assert not has_rule_syntax(said)


def test_words_that_need_a_regex_manual_are_flagged():
    assert regex_in_words("x{2}|y[^a]") is None  # not simple: the caller keeps /…/ and it is flagged
    assert has_rule_syntax(in_words({"regex": {"word": "x{2}|y[^a]"}}))
    for words in ("Fires on tokens matching /ing$/.", 'Fires on {"token_in": ["a"]}.', "Fires on \\bthe\\b.",
                  "Fires where token_in holds."):
        assert has_rule_syntax(words), words
    for words in ("Fires on odd numbers.", "Fires on 'and/or'.", "Fires on dates like 1/2/3.", "Fires on (any) 'x'."):
        assert not has_rule_syntax(words), words


def _result(name, mode, read_back, by="llm", description="words", failures=()):
    return ComponentResult(name=name, category="c", site="s", mode=mode, description=description, status="described",
                           written_by=by, read_back_f1=read_back, f1=0.5, judge_choice=0.5, scoring_failures=list(failures),
                           split="test")


def test_a_scorer_that_failed_is_counted_and_left_out_but_a_describer_that_failed_scores_0():
    results = [_result("a", "agent", 0.8), _result("b", "agent", None, failures=["read_back: garbage"]),
               _result("c", "agent", None, description=None)]
    summary = summarize(results)
    assert summary.read_back_f1 == pytest.approx(0.4)  # (0.8 + 0) / 2: b's reader failed, c's describer failed
    assert summary.scoring_failed == 1 and summary.failed == 2


def test_read_back_is_reported_by_author_and_as_a_ratio_to_the_true_words():
    agent = [_result("a", "agent", 0.9, by="code"), _result("b", "agent", 0.5, by="llm"),
             _result("c", "agent", 0.6, by="llm", description="Fires on /ing$/.")]
    agent[2].rule_syntax = True
    truth = [_result(n, "reference", 0.8, by="human") for n in "abc"]
    report = mode_report("agent", agent, truth)
    assert report.overall.read_back_by_author == {"code": 0.9, "llm": 0.55}
    assert report.overall.by_author == {"code": 1, "llm": 2} and report.overall.rule_syntax == 1
    assert report.read_back_vs_reference == pytest.approx(2.0 / 2.4, abs=1e-3)
    assert report.per_split["test"].n == 3
    assert mode_report("reference", truth, truth).read_back_vs_reference is None


def test_the_board_rows_say_who_wrote_the_words_and_each_split():
    from sleuth.evals.find import FindReport, find_rows
    from sleuth.evals.scoreboard import render

    agent = [_result("a", "agent", 0.9, by="code"), _result("b", "agent", 0.5, by="llm")]
    truth = [_result(n, "reference", 0.8, by="human") for n in "ab"]
    report = FindReport(suite="find", suite_checksum="x", model="m", llm="l", judge_llm="l", seed=0, texts_per_component=12,
                        modes=[mode_report("reference", truth, truth), mode_report("agent", agent, truth)])
    rows = {r.key: r for r in find_rows(report)}
    assert set(rows) == {"find:find/reference", "find:find/test/reference", "find:find/agent", "find:find/test/agent"}
    assert rows["find:find/agent"].read_back_by_author == {"code": 0.9, "llm": 0.5}
    assert "code 0.90 (1), llm 0.50 (1)" in render(list(rows.values()))
