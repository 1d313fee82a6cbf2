"""What the graph's nodes use besides the state: tools context, LLM, memory, settings, an event sink."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import BaseModel

from sleuth.config import AgentSettings
from sleuth.prompts import render

if TYPE_CHECKING:
    from sleuth.llm import LLMClient
    from sleuth.memory.store import EvidenceStore
    from sleuth.target import Target
    from sleuth.tools import ToolContext

EventSink = Callable[[str, dict], None]


def _ignore(kind: str, payload: dict) -> None:
    pass


@dataclass
class AgentDeps:
    ctx: ToolContext
    llm: LLMClient | None  # None: no LLM (the run fails where one is needed)
    store: EvidenceStore
    settings: AgentSettings = field(default_factory=AgentSettings)
    on_event: EventSink = _ignore

    @property
    def target(self) -> Target:
        return self.ctx.target

    def tokens_used(self) -> int:
        if self.llm is None:
            return 0
        return self.llm.ledger.tokens()

    def ask(self, template: str, schema: type[BaseModel], max_tokens: int = 256, brief: str | None = None,
            **variables) -> BaseModel:
        """Render a prompt and get a validated structured reply (InvalidOutput after bounded retries).
        brief (default: the schema's BRIEF): the reply's shape in words, sent instead of the full JSON
        schema when the server enforces the schema itself."""
        from sleuth.llm.errors import LLMError

        if self.llm is None:
            raise LLMError("no LLM endpoint is configured")
        prompt = render(template, **variables)
        reply = self.llm.structured([{"role": "user", "content": prompt}], schema, max_tokens=max_tokens,
                                    brief=brief or getattr(schema, "BRIEF", None))
        self.on_event("llm", {"template": template, "reply": reply.model_dump()})
        return reply
