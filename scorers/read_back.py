"""read_back: an LLM reads only the words and restates them as a rule; code scores that rule.

The reader fills a schema (a statement and a rule in the predicate language), which small local
LLMs do far better than marking tokens one by one; sleuth's own code then evaluates the rule
on the held-out windows. The value is the token-level F1 of the reading against real firing,
so vague words ("responds to specific tokens") read back as a rule that fits nothing and fail.
A reader that ignores the words returns the same rule for right and wrong words alike, so the
score cannot tell them apart: it measures the words only through what they say.
"""

from __future__ import annotations

import json
import re
from typing import ClassVar

from pydantic import BaseModel, Field

from sleuth.llm.errors import LLMError, LLMUnreachable
from sleuth.predicates import Predicate, parse_predicate, predicate_dict
from sleuth.predicates.fit import fit, rule_values, text_fires
from sleuth.prompts import data_block, render, worked_examples
from sleuth.scorers.registry import ScoringInput, scorer
from sleuth.scorers.rule import stored_rule


class Reading(BaseModel):
    """The words restated: the statement keeps the reader on the text, the rule is what code evaluates."""

    BRIEF: ClassVar[str] = ('Reply with one JSON object and nothing else: {"statement": "<the words restated>", '
                            '"rule": RULE}, RULE a rule as listed.')

    statement: str = Field(max_length=400)
    rule: Predicate


def _turns(description: str) -> list[dict]:
    """The instructions, worked readings as earlier turns (a small model follows turns better than a list),
    then the words under test, fenced as data."""
    turns = [{"role": "user", "content": render("read_back")}, {"role": "assistant", "content": "Ready."}]
    for example in worked_examples("read_back_examples"):
        turns += [{"role": "user", "content": data_block(example["words"], "description")},
                  {"role": "assistant", "content": json.dumps({"statement": example["words"], "rule": example["rule"]})}]
    return [*turns, {"role": "user", "content": data_block(description, "description")}]


class ClassMembers(BaseModel):
    members: list[str] = Field(min_length=1, max_length=60)


CLASS_MARK = re.compile(r"\b(?:such as|like|for example|e\.g\.|including|and the like)\b", re.I)
CLASS_MEMBERS = 30  # members the reader is asked for
_WORD_PATTERN = re.compile(r"(?:\(\?i\))?\^?\(?(?:\\b)?[^\W_]+(?:\|[^\W_]+)*\)?(?:\\b)?\$?")


def read_rule(llm, description: str):
    """The rule an LLM reads out of `description` alone (a parsed predicate; InvalidOutput if it gives none),
    less any clause the reader copied from a worked example (see `without_copied_clauses`), with a word
    list misread as a character class made the list it meant (see `word_lists_from_classes`), and, for words
    that name a class by examples, the class's other members (see `with_class_members`)."""
    rule = llm.structured(_turns(description), Reading, max_tokens=400, brief=Reading.BRIEF).rule
    read = word_lists_from_classes(without_copied_clauses(predicate_dict(rule), description))
    return parse_predicate(with_class_members(llm, description, read))


def _word_reading(rule: dict) -> bool:
    """The reading only names words: a token_in, a regex that is words joined by `|`, or any of these."""
    if "token_in" in rule:
        return True
    if isinstance(rule.get("regex"), dict):
        return bool(_WORD_PATTERN.fullmatch(rule["regex"].get("token") or rule["regex"].get("word") or ""))
    return isinstance(rule.get("any"), list) and all(_word_reading(c) for c in rule["any"])


def with_class_members(llm, description: str, rule: dict) -> dict:
    """Words that name a class by examples ("units of time, such as second or hour") say that every member fires,
    but the 1.5B reads back the examples alone. When the reading only names words and the words give examples,
    the reader is asked, in a second turn, for the class's members; single words among them join the reading.
    A reply that fails leaves the reading as it was."""
    if not CLASS_MARK.search(description) or not _word_reading(rule):
        return rule
    try:
        reply = llm.structured([{"role": "user", "content": render("read_class", description=description,
                                                                    n=CLASS_MEMBERS)}], ClassMembers, max_tokens=360)
    except LLMUnreachable:
        raise
    except LLMError:
        return rule
    members = [m.strip() for m in reply.members if _LISTED_WORD.fullmatch(m.strip())]
    if not members:
        return rule
    if "token_in" in rule:
        return {"token_in": list(dict.fromkeys([*rule["token_in"], *(m.casefold() for m in members)]))}
    return {"any": [rule, {"token_in": list(dict.fromkeys(m.casefold() for m in members))}]}


_CHOICE_FORMS = ("numeric", "position", "inside")


def _words(text: str) -> set[str]:
    return {w.casefold() for w in re.findall(r"[^\W_]+", text)}


def _literals(node) -> set[str]:
    """The words a rule quotes (tokens, regex patterns), regex syntax and escapes stripped ("ing$" -> "ing");
    not the fixed choices of numeric, position and inside ("odd", "first", "quotes")."""
    if isinstance(node, dict):
        return set().union(*(_literals(v) for k, v in node.items() if k not in _CHOICE_FORMS))
    if isinstance(node, list):
        return set().union(*(_literals(v) for v in node))
    if isinstance(node, str):
        return _words(re.sub(r"\\.", " ", node))
    return set()


def without_copied_clauses(rule: dict, words: str) -> dict:
    """Drop each clause of an any/all made only of words that a worked reading uses and the description does
    not (the 1.5B once added the example's `previous_token_in: [return]` to a rule about pronouns). Code, not
    the LLM, decides; a clause with any word of its own, or a rule with no any/all, is left as read."""
    shown = set().union(*(_literals(e["rule"]) for e in worked_examples("read_back_examples")))
    said = _words(words)

    def copied(clause) -> bool:
        found = _literals(clause)
        return bool(found) and found <= shown and not found & said

    def pruned(node: dict) -> dict:
        for key in ("any", "all"):
            if isinstance(node.get(key), list):
                kept = [pruned(c) for c in node[key] if not copied(c)]
                if not kept:
                    return node
                return kept[0] if len(kept) == 1 else {**node, key: kept}
        return node

    return pruned(rule)


_CLASS_OF_WORDS = re.compile(r"(?:\(\?[a-z]+\))?(?:\^|\\b)?\[([^\[\]]+)\](?:\$|\\b)?")
_LISTED_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def _listed_words(pattern: str) -> list[str] | None:
    """The words of a character class written as alternatives (`^[It|They|i]$`), or None for any other regex:
    a class never holds `|` as a separator, so `[aeiou]` or `[0-9]` is a real class and stays one."""
    found = _CLASS_OF_WORDS.fullmatch(pattern)
    words = found.group(1).split("|") if found else []
    if len(words) < 2 or not all(_LISTED_WORD.fullmatch(w) for w in words):
        return None
    return words


def word_lists_from_classes(rule: dict) -> dict:
    """A regex that is one character class of words joined by `|` becomes the `token_in` list it meant: the
    1.5B wrote `[It|They|i]` for "the pronouns it, they, I", a class of single letters that fires on most words.
    Code rewrites it, in any any/all/not; every other form is left as read."""
    if "regex" in rule and isinstance(rule["regex"], dict):
        pattern = rule["regex"].get("token") or rule["regex"].get("word") or ""
        words = _listed_words(pattern)
        return {"token_in": words} if words else rule
    for key in ("any", "all"):
        if isinstance(rule.get(key), list):
            return {**rule, key: [word_lists_from_classes(c) for c in rule[key]]}
    if isinstance(rule.get("not"), dict):
        return {**rule, "not": word_lists_from_classes(rule["not"])}
    return rule


@scorer("read_back", "Token-level F1 on held-out windows of the rule an LLM reads out of the words alone.",
        needs=("llm", "description", "examples", "fire_threshold"), reads_words=True)
def read_back(inp: ScoringInput) -> tuple[float, int, dict]:
    reading = read_rule(inp.llm, inp.description)
    result = fit(reading, [(e.tokens, e.values) for e in inp.examples], inp.fire_threshold)
    details = {"read_rule": predicate_dict(reading), **result.model_dump(exclude={"f1", "texts"}),
               # per window: does the reading fire in it (Delphi's per-example records; not a judge's answers)
               "windows": [{"example": i, "answer": text_fires(reading, e.tokens)} for i, e in enumerate(inp.examples)]}
    if inp.rule:  # how far the words say what the description's own rule says (F1 of the reading against it)
        stated = stored_rule(inp.rule)
        details["matches_rule_f1"] = fit(reading, [(e.tokens, rule_values(stated, e.tokens)) for e in inp.examples],
                                         0.5).f1
    return result.f1, len(inp.examples), details
