"""Quiet model loading: no "Loading weights" bar or load report from transformers on stderr, whoever loads a
model (the CLI, a test, a Ray worker, a notebook that imports sleuth)."""

from __future__ import annotations

import os


def quiet_transformers() -> None:
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # read by subprocesses that load models too
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
