"""Rules induced from measured activations by code: a bounded search over the predicate language.

Given windows of (tokens, activations) and the unit's firing threshold, it builds candidate rules
from what fired (token lists and previous-token lists grown greedily, word patterns from the firing
words' shapes and endings, numeric bounds from the firing numbers, positions, quote/bracket/code
spans), pairs the best of them (`all` with a context or its negation, `any` of two), and ranks every
candidate by F1 on those windows. The result is a rule like any other: data that sleuth evaluates,
never code, and it faces the same held-out check as the LLM's rules. It is a hypothesis source beside
the LLM, not a verdict; fitted on few windows, a token list can overfit, which held-out data shows.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel

from sleuth.predicates.evaluate import holds
from sleuth.predicates.fit import agreement
from sleuth.predicates.forms import parse_predicate, predicate_dict
from sleuth.predicates.tokens import TokenView
from sleuth.predicates.words import LINE_START as LINE_START_PATTERN
from sleuth.predicates.words import context_words_pattern

MAX_LISTED = 12  # words in an induced token list
MIN_PRECISION = 0.3  # a word enters a list only if the unit fires on at least this share of its occurrences
PAIRED = 4  # best single rules tried in pairs with each other (every one is tried with each context)
COMPLEXITY_COST = 0.01  # F1 a rule gives up per extra part, so a simpler rule wins a near tie
WORD_SHAPES = ("^[A-Z][a-z]+$", "^[A-Z]{2,}$", "^[a-z]+$", "_", "^[0-9]+$")
ENDINGS = (4, 3, 2)  # affix lengths tried on the firing words (longest first: it wins a tie)
ANY_NUMBER = {"ge": 0}
CONTEXT_WINDOWS = (2, 4, 8)  # tokens back that a context word is looked for in
MAX_CONTEXT_WORDS = 4
WORDLIKE = re.compile(r"\w+")
LINE_START = {"context_regex": {"pattern": LINE_START_PATTERN, "window": 1}}  # right after a line break
CONTEXTS = ({"inside": "quotes"}, {"inside": "brackets"}, {"inside": "code"}, {"position": "first"}, LINE_START)
FIXED_NUMBERS = ("even", "odd", ANY_NUMBER, {"divisible_by": 10})  # tried whenever a number fires
EVERY = range(2, 9)  # position periods tried whenever anything fires


def fixed_candidates() -> list[dict]:
    """Every rule the search tries whatever the data says (the rest is read off the firing tokens).
    A suite's test units must not be made of these alone: the search would carry their answers."""
    return ([{"regex": {"word": shape}} for shape in WORD_SHAPES] + list(CONTEXTS)
            + [{"numeric": n} for n in FIXED_NUMBERS] + [{"position": {"every": k}} for k in EVERY])


class InducedRule(BaseModel):
    rule: dict
    f1: float
    precision: float
    recall: float


class _Data:
    """The windows flattened: per token its view, index, and whether the unit fires there."""

    def __init__(self, windows: Sequence[tuple[Sequence[str], Sequence[float]]], threshold: float):
        self.views = [TokenView(list(tokens)) for tokens, _ in windows if len(tokens)]
        self.fires = [v >= threshold for (tokens, values) in windows if len(tokens) for v in values[:len(tokens)]]
        self.texts = len(self.views)

    def mask(self, rule: dict) -> list[bool]:
        predicate = parse_predicate(rule)
        return [x for view in self.views for x in holds(predicate, view)]

    def firing(self, per_view) -> list:
        """Per-token attribute values (from `per_view(view)`) where the unit fires."""
        values = [x for view in self.views for x in per_view(view)]
        return [x for x, f in zip(values, self.fires) if f]


def _score(data: _Data, mask: list[bool]) -> tuple[float, float, float]:
    a = agreement(data.fires, mask, data.texts)
    return a.f1, a.precision, a.recall


def _grown_list(data: _Data, key: str, keys_of) -> list[tuple[dict, list[bool]]]:
    """A token list grown greedily: words by how reliably the unit fires on them, kept while F1 rises."""
    chosen, mask = _grown(data, keys_of)
    return [({key: chosen}, mask)] if chosen else []


def _grown(data: _Data, keys_of) -> tuple[list[str], list[bool]]:
    """Keys (per token, `keys_of(view)` gives the set it matches) chosen greedily: by how reliably the
    unit fires where they match, kept while F1 rises; with the mask of the chosen keys."""
    per_token = [k for view in data.views for k in keys_of(view)]  # per token: the set of keys it matches
    fired, seen = Counter(), Counter()
    for keys, f in zip(per_token, data.fires):
        for k in keys:
            seen[k] += 1
            fired[k] += f
    ranked = sorted((k for k in fired if fired[k] and fired[k] / seen[k] >= MIN_PRECISION),
                    key=lambda k: (-fired[k] / seen[k], -fired[k], k))
    if any(fired[k] >= 2 for k in ranked):  # a word seen firing once is kept only when nothing repeats
        ranked = [k for k in ranked if fired[k] >= 2]
    chosen, mask, best = [], [False] * len(data.fires), 0.0
    for k in ranked:
        trial = [m or k in keys for m, keys in zip(mask, per_token)]
        f1 = _score(data, trial)[0]
        if f1 > best:
            chosen, mask, best = chosen + [k], trial, f1
        if len(chosen) >= MAX_LISTED:
            break
    return chosen, mask


def _token_keys(view: TokenView) -> list[set[str]]:
    return [{s, w} - {""} for s, w in zip(view.stripped, view.words)]


def _previous_keys(view: TokenView) -> list[set[str]]:
    return [set()] + [{s} - {""} for s in view.stripped[:-1]]


def _context_rules(data: _Data) -> list[tuple[dict, list[bool]]]:
    """Words seen within the last N tokens (N > 1: one token back is previous_token_in), as a
    context_regex; its mask is the rule evaluated, not the keys' guess."""
    rules = []
    for window in CONTEXT_WINDOWS:
        words, _ = _grown(data, lambda view, n=window: _context_keys(view, n))
        words = sorted(words[:MAX_CONTEXT_WORDS])  # one spelling of the same rule
        if words:
            rule = {"context_regex": {"pattern": context_words_pattern(words), "window": window}}
            rules.append((rule, data.mask(rule)))
    return rules


def _context_keys(view: TokenView, window: int) -> list[set[str]]:
    """Per token: the whole words (letters, digits, underscore) among the `window` tokens before it."""
    wordlike = [w if WORDLIKE.fullmatch(w) else "" for w in view.words]
    return [set(wordlike[max(0, i - window):i]) - {""} for i in range(len(wordlike))]


def _patterns(data: _Data) -> list[dict]:
    """Word shapes, and the endings and beginnings most firing words share."""
    words = [w for w in data.firing(lambda v: v.raw_words) if w and re.search(r"\w", w)]
    rules = [{"regex": {"word": shape}} for shape in WORD_SHAPES]
    # an affix shared by one word's repeats is that word, not a pattern; sorted, so that ties among
    # affixes break the same way in every process (a set's order changes with the string hash seed)
    distinct = sorted({w.lower() for w in words})
    for n in ENDINGS:
        for ending, count in Counter(w[-n:] for w in distinct if len(w) > n).most_common(2):
            if count >= 2 and ending.isalpha():
                rules.append({"regex": {"word": f"(?i){re.escape(ending)}$"}})
        for start, count in Counter(w[:n] for w in distinct if len(w) > n + 2).most_common(2):
            if count >= 2 and start.isalpha():
                rules.append({"regex": {"word": f"(?i)^{re.escape(start)}"}})
    return rules


def _numbers(data: _Data) -> list[dict]:
    values = [v for v in data.firing(lambda view: view.numbers) if v is not None]
    if not values:
        return []
    low, high = min(values), max(values)
    rules = [{"numeric": n} for n in FIXED_NUMBERS] + [
             {"numeric": {"ge": low}}, {"numeric": {"le": high}}, {"numeric": {"ge": low, "le": high}}]
    if low > 0:
        rules.append({"numeric": {"gt": low - 1 if float(low).is_integer() else low / 2}})
    return rules


def _positions(data: _Data) -> list[dict]:
    firing = data.firing(lambda view: range(len(view)))
    if not firing:
        return []
    low, high = min(firing), max(firing)
    rules = [{"position": "first"}, {"position": {"after": low}}] if low > 0 else [{"position": "first"}]
    rules.append({"not": {"position": {"after": high + 1}}})
    rules += [{"position": {"every": k}} for k in EVERY]
    return rules


def _singles(data: _Data) -> list[tuple[dict, list[bool]]]:
    """Every one-part candidate with its mask; the general forms first, so they win a tie with a word list."""
    masked = [(rule, data.mask(rule)) for rule in _patterns(data) + _numbers(data) + _positions(data) + list(CONTEXTS)]
    return (masked + _grown_list(data, "token_in", _token_keys) + _grown_list(data, "previous_token_in", _previous_keys)
            + _context_rules(data))


def _parts(rule: dict) -> float:
    """How much a rule says: one per form, and half a part per extra listed word (or context word) or per numeric bound
    beyond "any number" (a list of every firing word, or the firing numbers' exact range, fits the
    windows it was read from and nothing else)."""
    inner = rule.get("all") or rule.get("any")
    if inner:
        return sum(_parts(r) for r in inner)
    if "not" in rule:
        return 1 + _parts(rule["not"])
    listed = rule.get("token_in") or rule.get("previous_token_in") or [None]
    if "context_regex" in rule:  # an induced context's words are alternatives in one group
        listed = rule["context_regex"]["pattern"].split("|")
    bounds = rule["numeric"] if isinstance(rule.get("numeric"), dict) and rule["numeric"] != ANY_NUMBER else {}
    return 1 + (len(listed) - 1) / 2 + len(bounds) / 2


def induce(windows: Sequence[tuple[Sequence[str], Sequence[float]]], threshold: float, keep: int = 3) -> list[InducedRule]:
    """The `keep` best distinct rules for these windows, best first; none when nothing fires."""
    data = _Data(windows, threshold)
    if not any(data.fires):
        return []
    singles = sorted(_singles(data), key=lambda rm: -_score(data, rm[1])[0])
    candidates = list(singles)
    contexts = [(rule, mask) for rule, mask in singles if rule in CONTEXTS]
    for rule, mask in singles:
        for context, cmask in contexts:
            if rule is not context:
                candidates.append(({"all": [rule, context]}, [a and b for a, b in zip(mask, cmask)]))
                candidates.append(({"all": [rule, {"not": context}]}, [a and not b for a, b in zip(mask, cmask)]))
    top = singles[:PAIRED]
    for i, (rule, mask) in enumerate(top):
        for other, omask in top[i + 1:]:  # each unordered pair once: any/all do not depend on the order
            candidates.append(({"all": [rule, other]}, [a and b for a, b in zip(mask, omask)]))
            candidates.append(({"any": [rule, other]}, [a or b for a, b in zip(mask, omask)]))
    scored = []
    for rule, mask in candidates:
        f1, precision, recall = _score(data, mask)
        if f1 > 0:
            scored.append((f1 - COMPLEXITY_COST * (_parts(rule) - 1), InducedRule(
                rule=predicate_dict(parse_predicate(rule)), f1=round(f1, 4), precision=round(precision, 4), recall=round(recall, 4))))
    out, seen = [], set()
    for _, induced in sorted(scored, key=lambda s: -s[0]):
        key = repr(induced.rule)
        if key not in seen:
            seen.add(key)
            out.append(induced)
        if len(out) >= keep:
            break
    return out
