"""Errors of the predicate language."""

from sleuth.errors import SleuthError


class PredicateError(SleuthError):
    """A malformed predicate, component or suite file (one line that names where)."""
