"""A synthetic component: a predicate (`fn`) plus how strongly it fires (`value`) and FIND-style `noise`.

    value: 0.8                              the activation wherever fn holds (default 1.0)
    value: {graded: list_order}             token_in only: the i-th of n listed words fires (i+1)/n
    value: {graded: number, scale: 100}     the token's number / scale, capped at 1
    noise: {p_drop: 0.1, p_spurious: 0.02, seed: 3}
    unseen: [w, ...]                        token_in only: members a describer never sees fire (a generalization
                                            split): every window holding one is withheld from the explain and
                                            validation scans; only eval texts show them

Noise is deterministic: it depends only on the seed, the token's text and its position.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sleuth.predicates import forms as f
from sleuth.predicates.evaluate import holds
from sleuth.predicates.tokens import TokenView


class Graded(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    graded: Literal["list_order", "number"]
    scale: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _scale(self) -> "Graded":
        if self.graded == "number" and self.scale is None:
            raise ValueError("graded: number needs a scale (the number that maps to 1.0)")
        if self.graded == "list_order" and self.scale is not None:
            raise ValueError("graded: list_order takes no scale")
        return self


class Noise(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    p_drop: float = Field(0.0, ge=0, le=1)
    p_spurious: float = Field(0.0, ge=0, le=1)
    seed: int = 0


def _contains(predicate, form: type) -> bool:
    if isinstance(predicate, form):
        return True
    children = getattr(predicate, "all_", None) or getattr(predicate, "any_", None) or []
    if isinstance(predicate, f.Not):
        children = [predicate.not_]
    return any(_contains(c, form) for c in children)


def _members(view: TokenView, words: set[str]) -> list[bool]:
    """Per token: the token (stripped, case-folded) or its whole word is one of `words`, as token_in reads it."""
    return [s in words or w in words for s, w in zip(view.stripped, view.words)]


def _uniform(seed: int, position: int, token: str) -> float:
    digest = hashlib.blake2b(f"{seed}|{position}|{token}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class SyntheticComponent(BaseModel):
    """What fires, how strongly, with what corruption. Evaluated by sleuth's own code only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fn: f.Predicate
    value: float | Graded = 1.0
    noise: Noise | None = None
    unseen: list[str] | None = None  # stripped, case-folded members withheld from describers (see module doc)

    @model_validator(mode="after")
    def _unseen_members(self) -> "SyntheticComponent":
        if self.unseen is None:
            return self
        if not isinstance(self.fn, f.TokenIn):
            raise ValueError("unseen needs a token_in fn (it names members of its list)")
        unseen = [w.strip().casefold() for w in self.unseen]
        missing = [w for w in unseen if w not in self.fn.token_in]
        if missing:
            raise ValueError(f"unseen member '{missing[0]}' is not in the token_in list")
        if not unseen or len(set(unseen)) >= len(set(self.fn.token_in)):
            raise ValueError("unseen must name some of the token_in members and leave at least one shown")
        object.__setattr__(self, "unseen", unseen)
        return self

    @property
    def seen(self) -> list[str]:
        """The members a describer may see fire (all of them without an unseen split)."""
        hidden = set(self.unseen or ())
        return [w for w in getattr(self.fn, "token_in", []) if w not in hidden]

    def withheld(self, tokens: list[str] | TokenView) -> bool:
        """The text holds an unseen member, so no describer or check may read it (eval texts only)."""
        if not self.unseen:
            return False
        return any(self.unseen_marks(tokens if isinstance(tokens, TokenView) else TokenView(list(tokens))))

    def unseen_marks(self, view: TokenView) -> list[bool]:
        """Per token: it is an unseen member (what a generalization score is measured on)."""
        return _members(view, set(self.unseen or ()))

    def seen_marks(self, view: TokenView) -> list[bool]:
        """Per token: it is a member the describer could have seen."""
        return _members(view, set(self.seen) if self.unseen else set())

    @model_validator(mode="after")
    def _grading_fits(self) -> "SyntheticComponent":
        if isinstance(self.value, Graded):
            if self.value.graded == "list_order" and not isinstance(self.fn, f.TokenIn):
                raise ValueError("graded: list_order needs a token_in fn")
            if self.value.graded == "number" and not _contains(self.fn, f.Numeric):
                raise ValueError("graded: number needs a numeric predicate in fn")
        return self

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.model_dump_json(by_alias=True).encode()).hexdigest()[:16]

    def clean(self, tokens: list[str] | TokenView) -> list[float]:
        """The true function, without noise."""
        view = tokens if isinstance(tokens, TokenView) else TokenView(list(tokens))
        if not len(view):
            return []
        fires = holds(self.fn, view)
        return [self._strength(view, i) if hit else 0.0 for i, hit in enumerate(fires)]

    def activations(self, tokens: list[str] | TokenView) -> list[float]:
        """What the unit outputs: the clean function with its noise applied."""
        view = tokens if isinstance(tokens, TokenView) else TokenView(list(tokens))
        values = self.clean(view)
        if self.noise is None:
            return values
        peak = 1.0 if isinstance(self.value, Graded) else float(self.value)
        out = []
        for i, (token, v) in enumerate(zip(view.tokens, values)):
            u = _uniform(self.noise.seed, i, token)
            if v > 0 and u < self.noise.p_drop:
                v = 0.0
            elif v == 0 and u < self.noise.p_spurious:
                v = peak
            out.append(v)
        return out

    def _strength(self, view: TokenView, i: int) -> float:
        if not isinstance(self.value, Graded):
            return float(self.value)
        if self.value.graded == "number":
            number = view.numbers[i]
            return 0.0 if number is None else min(number / self.value.scale, 1.0)
        words = self.fn.token_in
        for rank, word in enumerate(words):
            if view.stripped[i] == word or view.words[i] == word:
                return (rank + 1) / len(words)
        return 0.0
