"""LLM errors: one clear line, never a key or a header."""

from sleuth.errors import SleuthError


class LLMError(SleuthError):
    """The endpoint failed, was unreachable, or never produced valid output."""


class LLMUnreachable(LLMError):
    """The endpoint cannot be used at all: nothing answers, or it refuses this key or model (fatal)."""


class LLMRefused(LLMUnreachable):
    """HTTP 401/403/404: a bad key, no access, or an unknown model or path. Retrying cannot help."""


class LLMTimedOut(LLMError):
    """One call ran past its deadline while the endpoint still answers: that call failed, the endpoint did not
    (not fatal: an eval or label run records the item as failed and goes on)."""


class InvalidOutput(LLMError):
    """The model's output still failed validation after every retry."""
