"""LLM errors: one clear line, never a key or a header."""

from sleuth.errors import SleuthError


class LLMError(SleuthError):
    """The endpoint failed, was unreachable, or never produced valid output."""


class LLMUnreachable(LLMError):
    pass


class InvalidOutput(LLMError):
    """The model's output still failed validation after every retry."""
