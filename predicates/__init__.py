"""The predicate language: declarative rules for "which tokens, and how strongly".

A predicate is data (YAML or JSON), never code: sleuth's own evaluator runs it on the
tokens of a text. Ground-truth synthetic components, executable hypotheses and exact
rule scoring all use it. See `forms.py` for every form and `component.py` for the
value and noise a component adds.
"""

from sleuth.predicates.component import Graded, Noise, SyntheticComponent
from sleuth.predicates.errors import PredicateError
from sleuth.predicates.evaluate import evaluate, holds
from sleuth.predicates.forms import FORMS, Predicate, parse_predicate, predicate_dict
from sleuth.predicates.suite import SuiteComponent, load_suite
from sleuth.predicates.tokens import TokenView

__all__ = ["FORMS", "Graded", "Noise", "Predicate", "PredicateError", "SuiteComponent", "SyntheticComponent",
           "TokenView", "evaluate", "holds", "load_suite", "parse_predicate",
           "predicate_dict"]
