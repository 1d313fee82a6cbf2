"""The predicate language form by form, value grading, noise, suite files and their errors (no model)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from sleuth.predicates import PredicateError, SyntheticComponent, TokenView, evaluate, load_suite, parse_predicate
from sleuth.predicates.forms import predicate_schema

ROOT = Path(__file__).resolve().parents[2]
TOKENS = ["The", " cat", " said", ' "', "hello", " 42", '"', " (", "x", " 7", ")", " ``", "code", "``",
          " running", " 3", ".", "5", "\n", "Next"]


def fired(rule: dict, tokens=TOKENS) -> list[str]:
    return [t for t, hit in zip(tokens, evaluate(parse_predicate(rule), tokens)) if hit]


@pytest.mark.parametrize("rule, expected", [
    ({"token_in": ["cat", "Hello"]}, [" cat", "hello"]),
    ({"token_in": ["running"]}, [" running"]),
    ({"regex": {"token": "ing$"}}, [" running"]),
    ({"regex": {"word": "^[A-Z]"}}, ["The", "Next"]),  # case-sensitive
    ({"context_regex": {"pattern": "said", "window": 2}}, [' "', "hello"]),
    ({"previous_token_in": ["the"]}, [" cat"]),
    ({"numeric": "even"}, [" 42"]),
    ({"numeric": "odd"}, [" 7"]),  # 3.5 is not an integer: neither even nor odd
    ({"numeric": {"gt": 5, "lt": 40}}, [" 7"]),
    ({"numeric": {"le": 4}}, [" 3", ".", "5"]),  # every token of the number 3.5
    ({"numeric": {"divisible_by": 6}}, [" 42"]),
    ({"numeric": {"eq": 7}}, [" 7"]),
    ({"position": "first"}, ["The"]),
    ({"position": {"every": 5}}, ["The", " 42", ")", " 3"]),
    ({"position": {"after": 18}}, ["\n", "Next"]),
    ({"inside": "quotes"}, ["hello", " 42"]),
    ({"inside": "brackets"}, ["x", " 7"]),
    ({"inside": "code"}, ["code"]),  # ``code`` as well as `code`
    ({"all": [{"numeric": "odd"}, {"inside": "brackets"}]}, [" 7"]),
    ({"any": [{"token_in": ["cat"]}, {"numeric": "even"}]}, [" cat", " 42"]),
    ({"not": {"position": {"after": 1}}}, ["The"]),
])
def test_every_form(rule, expected):
    assert fired(rule) == expected


def test_words_join_tokens_of_one_word():
    tokens = ["The", " run", "ning", " dog"]
    assert fired({"token_in": ["running"]}, tokens) == [" run", "ning"]
    assert fired({"regex": {"word": "ing$"}}, tokens) == [" run", "ning"]
    assert fired({"regex": {"token": "ing$"}}, tokens) == ["ning"]


@pytest.mark.parametrize("bad, says", [
    ({"tokn_in": ["a"]}, "unknown predicate key 'tokn_in'"),
    ({"regex": {"token": "("}}, "bad regex"),
    ({"regex": {"token": "a", "word": "b"}}, "exactly one of"),
    ({"regex": {"foo": "x"}}, "unknown key 'foo'"),
    ({"numeric": {"gt": "abc"}}, "valid number"),
    ({"numeric": {}}, "at least one of"),
    ({"numeric": "prime"}, "numeric"),
    ({"position": {"every": 0}}, "greater than or equal to 1"),
    ({"inside": "braces"}, "inside"),
    ({"all": []}, "at least 1 item"),
    ({"token_in": ["a"], "regex": {"token": "b"}}, "exactly one key"),
    ("hi", "a predicate is a mapping"),
])
def test_malformed_predicates_are_one_line_errors(bad, says):
    with pytest.raises(PredicateError) as info:
        parse_predicate(bad)
    assert says in str(info.value) and "\n" not in str(info.value)


def test_values_number_list_order_and_graded_number():
    assert SyntheticComponent(fn={"token_in": ["a"]}, value=0.25).activations(["a", " b"]) == [0.25, 0.0]
    ordered = SyntheticComponent(fn={"token_in": ["one", "two", "three"]}, value={"graded": "list_order"})
    assert ordered.activations(["one", " two", " three", " four"]) == pytest.approx([1 / 3, 2 / 3, 1.0, 0.0])
    graded = SyntheticComponent(fn={"numeric": {"ge": 0}}, value={"graded": "number", "scale": 100})
    assert graded.activations(["x", " 42", " 250"]) == pytest.approx([0.0, 0.42, 1.0])


@pytest.mark.parametrize("spec, says", [
    ({"fn": {"numeric": "even"}, "value": {"graded": "list_order"}}, "list_order needs a token_in fn"),
    ({"fn": {"token_in": ["a"]}, "value": {"graded": "number", "scale": 10}}, "needs a numeric predicate"),
    ({"fn": {"numeric": "even"}, "value": {"graded": "number"}}, "needs a scale"),
])
def test_grading_must_fit_the_function(spec, says):
    with pytest.raises(ValueError, match=says):
        SyntheticComponent.model_validate(spec)


def test_noise_is_deterministic_and_corrupts_at_its_rates():
    unit = SyntheticComponent(fn={"token_in": ["a"]}, noise={"p_drop": 0.3, "p_spurious": 0.1, "seed": 7})
    tokens = ["a"] * 500 + ["b"] * 500
    first, again = unit.activations(tokens), unit.activations(tokens)
    assert first == again
    dropped = sum(v == 0 for v in first[:500]) / 500
    spurious = sum(v > 0 for v in first[500:]) / 500
    assert 0.2 < dropped < 0.4 and 0.05 < spurious < 0.15
    assert unit.clean(tokens) == [1.0] * 500 + [0.0] * 500  # the truth stays clean
    other_seed = unit.model_copy(update={"noise": unit.noise.model_copy(update={"seed": 8})})
    assert other_seed.activations(tokens) != first


def test_schema_is_json_for_a_grammar():
    schema = predicate_schema()
    text = json.dumps(schema)
    for key in ("token_in", "context_regex", "previous_token_in", "numeric", "position", "inside", '"all"', '"not"'):
        assert key in text


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "suite.yaml").write_text(text)
    return tmp_path


@pytest.mark.parametrize("text, says", [
    ("components:\n  - {name: a, description: d, fn: {tokn_in: [x]}}\n", "component 'a': unknown predicate key 'tokn_in'"),
    ("components:\n  - {name: b, description: d, fn: {regex: {token: '('}}}\n", "component 'b': at fn.regex: bad regex"),
    ("components:\n  - {name: c, description: d, fn: {numeric: even}, value: {graded: list_order}}\n",
     "component 'c': graded: list_order needs a token_in fn"),
    ("components:\n  - {name: d, description: d, fn: {numeric: {gt: ten}}}\n", "component 'd': at fn.numeric.gt"),
    ("components:\n  - {name: e, description: d, fn: {token_in: [x]}, colour: red}\n", "component 'e': unknown key 'colour'"),
    ("components: [unclosed\n", "not valid YAML"),
    ("nothing: here\n", "top-level 'components:' list"),
    ("components:\n  - {name: f, description: d, fn: {token_in: [x]}}\n  - {name: f, description: d, fn: {token_in: [y]}}\n",
     "'f' is already defined"),
])
def test_bad_suite_files_name_the_file_and_the_component(tmp_path, text, says):
    with pytest.raises(PredicateError) as info:
        load_suite(_write(tmp_path, text))
    message = str(info.value)
    assert says in message and "suite.yaml" in message and "\n" not in message


def test_default_suite_has_forty_components_in_seven_categories():
    components = load_suite(ROOT / "evals" / "find")
    assert len(components) >= 40
    assert {c.category for c in components} >= {"lexical", "morphology", "numeric", "positional", "contextual",
                                                 "compositional", "noisy"}
    assert any(c.unit.noise for c in components)


def _readme_examples() -> list[tuple[dict, list[str], list[float]]]:
    """```yaml blocks in the README that carry '# tokens:' and '# values:' lines."""
    text = (ROOT / "README.md").read_text()
    out = []
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        tokens = re.search(r"^# tokens: (.*)$", block, re.M)
        values = re.search(r"^# values: (.*)$", block, re.M)
        if tokens and values:
            out.append((yaml.safe_load(block), json.loads(tokens.group(1)), json.loads(values.group(1))))
    return out


def test_every_documented_example_gives_its_documented_activations():
    examples = _readme_examples()
    assert len(examples) >= 8
    for spec, tokens, values in examples:
        unit = SyntheticComponent.model_validate({k: spec[k] for k in ("fn", "value", "noise") if k in spec})
        assert unit.activations(tokens) == pytest.approx(values), spec


def test_token_view_spans_words_and_numbers():
    view = TokenView(["In", " 19", "99", " we"])
    assert view.words == ["in", "1999", "1999", "we"]
    assert view.numbers == [None, 1999.0, 1999.0, None]


def test_every_rule_of_the_default_suite_has_words():
    from sleuth.predicates.regex_words import has_rule_syntax
    from sleuth.predicates.words import in_words

    forms_seen = set()
    for component in load_suite(ROOT / "evals" / "find"):
        text = in_words(component.unit.fn)
        assert text.startswith("Fires on ") and text.endswith("."), (component.name, text)
        assert not has_rule_syntax(text) and "{'" not in text and "_" not in text, text  # words, not data
        forms_seen.add(type(component.unit.fn).__name__)
    assert len(forms_seen) >= 8, forms_seen


def test_rule_words_say_what_the_rule_says():
    from sleuth.predicates.words import in_words

    assert in_words({"token_in": ["def", "class"]}) == "Fires on the words 'def' or 'class' (any case)."
    assert in_words({"previous_token_in": ["the"]}) == "Fires on the token right after 'the'."
    assert in_words({"numeric": {"gt": 10, "le": 99}}) == "Fires on any part of a number greater than 10 and at most 99."
    assert in_words({"not": {"inside": "quotes"}}) == "Fires on any token except a token inside double quotes."
    assert in_words({"position": "first"}) == "Fires on the first token of a text."


@pytest.mark.timeout(30)  # a hang guard: on Python's backtracking `re` this rule never returned
def test_a_catastrophic_pattern_runs_in_linear_time():
    tokens = ["a" * 40 + "!" for _ in range(40)]  # Python's `re` needs about 2**40 steps per token here
    rule = {"context_regex": {"pattern": r"^(\w+\s?)*$", "window": 16}}
    assert evaluate(parse_predicate(rule), tokens) == [True] + [False] * 39  # only the empty context matches
    assert fired({"regex": {"token": r"^(a+)+$"}}, ["a" * 40 + "!", "aaa"]) == ["aaa"]


@pytest.mark.parametrize("pattern", [r"(?<=a)b", r"(a)\1", r"(?=x)y"])
def test_a_pattern_that_needs_backtracking_is_refused_with_its_reason(pattern):
    with pytest.raises(PredicateError, match="bad regex .*RE2"):
        parse_predicate({"regex": {"token": pattern}})
