"""sleuth: an automated interpretability agent."""

__version__ = "0.1.0"
