"""The LLM endpoint a command uses: the configured base_url, or the embedded server (started on demand)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from sleuth.llm.client import LLMClient
from sleuth.llm.errors import LLMUnreachable
from sleuth.llm.settings import LLMConfig
from sleuth.llm.usage import UsageLedger


@contextmanager
def llm_session(cfg: LLMConfig, home: Path, local_model: str | None = None, ledger: UsageLedger | None = None):
    """Yield a client; an embedded server started for it is released afterwards."""
    from sleuth.llm import local_server

    if cfg.base_url:
        yield LLMClient(cfg, ledger)
        return
    state = local_server.acquire(home, local_model)
    try:
        # the embedded llama-cpp-python server takes a schema as json_object (it rejects json_schema): no probe
        client = LLMClient(cfg.model_copy(update={"base_url": state["base_url"], "model": cfg.model or state["model"],
                                                  "schema_mode": cfg.schema_mode or "json_object"}), ledger)
        client.busy = lambda: local_server.working(state["pid"])  # its /models waits behind a generation
        yield client
    except LLMUnreachable as exc:
        raise local_server.explained(home, state, exc) from None
    finally:
        local_server.release(home, state["lease"])
