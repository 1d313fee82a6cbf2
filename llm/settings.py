"""Where the LLM lives: env vars and sleuth.toml [llm]; keys from the environment only."""

from __future__ import annotations

import os

from pydantic import BaseModel, SecretStr

LOCAL_PLACEHOLDER_KEY = "sleuth-local-no-key"


class LLMConfig(BaseModel):
    base_url: str | None = None  # None: the embedded llama.cpp server
    model: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = 120.0
    max_retries: int = 4
    max_concurrency: int = 4
    max_validation_retries: int = 2
    backoff_base_s: float = 0.5


def llm_config(base_url: str | None = None, model: str | None = None, timeout_s: float | None = None,
               max_retries: int | None = None) -> LLMConfig:
    """From explicit values, else SLEUTH_LLM_* env vars (the settings layer fills sleuth.toml values in)."""
    key = os.environ.get("SLEUTH_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY")
    cfg = LLMConfig(base_url=base_url or os.environ.get("SLEUTH_LLM_BASE_URL") or None,
                    model=model or os.environ.get("SLEUTH_LLM_MODEL") or None,
                    api_key=SecretStr(key) if key else None)
    if timeout_s is not None:
        cfg.timeout_s = timeout_s
    if max_retries is not None:
        cfg.max_retries = max_retries
    return cfg
