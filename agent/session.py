"""Investigations with checkpoints: one langgraph thread per question, resumable after a crash.

Checkpoints are written synchronously after every step (durability="sync"), so a kill -9 loses at
most the step that was running; its replay writes no duplicate evidence (ids derive from content)."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver

from sleuth.agent.budget import fresh_budget
from sleuth.agent.components import parse_question
from sleuth.agent.graph import build_graph
from sleuth.config import AgentSettings
from sleuth.errors import SleuthError
from sleuth.locks import file_lock


class UnknownThread(SleuthError):
    """--resume named a thread that has no checkpoint."""


class ThreadInUse(SleuthError):
    """--thread named a thread that already holds an investigation."""


def checkpoint_path(home: Path) -> Path:
    path = home / "agent" / "checkpoints.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def new_thread_id(question: str) -> str:
    """Unique per run: two identical questions in the same second get two threads."""
    return f"q-{time.strftime('%Y%m%d-%H%M%S')}-{hashlib.sha256(question.encode()).hexdigest()[:6]}-{secrets.token_hex(2)}"


def thread_lock(home: Path, thread_id: str):
    """One process works on a thread at a time (ask, or resume after a crash)."""
    safe = hashlib.sha256(thread_id.encode()).hexdigest()[:16]
    return file_lock(home / "agent" / "locks" / f"{safe}.lock", timeout_s=0, what=f"investigation thread '{thread_id}'")


def saved_thread(home: Path, thread_id: str) -> dict:
    """The checkpointed state of a thread (to learn its model before loading anything)."""
    with sqlite3.connect(checkpoint_path(home)) as conn:
        saver = SqliteSaver(conn)
        found = saver.get_tuple({"configurable": {"thread_id": thread_id}})
    if found is None:
        raise UnknownThread(f"no checkpointed investigation '{thread_id}' in {checkpoint_path(home)}")
    return found.checkpoint["channel_values"]


class Investigator:
    def __init__(self, deps, home: Path):
        self.deps, self.home = deps, home
        self._conn = sqlite3.connect(checkpoint_path(home), check_same_thread=False)
        self.graph = build_graph(deps).compile(checkpointer=SqliteSaver(self._conn))

    def _config(self, thread_id: str) -> dict:
        return {"configurable": {"thread_id": thread_id}, "recursion_limit": 6 * self.deps.settings.max_steps + 20}

    def ask(self, question: str, thread_id: str | None = None) -> dict:
        """Investigate a question to the end (components are checked before anything runs)."""
        shape = parse_question(question, self.deps.target)
        thread_id = thread_id or new_thread_id(question)
        with thread_lock(self.home, thread_id):
            existing = self.graph.get_state(self._config(thread_id)).values
            if existing:
                raise ThreadInUse(f"thread '{thread_id}' already holds an investigation ({existing.get('question')!r}); "
                                  f"continue it with --resume {thread_id}, or choose another --thread")
            return self._start(question, thread_id, shape)

    def _settings(self) -> dict:
        """What a resumed thread must compute with, whatever the configuration says by then."""
        ctx = self.deps.ctx
        return {"agent": self.deps.settings.model_dump(mode="json"), "corpus": ctx.corpus_spec, "seed": ctx.seed,
                "window_length": ctx.window_length}

    @contextmanager
    def _restored(self, saved: dict | None):
        """Run with a thread's own settings (agent settings, corpus, seed, windows), then put back the current ones."""
        current = self._settings()
        if saved and saved != current:
            self._apply(saved)
            self.deps.on_event("settings_restored", {k: v for k, v in saved.items() if current.get(k) != v})
        try:
            yield
        finally:
            if saved and saved != current:
                self._apply(current)

    def _apply(self, settings: dict) -> None:
        ctx = self.deps.ctx
        self.deps.settings = AgentSettings.model_validate(settings["agent"])
        ctx.switch_corpus(settings["corpus"], settings["window_length"])
        ctx.seed = settings["seed"]

    def _start(self, question: str, thread_id: str, shape) -> dict:
        start = {"thread_id": thread_id, "model": self.deps.target.name, "question": question,
                 "saes": list(self.deps.target.sae_sources.values()), "settings": self._settings(),
                 "shape": shape.model_dump(), "stage": "start", "budget": fresh_budget(), "status": "running",
                 "findings": [], "tasks": [], "current": 0, "partial": None}
        self.deps.on_event("thread", {"thread_id": thread_id, "shape": shape.model_dump()})
        return self.graph.invoke(start, self._config(thread_id), durability="sync")

    def resume(self, thread_id: str) -> dict:
        """Continue a checkpointed thread from its last completed step (a finished one is returned as is)."""
        config = self._config(thread_id)
        with thread_lock(self.home, thread_id):
            snapshot = self.graph.get_state(config)
            if not snapshot.values:
                raise UnknownThread(f"no checkpointed investigation '{thread_id}'")
            self.deps.on_event("thread", {"thread_id": thread_id, "resumed": True})
            if not snapshot.next:
                if snapshot.values.get("status") != "running":
                    return snapshot.values  # answered: returned as is
                # nothing is scheduled, yet no answer was written (a checkpoint left so by a kill): go on
                # from planning, which reads every task's stage from the state and picks up where it stood
                self.graph.update_state(config, {}, as_node="update")
            with self._restored(snapshot.values.get("settings")):
                return self.graph.invoke(None, config, durability="sync")

    def state(self, thread_id: str) -> dict:
        return self.graph.get_state(self._config(thread_id)).values

    def close(self) -> None:
        self._conn.close()
