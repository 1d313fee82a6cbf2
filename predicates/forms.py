"""Every form of the predicate language, as pydantic models keyed by their one YAML key.

    {token_in: [w, ...]}                      token (stripped, case-folded) or its whole word is listed
    {regex: {token: P}} / {regex: {word: P}}  Python regex searched in the stripped token / its word
    {context_regex: {pattern: P, window: N}}  regex matches the text of the N tokens just before
    {previous_token_in: [w, ...]}             the previous token (stripped, case-folded) is listed
    {numeric: even|odd|{gt, ge, lt, le, eq, divisible_by}}   part of a number that satisfies all
    {position: first|{every: K}|{after: N}}   index 0 / index divisible by K / index >= N
    {inside: quotes|brackets|code}            between double quotes, ( ) or [ ], or backticks
    {all: [P, ...]}, {any: [P, ...]}, {not: P}
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, ValidationError, field_validator, \
    model_validator

from sleuth.predicates.errors import PredicateError
from sleuth.predicates.patterns import compile_pattern


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _pattern(value: str) -> str:
    try:
        compile_pattern(value)
    except PredicateError as exc:
        raise ValueError(str(exc)) from None
    return value


def _words(values: list[str]) -> list[str]:
    words = [v.strip().casefold() for v in values]
    if not all(words):
        raise ValueError("list entries must be non-empty words")
    return words


Words = Annotated[list[str], Field(min_length=1), AfterValidator(_words)]  # stripped, case-folded


class TokenIn(_Form):
    token_in: Words


class RegexTarget(_Form):
    token: str | None = None
    word: str | None = None

    @model_validator(mode="after")
    def _one(self) -> "RegexTarget":
        if (self.token is None) == (self.word is None):
            raise ValueError("regex takes exactly one of 'token' or 'word'")
        _pattern(self.token if self.token is not None else self.word)
        return self


class Regex(_Form):
    regex: RegexTarget


class ContextSpec(_Form):
    pattern: str
    window: int = Field(ge=1, le=512)

    @field_validator("pattern")
    @classmethod
    def _check(cls, value: str) -> str:
        return _pattern(value)


class ContextRegex(_Form):
    context_regex: ContextSpec


class PreviousTokenIn(_Form):
    previous_token_in: Words


class Comparison(_Form):
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    eq: float | None = None
    divisible_by: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _some(self) -> "Comparison":
        if all(v is None for v in self.model_dump().values()):
            raise ValueError("numeric needs at least one of gt, ge, lt, le, eq, divisible_by")
        return self


class Numeric(_Form):
    numeric: Literal["even", "odd"] | Comparison


class Every(_Form):
    every: int = Field(ge=1)


class After(_Form):
    after: int = Field(ge=0)


class Position(_Form):
    position: Literal["first"] | Every | After


class Inside(_Form):
    inside: Literal["quotes", "brackets", "code"]


class All(_Form):
    all_: list["Predicate"] = Field(alias="all", min_length=1)


class AnyOf(_Form):
    any_: list["Predicate"] = Field(alias="any", min_length=1)


class Not(_Form):
    not_: "Predicate" = Field(alias="not")


FORMS: dict[str, type[_Form]] = {
    "token_in": TokenIn, "regex": Regex, "context_regex": ContextRegex, "previous_token_in": PreviousTokenIn,
    "numeric": Numeric, "position": Position, "inside": Inside, "all": All, "any": AnyOf, "not": Not,
}


def _key(value) -> str | None:
    if isinstance(value, dict):
        return next(iter(value)) if len(value) == 1 else None
    for key, form in FORMS.items():
        if isinstance(value, form):
            return key
    return None


Predicate = Annotated[
    Union[tuple(Annotated[form, Tag(key)] for key, form in FORMS.items())],  # noqa: UP007
    Discriminator(_key, custom_error_type="predicate", custom_error_message="a predicate is a mapping with one "
                  f"key out of: {', '.join(FORMS)}"),
]
for _model in (All, AnyOf, Not):
    _model.model_rebuild()

_ADAPTER = TypeAdapter(Predicate)


def parse_predicate(data) -> _Form:
    """A predicate from plain data; PredicateError (one line) says what is wrong."""
    if isinstance(data, dict) and len(data) == 1 and next(iter(data)) not in FORMS:
        raise PredicateError(f"unknown predicate key '{next(iter(data))}'; known: {', '.join(FORMS)}")
    if isinstance(data, dict) and len(data) != 1:
        raise PredicateError(f"a predicate has exactly one key out of {', '.join(FORMS)}; got {sorted(data) or 'none'}")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise PredicateError(describe_error(exc)) from None


def describe_error(exc: ValidationError) -> str:
    """The first validation error as 'at <path>: <message>'."""
    generic = ("literal_error", "extra_forbidden", "missing", "union_tag_invalid")
    errors = exc.errors()
    # in a union, the branch that got furthest explains the mistake best
    first = max(errors, key=lambda e: (e["type"] not in generic, len(e["loc"])))
    parts: list[str] = []
    for part in map(str, first["loc"]):
        if not (part[:1].isupper() or "[" in part or (parts and parts[-1] == part)):
            parts.append(part)
    path = ".".join(parts)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = f"unknown key '{first['loc'][-1]}'"
    return f"at {path or 'top'}: {message}" if path else message


def predicate_schema() -> dict:
    """JSON schema of a predicate (what a grammar-constrained LLM fills in)."""
    return _ADAPTER.json_schema(by_alias=True)


def predicate_dict(predicate) -> dict:
    """A parsed predicate as the plain data it was written as (aliases, no empty keys)."""
    return predicate.model_dump(by_alias=True, exclude_none=True)
