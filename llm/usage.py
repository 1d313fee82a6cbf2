"""Token accounting: one record per LLM call, totals per run."""

from __future__ import annotations

import threading

from pydantic import BaseModel, Field


class CallUsage(BaseModel):
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    attempts: int = 1
    purpose: str = "chat"  # what the call was for: the reply schema's name for structured calls


class UsageLedger(BaseModel):
    calls: list[CallUsage] = Field(default_factory=list)

    def model_post_init(self, _context) -> None:
        self._lock = threading.Lock()

    def add(self, usage: CallUsage) -> None:
        with self._lock:
            self.calls.append(usage)

    def tokens(self) -> int:
        """Prompt plus completion tokens of every call so far."""
        return sum(c.prompt_tokens + c.completion_tokens for c in self.calls)

    def totals(self) -> dict:
        return {"calls": len(self.calls),
                "prompt_tokens": sum(c.prompt_tokens for c in self.calls),
                "completion_tokens": sum(c.completion_tokens for c in self.calls),
                "latency_s": round(sum(c.latency_s for c in self.calls), 3)}

    def by_purpose(self) -> dict[str, dict]:
        """Calls, tokens and latency per purpose, most tokens first: where a run's LLM budget went."""
        rows: dict[str, dict] = {}
        for c in self.calls:
            row = rows.setdefault(c.purpose, {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "latency_s": 0.0})
            row["calls"] += 1
            row["prompt_tokens"] += c.prompt_tokens
            row["completion_tokens"] += c.completion_tokens
            row["latency_s"] = round(row["latency_s"] + c.latency_s, 3)
        return dict(sorted(rows.items(), key=lambda kv: -(kv[1]["prompt_tokens"] + kv[1]["completion_tokens"])))
