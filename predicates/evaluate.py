"""The evaluator: a predicate and a TokenView -> one boolean per token. Pure code, no LLM."""

from __future__ import annotations

from sleuth.predicates import forms as f
from sleuth.predicates.patterns import compile_pattern
from sleuth.predicates.tokens import TokenView


def _numeric(rule, value: float | None, integer: bool) -> bool:
    if value is None:
        return False
    if rule in ("even", "odd"):
        return integer and int(value) % 2 == (0 if rule == "even" else 1)
    checks = [(rule.gt, lambda b: value > b), (rule.ge, lambda b: value >= b), (rule.lt, lambda b: value < b),
              (rule.le, lambda b: value <= b), (rule.eq, lambda b: value == b),
              (rule.divisible_by, lambda b: integer and int(value) % b == 0)]
    return all(test(bound) for bound, test in checks if bound is not None)


def _position(rule, n: int) -> list[bool]:
    if rule == "first":
        return [i == 0 for i in range(n)]
    if isinstance(rule, f.Every):
        return [i % rule.every == 0 for i in range(n)]
    return [i >= rule.after for i in range(n)]


def holds(predicate, view: TokenView) -> list[bool]:
    """Per token of `view`: does `predicate` hold there?"""
    n = len(view)
    if isinstance(predicate, f.TokenIn):
        wanted = set(predicate.token_in)
        return [s in wanted or w in wanted for s, w in zip(view.stripped, view.words)]
    if isinstance(predicate, f.Regex):
        target = predicate.regex
        pattern = compile_pattern(target.token if target.token is not None else target.word)
        texts = [t.strip() for t in view.tokens] if target.token is not None else view.raw_words
        return [bool(t) and pattern.search(t) is not None for t in texts]
    if isinstance(predicate, f.ContextRegex):
        spec = predicate.context_regex
        pattern = compile_pattern(spec.pattern)
        return [pattern.search("".join(view.tokens[max(0, i - spec.window):i])) is not None for i in range(n)]
    if isinstance(predicate, f.PreviousTokenIn):
        wanted = set(predicate.previous_token_in)
        return [i > 0 and view.stripped[i - 1] in wanted for i in range(n)]
    if isinstance(predicate, f.Numeric):
        return [_numeric(predicate.numeric, v, k) for v, k in zip(view.numbers, view.integer_numbers)]
    if isinstance(predicate, f.Position):
        return _position(predicate.position, n)
    if isinstance(predicate, f.Inside):
        return list(view.inside(predicate.inside))
    if isinstance(predicate, f.All):
        parts = [holds(p, view) for p in predicate.all_]
        return [all(col) for col in zip(*parts)]
    if isinstance(predicate, f.AnyOf):
        parts = [holds(p, view) for p in predicate.any_]
        return [any(col) for col in zip(*parts)]
    if isinstance(predicate, f.Not):
        return [not x for x in holds(predicate.not_, view)]
    raise TypeError(f"not a predicate: {predicate!r}")


def evaluate(predicate, tokens: list[str] | TokenView) -> list[bool]:
    """`holds` on a list of token strings (or a prepared TokenView)."""
    view = tokens if isinstance(tokens, TokenView) else TokenView(list(tokens))
    return holds(predicate, view) if len(view) else []
