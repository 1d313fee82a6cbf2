"""Every pattern a rule carries runs on RE2, in time linear in the text, whoever wrote it (an LLM, a suite
file, a read-back reading): Python's backtracking `re` can take forever on a pattern such as `^(\\w+\\s?)*$`.
RE2 has no look-around and no back-references; a pattern that needs them is refused with its reason.
Its `\\w`, `\\d` and `\\b` are ASCII."""

from __future__ import annotations

from functools import lru_cache

import re2

from sleuth.predicates.errors import PredicateError

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the reason goes into the PredicateError, not onto stderr


@lru_cache(maxsize=512)
def compile_pattern(pattern: str):
    """A compiled RE2 pattern (search/fullmatch like `re`), or PredicateError naming what RE2 cannot run."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PredicateError(f"bad regex {pattern!r}: {reason} (patterns run on RE2, in linear time)") from None
