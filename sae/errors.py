"""The SAE layer's one error type."""

from sleuth.errors import SleuthError


class SaeError(SleuthError):
    """A dictionary that cannot be loaded or does not fit the model it is used on."""
