"""Structured outputs the agent asks the LLM for. Component fields never appear here:
sites come from the question parser and the protocols, so the LLM cannot get them wrong.
Enumerations (head behaviours, claim bases) come from the tool registry."""

from __future__ import annotations

import typing
from typing import ClassVar, Literal

from pydantic import AfterValidator, BaseModel, Field, ValidationError, create_model, model_validator

from sleuth.predicates import Predicate
from sleuth.predicates.attention import AttentionRule


def plain_words(text: str) -> str:
    """A statement must say something: a placeholder such as "..." (a small LLM copying the reply's shape)
    is refused, and the refusal goes back to the LLM as a validation error."""
    if sum(ch.isalpha() for ch in text) < 3:
        raise ValueError(f"{text!r} is not a statement in words; write what makes the component fire")
    return text


Words = typing.Annotated[str, AfterValidator(plain_words)]


class RuleHypothesis(BaseModel):
    """A hypothesis and the same claim as a rule sleuth's own code evaluates exactly."""

    statement: Words = Field(min_length=3, max_length=300, description="what it responds to, in plain words")
    rule: Predicate = Field(description="the statement as a predicate: which tokens fire")


# The prompts list the rule forms; a server that enforces the schema (a grammar) then needs only the
# reply's shape in words instead of the whole JSON schema (the rule schema alone is ~5,000 characters).
# A prompt-only endpoint still gets the full schema (LLMClient.structured).
RULE_BRIEF = "Reply with one JSON object and nothing else: {shape}, RULE a rule as listed."


class Hypotheses(BaseModel):
    BRIEF: ClassVar[str] = RULE_BRIEF.format(shape='{"hypotheses": [{"statement": "<what makes it fire, in words>", "rule": RULE}, ...]}')

    hypotheses: list[RuleHypothesis] = Field(min_length=1, max_length=3)

    @model_validator(mode="before")
    @classmethod
    def _keep_the_valid_ones(cls, data):
        """One malformed rule (a small LLM writes the regex '*' after seeing '*' tokens) drops only its own
        hypothesis; the reply is refused, and the problem sent back, only when no hypothesis is valid."""
        if not isinstance(data, dict) or not isinstance(data.get("hypotheses"), list):
            return data
        valid = []
        for item in data["hypotheses"]:
            try:
                RuleHypothesis.model_validate(item)
            except ValidationError:
                continue
            valid.append(item)
        return {**data, "hypotheses": valid} if valid else data


class RevisedRule(RuleHypothesis):
    """A revision of the best rule after reading its false positives and false negatives."""

    BRIEF: ClassVar[str] = RULE_BRIEF.format(shape='{"statement": "<what makes it fire, in words>", "rule": RULE}')


class TestTexts(BaseModel):
    BRIEF: ClassVar[str] = 'Reply with one JSON object and nothing else: {"texts": ["...", ...]}.'

    texts: list[str] = Field(min_length=2, max_length=10)


class ContrastTexts(BaseModel):
    positive: list[str] = Field(min_length=2, max_length=8)
    negative: list[str] = Field(min_length=2, max_length=8)


class Counterfactual(BaseModel):
    corrupt: str = Field(min_length=1, description="the prompt with as few words changed as possible")
    foil: str = Field(min_length=1, description="what the model answers on the corrupt prompt")
    paraphrase: str = Field(min_length=1, description="a fresh prompt with the same answer")
    paraphrase_corrupt: str = Field(min_length=1, description="the fresh prompt corrupted the same way")


Basis = Literal["top_examples", "test_texts", "head_scan", "patching", "experiments"]


class Claim(BaseModel):
    text: str = Field(min_length=3, max_length=400)
    basis: Basis


class DescriptionDraft(BaseModel):
    description: Words = Field(min_length=3, max_length=600)
    claims: list[Claim] = Field(min_length=1, max_length=3)


def head_kinds() -> tuple[str, ...]:
    """The head behaviours head_scan can measure, read from its registered input model."""
    from sleuth.tools import get_tool

    field = get_tool("head_scan").input_model.model_fields["kind"]
    return typing.get_args(field.annotation)


def head_kinds_model() -> type[BaseModel]:
    kinds = Literal[head_kinds()]  # type: ignore[valid-type]
    return create_model("HeadKinds", kinds=(list[kinds], Field(min_length=1, max_length=3)),
                        rules=(list[AttentionRule], Field(default_factory=list, max_length=2,
                                                          description="where the head looks, beyond the known kinds")),
                        reason=(str, ""))



class ClassGuess(BaseModel):
    """The class a rule's listed words belong to, and other members of it (measured by code before any is kept)."""

    class_name: Words = Field(min_length=3, max_length=80, description="a short noun phrase naming the class")
    members: list[str] = Field(min_length=1, max_length=40, description="other members, one word each")
