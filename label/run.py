"""The label pipeline: async stages over typed records, one bounded concurrency limit for LLM calls
and model forwards, resumable per item, everything kept in memory (Chroma) and in DIR."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sleuth.label import exports, outdir
from sleuth.label.collect import collect, firing_counts
from sleuth.label.item import failed, label_item
from sleuth.label.items import Item
from sleuth.label.records import LabelRecord
from sleuth.label.spec import LabelSpec
from sleuth.label.summary import write_summary
from sleuth.memory import Description, Evidence
from sleuth.target import Site

CHUNK = 16  # units collected per batched forward pass


def _mean_score(records: list[LabelRecord], scorer: str) -> float | None:
    """The mean of one scorer's values over the items it scored (None: it scored none)."""
    values = [r.score(scorer)["value"] for r in records if (r.score(scorer) or {}).get("status") == "scored"]
    return round(sum(values) / len(values), 4) if values else None


@dataclass
class LabelRun:
    spec: LabelSpec
    out: Path
    ctx: object  # sleuth.tools.ToolContext
    site: Site
    items: list[Item]
    llm: object  # sleuth.llm.LLMClient
    store: object  # an EvidenceStore
    embed: Callable
    concurrency: int = 2
    neuronpedia_id: str | None = None
    on_item: Callable[[LabelRecord, dict], None] = lambda record, totals: None
    ray_address: str | None = None  # label on this Ray cluster (workers rebuild the target from `setup`)
    setup: object | None = None  # sleuth.label.setup.WorkerSetup
    deadline: float | None = None  # time.monotonic() after which no new item starts (left unfinished for resume)
    max_llm_tokens: int | None = None  # no new item starts once this run's items have used this many
    _forward: threading.Lock = field(default_factory=threading.Lock)
    _done: dict = field(default_factory=dict)
    _began: float = field(default_factory=time.perf_counter)
    _resumed: int = 0  # items found finished in DIR when this process started
    _tries: dict = field(default_factory=dict)  # item key -> earlier attempts, for transient failures tried again
    _workers: int = 1

    def run(self) -> dict:
        outdir.start(self.out, self.spec)
        saved = {k: r for k, r in outdir.finished(self.out).items() if k in {i.key for i in self.items}}
        self._tries = {k: r.attempts for k, r in saved.items() if r.retried_on_resume}
        self._done = {k: r for k, r in saved.items() if k not in self._tries}
        pending = [i for i in self.items if i.key not in self._done]
        self._resumed = len(self._done)
        if self.ray_address and pending:
            from sleuth.label.ray_backend import label_on_ray

            self._workers = len(label_on_ray(self, pending, self.ray_address, self.setup, CHUNK // 4))
        else:
            asyncio.run(self._all(pending))
        return self.finish()

    def records(self) -> list[LabelRecord]:
        """The finished items' records, in the run's item order."""
        return [self._done[i.key] for i in self.items if i.key in self._done]

    def finish(self) -> dict:
        """Rebuild every export from the item files; the run's totals."""
        records = self.records()
        totals = self.totals(records)
        counts = firing_counts(self.ctx, self.spec, self.site) if records else None
        exports.write_exports(self.out, self.spec, records, self.neuronpedia_id, counts)
        write_summary(self.out, self.spec, records, totals)
        return totals

    def totals(self, records: list[LabelRecord]) -> dict:
        validated = sum(r.status == "validated" for r in records)
        tokens = sum(r.llm_tokens for r in records)
        wall = time.perf_counter() - self._began
        new = len(records) - self._resumed  # items this process labeled, over its wall time
        return {"items": len(self.items), "done": len(records), "validated": validated,
                "rejected": sum(r.status == "rejected" for r in records),
                "failed": sum(r.status == "failed" for r in records), "resumed": self._resumed,
                "llm_tokens": tokens, "tokens_per_validated": round(tokens / validated) if validated else None,
                "labels_per_hour": round(3600 * new / wall, 1) if new > 0 else None, "wall_s": round(wall, 1),
                "validated_share": round(validated / len(records), 3) if records else None,
                "mean_detection": _mean_score(records, "detection"), "mean_read_back": _mean_score(records, "read_back"),
                "workers": self._workers}

    async def _all(self, pending: list[Item]) -> None:
        slots = asyncio.Semaphore(self.concurrency)
        tasks = []
        for start in range(0, len(pending), CHUNK):
            chunk = pending[start : start + CHUNK]
            if self.out_of_budget():
                break  # no chunk is collected past the deadline; its items are left for --resume
            async with slots:
                collected = await asyncio.to_thread(self._collect, chunk)
            for item in chunk:
                c = collected[item.key]
                if isinstance(c, str):
                    self._finish(failed(item, f"collect: {c}"))
                else:
                    tasks.append(asyncio.create_task(self._label(c, slots)))
        await asyncio.gather(*tasks)

    def _collect(self, chunk: list[Item]) -> dict:
        with self._forward:
            return collect(self.ctx, self.spec, self.site, chunk)

    def out_of_budget(self) -> bool:
        spent = sum(r.llm_tokens for r in self._done.values())
        return (self.deadline is not None and time.monotonic() >= self.deadline) or \
            (self.max_llm_tokens is not None and spent >= self.max_llm_tokens)

    async def _label(self, collected, slots) -> None:
        async with slots:
            if self.out_of_budget():
                return  # unfinished: a later run (with more budget) labels it
            record = await asyncio.to_thread(label_item, collected, self.spec, self.llm, self.embed, self.ctx,
                                             self._forward)
        self._finish(record)

    def _finish(self, record: LabelRecord) -> None:
        """Memory first, then the item file: a kill in between redoes the item, with the same record ids."""
        record = self._remember(record.model_copy(update={"attempts": self._tries.get(record.item.key, 0) + 1}))
        outdir.save(self.out, record)
        self._done[record.item.key] = record
        self.on_item(record, self.totals(list(self._done.values())))

    def _remember(self, record: LabelRecord) -> LabelRecord:
        run_id = f"label-{self.spec.fingerprint()}"
        evidence = [Evidence(run_id=run_id, model=self.spec.model, component=record.item.component, tool="label_collect",
                             args={"explain_windows": record.explain_windows, "test_windows": [w.window for w in record.test]},
                             result={"frequency": record.frequency, "max": record.max_activation,
                                     "fire_threshold": record.fire_threshold},
                             summary=f"{len(record.explain_windows)} explain windows, {len(record.test)} held-out test "
                                     f"windows; fires on {100 * (record.frequency or 0):.2f}% of tokens")]
        evidence += [Evidence(run_id=run_id, model=self.spec.model, component=record.item.component, tool="activations",
                              args={"texts": r["test_texts"]}, summary=r["evidence"]) for r in record.rounds]
        self.store.put(evidence)
        ids = [e.id for e in evidence]
        if record.label is None:
            return record.model_copy(update={"evidence_ids": ids})
        scored = [s for s in record.scores if s["status"] == "scored"]
        desc = Description(model=self.spec.model, component=record.item.component, text=record.label, rule=record.rule,
                           scores={s["scorer"]: s["value"] for s in scored}, evidence_ids=ids,
                           score_states=[{k: v for k, v in s.items() if k != "details"} for s in record.scores],
                           status=record.status, failure_reason=record.reason, run_id=run_id)
        self.store.put([desc])
        return record.model_copy(update={"evidence_ids": ids, "description_id": desc.id})
