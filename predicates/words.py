"""A predicate in plain words, written by code: what the rule says, exactly, for a reader (and a judge)."""

from __future__ import annotations

import re

from sleuth.predicates import forms as f
from sleuth.predicates.regex_words import regex_in_words

INSIDE = {"quotes": "inside double quotes", "brackets": "inside round or square brackets", "code": "inside backticks"}
AFFIX = re.compile(r"\(\?i\)(?P<start>\^)?(?P<letters>[A-Za-z]+)(?(start)|\$)")
CONTEXT_WORDS = re.compile(r"\(\?i\)\\b\(\?:(?P<words>\w+(?:\|\w+)*)\)\\b")  # the induced form (?i)\b(?:if|while)\b
LINE_START = "\n\\s*$"  # the induced context "right after a line break"

COMPARISONS = (("gt", "greater than"), ("ge", "at least"), ("lt", "less than"), ("le", "at most"), ("eq", "equal to"),
               ("divisible_by", "divisible by"))


def context_words_pattern(words: list[str]) -> str:
    """The induced context form (?i)\\b(?:if|while)\\b, which CONTEXT_WORDS reads back into words."""
    return "(?i)\\b(?:" + "|".join(map(re.escape, words)) + ")\\b"


def _listed(words: list[str]) -> str:
    quoted = [repr(w) for w in words]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def phrase(predicate) -> str:
    """The tokens the predicate holds on, as a noun phrase ("the word 'def' or 'class'")."""
    p = f.parse_predicate(predicate) if isinstance(predicate, dict) else predicate
    if isinstance(p, f.TokenIn):
        return f"the word{'s' if len(p.token_in) > 1 else ''} {_listed(p.token_in)} (any case)"
    if isinstance(p, f.Regex):
        affix = AFFIX.fullmatch(p.regex.word or "")
        if affix:  # the induced forms (?i)^un and (?i)ing$
            return f"any token of a word {'beginning' if affix['start'] else 'ending'} with {affix['letters']!r} (any case)"
        pattern, noun = (p.regex.token, "token") if p.regex.token is not None else (p.regex.word, "word")
        said = regex_in_words(pattern, noun)
        if said is None:  # not a simple pattern: stated as it is (and flagged as rule syntax)
            return f"{'a token' if noun == 'token' else 'any token of a word'} matching the pattern /{pattern}/"
        return said if noun == "token" else f"any token of {said}"
    if isinstance(p, f.ContextRegex):
        spec = p.context_regex
        if spec.window == 1 and spec.pattern == LINE_START:
            return "the first token of a line (right after a line break)"
        words = CONTEXT_WORDS.fullmatch(spec.pattern)
        if words:
            return (f"a token within {spec.window} tokens after the word{'s' if '|' in words['words'] else ''} "
                    f"{_listed(words['words'].split('|'))} (any case)")
        before = "the token just before it" if spec.window == 1 else f"the {spec.window} tokens just before it"
        said = regex_in_words(spec.pattern, "text")
        return f"a token where {before} {'form ' + said if said else f'match /{spec.pattern}/'}"
    if isinstance(p, f.PreviousTokenIn):
        return f"the token right after {_listed(p.previous_token_in)}"
    if isinstance(p, f.Numeric):
        if p.numeric in ("even", "odd"):
            return f"any part of an {p.numeric} whole number"
        bounds = [f"{words} {_number(getattr(p.numeric, key))}" for key, words in COMPARISONS
                  if getattr(p.numeric, key) is not None]
        return f"any part of a number {' and '.join(bounds)}"
    if isinstance(p, f.Position):
        if p.position == "first":
            return "the first token of a text"
        if isinstance(p.position, f.Every):
            k = p.position.every
            return f"the tokens at positions 0, {k}, {2 * k}, ... of a text (counting from 0)"
        return f"any token at position {p.position.after} or later (counting from 0)"
    if isinstance(p, f.Inside):
        return f"a token {INSIDE[p.inside]}"
    if isinstance(p, f.All):
        return " that is also ".join(f"({phrase(q)})" for q in p.all_)
    if isinstance(p, f.AnyOf):
        return ", or ".join(phrase(q) for q in p.any_)
    if isinstance(p, f.Not):
        return f"any token except {phrase(p.not_)}"
    raise ValueError(f"no words for predicate {p!r}")


def in_words(predicate) -> str:
    """One sentence: "Fires on <the tokens the rule holds on>." """
    return f"Fires on {phrase(predicate)}."
