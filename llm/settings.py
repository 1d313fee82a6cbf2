"""Where the LLM lives: env vars and sleuth.toml [llm]; keys from the environment only."""

from __future__ import annotations

import logging
import os
from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, SecretStr

LOCAL_PLACEHOLDER_KEY = "sleuth-local-no-key"
log = logging.getLogger(__name__)


class LLMConfig(BaseModel):
    base_url: str | None = None  # None: the embedded llama.cpp server
    model: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = 120.0  # one HTTP attempt
    max_retries: int = 4
    call_deadline_s: float | None = None  # one call in all (its retries, a structured call's feedback rounds);
    # None: 2.5 x timeout_s (300 s at the default)

    @property
    def call_deadline(self) -> float:
        return self.call_deadline_s or 2.5 * self.timeout_s
    max_concurrency: int = 4
    max_validation_retries: int = 2
    backoff_base_s: float = 0.5
    schema_mode: Literal["json_schema", "json_object", "prompt"] | None = None  # how the endpoint takes a JSON
    # schema; None: probed once per endpoint (SLEUTH_LLM_SCHEMA_MODE skips the probe)


def key_may_go_to(base_url: str | None, trusted: bool) -> bool:
    """Whether the API key from the environment may be sent to `base_url`: over https, to this machine, to a
    URL the user chose (environment, their own config, the command line), or with SLEUTH_LLM_SEND_KEY=1.
    Never to a plain-http URL that a sleuth.toml in the working directory (someone else's folder) names."""
    if base_url is None or trusted or os.environ.get("SLEUTH_LLM_SEND_KEY") == "1":
        return True
    parsed = urlparse(base_url)
    return parsed.scheme == "https" or (parsed.hostname or "") in ("localhost", "::1") or \
        (parsed.hostname or "").startswith("127.")


def llm_config(base_url: str | None = None, model: str | None = None, timeout_s: float | None = None,
               max_retries: int | None = None, trusted_url: bool = True) -> LLMConfig:
    """From explicit values, else SLEUTH_LLM_* env vars (the settings layer fills sleuth.toml values in).
    `trusted_url=False`: the base_url came from a working-directory sleuth.toml (see key_may_go_to)."""
    key = os.environ.get("SLEUTH_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY")
    base_url = base_url or os.environ.get("SLEUTH_LLM_BASE_URL") or None
    if key and not key_may_go_to(base_url, trusted_url):
        log.warning("not sending the API key from the environment to %s (named by ./sleuth.toml over plain http); "
                    "set SLEUTH_LLM_SEND_KEY=1 to send it", base_url)
        key = None
    cfg = LLMConfig(base_url=base_url, model=model or os.environ.get("SLEUTH_LLM_MODEL") or None,
                    api_key=SecretStr(key) if key else None,
                    schema_mode=os.environ.get("SLEUTH_LLM_SCHEMA_MODE") or None)
    if timeout_s is not None:
        cfg.timeout_s = timeout_s
    if max_retries is not None:
        cfg.max_retries = max_retries
    return cfg
