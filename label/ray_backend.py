"""Scale-out on Ray: items go to Ray actors across a cluster, each with its own target and the shared
LLM endpoint; the driver keeps finalize (memory and DIR), so results and --resume are as in one process.

    sleuth label --sae smollm2-res-6 --latents 0:5000 --out DIR --ray ray://head:10001 --concurrency 16

`ray` is an optional extra (`pip install 'sleuth[ray]'`). A worker reads API keys from its own
environment (never from the job), and needs the target's files under its SLEUTH_HOME.
"""

from __future__ import annotations

import time

from sleuth.label.items import Item, LabelInputError
from sleuth.label.setup import WorkerSetup


class LabelWorker:
    """One per Ray worker: loads the target once, then labels chunks of items."""

    def __init__(self, setup_json: str, spec_json: str):
        import threading
        from pathlib import Path

        from sleuth.label.setup import open_target
        from sleuth.label.spec import LabelSpec
        from sleuth.llm import LLMClient, llm_config
        from sleuth.tools import ToolContext

        import torch

        setup = WorkerSetup.model_validate_json(setup_json)
        torch.set_num_threads(setup.torch_threads)
        self.spec = LabelSpec.model_validate_json(spec_json)
        opened = open_target(setup)
        self.site = opened.site
        self.ctx = ToolContext(target=opened.target, home=Path(setup.home), corpus_spec=setup.corpus)
        self.llm = LLMClient(llm_config(setup.llm_base_url, setup.llm_model, setup.llm_timeout_s, setup.llm_retries,
                                        trusted_url=setup.llm_url_trusted))
        self.llm.schema_mode()  # the endpoint's probe, before any item's tokens are counted
        self.embed = None
        if "embedding" in self.spec.preset.scorers:
            from sleuth.memory.embedding import MiniLMEmbedding

            self.embed = MiniLMEmbedding()
        self.lock = threading.Lock()

    def label(self, items_json: list[str]) -> dict:
        """Collect and label a chunk: {"pid", "records" as JSON} (a unit that cannot be collected is failed)."""
        import os

        from sleuth.label.collect import collect
        from sleuth.label.item import failed, label_item

        items = [Item.model_validate_json(i) for i in items_json]
        collected = collect(self.ctx, self.spec, self.site, items)
        records = []
        for item in items:
            c = collected[item.key]
            record = failed(item, f"collect: {c}") if isinstance(c, str) else \
                label_item(c, self.spec, self.llm, self.embed, self.ctx, self.lock)
            records.append(record.model_dump_json())
        return {"pid": os.getpid(), "records": records}


def _ray():
    try:
        import ray
    except ImportError:
        raise LabelInputError("--ray needs the optional ray extra: pip install 'sleuth[ray]'") from None
    return ray


def label_on_ray(run, pending: list[Item], address: str, setup: WorkerSetup, chunk: int) -> set[int]:
    """Label `pending` on the cluster at `address`; each finished record goes through run._finish.
    Returns the worker process ids that did the work."""
    from sleuth.label.item import failed
    from sleuth.llm.errors import LLMUnreachable
    from sleuth.label.records import LabelRecord

    ray = _ray()
    try:
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False, logging_level="ERROR")
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise LabelInputError(f"--ray {address}: cannot connect to a Ray cluster ({str(exc).splitlines()[0]})") from None
    try:
        actor = ray.remote(num_cpus=1)(LabelWorker)
        workers = [actor.remote(setup.model_dump_json(), run.spec.model_dump_json()) for _ in range(run.concurrency)]
        queue = [pending[i : i + chunk] for i in range(0, len(pending), chunk)]
        waiting, pids = {}, set()

        def submit(worker) -> None:  # one chunk per worker in flight; none once the budget is spent
            if queue and not run.out_of_budget():
                part = queue.pop(0)
                waiting[worker.label.remote([i.model_dump_json() for i in part])] = (part, worker)

        for worker in workers:
            submit(worker)
        while waiting:
            left = None if run.deadline is None else max(0.0, run.deadline - time.monotonic())
            done, _ = ray.wait(list(waiting), num_returns=1, timeout=left)
            if not done:  # the deadline passed with chunks in flight: their items are left for --resume
                for worker in workers:
                    ray.kill(worker)
                break
            for ref in done:
                part, worker = waiting.pop(ref)
                try:
                    out = ray.get(ref)
                except Exception as exc:  # a worker that died or could not load the target fails its items
                    if isinstance(getattr(exc, "cause", None), LLMUnreachable):
                        raise exc.cause from None  # the shared endpoint is down: stop, resume later
                    for item in part:
                        reason = f"ray worker: {str(exc).strip().splitlines()[-1][:300]}"
                        run._finish(failed(item, reason, transient=True))
                else:
                    pids.add(out["pid"])
                    for text in out["records"]:
                        run._finish(LabelRecord.model_validate_json(text))
                submit(worker)  # after this chunk's tokens are counted
        return pids
    finally:
        ray.shutdown()
