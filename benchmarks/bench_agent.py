"""Agent benchmark: wall time and LLM tokens per answered question, on 5 fixed questions, with the
embedded LLM; and the share of experiments whose outcome the agent's predictions got right.

Baseline in the same run: the same questions driven by the rule-based scripted policy (tests/),
so the ratio isolates what the LLM costs on top of the experiments themselves.
"""

import sys
import tempfile
import time
from pathlib import Path

from sleuth.agent import build
from sleuth.agent.report import summarize
from sleuth.config import load_settings
from sleuth.llm import LLMClient, LLMConfig, local_server
from sleuth.llm.fake_server import FakeLLM
from sleuth.memory import open_store
from sleuth.target import load_target
from sleuth.tools import ToolContext

QUESTIONS = [
    "what does neuron blocks.3.mlp.hook_post[100] do?",
    "what does L18H6 do?",
    "which heads do induction?",
    "what in layer 5 responds to dates?",
    "which components make the model answer 'Mary' in \"When Mary and John went to the store, John gave a drink to\"?",
]
LOCAL_MODEL = "qwen2.5-coder-0.5b"


def _run_all(target, settings, client, label: str) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp), path=Path(tmp) / "memory")
        for question in QUESTIONS:
            inv = build(target, client, store, settings.agent, home=Path(tmp),
                        ctx=ToolContext(target=target, home=settings.home))
            before = client.ledger.totals()
            start = time.perf_counter()
            summary = summarize(inv.ask(question))
            after = client.ledger.totals()
            inv.close()
            rows.append({"question": question, "seconds": round(time.perf_counter() - start, 1),
                         "llm_tokens": after["prompt_tokens"] + after["completion_tokens"]
                         - before["prompt_tokens"] - before["completion_tokens"],
                         "status": summary["status"], "partial": summary["partial"],
                         "findings": [(f["short"], f["status"]) for f in summary["findings"]],
                         "experiments": summary["experiments"], "prediction_accuracy": summary["prediction_accuracy"],
                         "predictions_right": round((summary["prediction_accuracy"] or 0) * summary["experiments"])})
            print(f"  [{label}] {rows[-1]}", flush=True)
    return rows


def run() -> dict:
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
    from scripted_policy import investigator as policy

    settings = load_settings()
    # bounded time: one description per component, 128-window scans (fewer than the defaults)
    settings.agent = settings.agent.model_copy(update={"max_attempts": 1, "explain_windows": 128, "heldout_windows": 128})
    target = load_target("smollm2-135m", settings.home)
    with FakeLLM(responder=policy) as fake:
        scripted = _run_all(target, settings, LLMClient(LLMConfig(base_url=fake.base_url)), "scripted")
    state = local_server.acquire(settings.home, LOCAL_MODEL, threads=2)
    try:
        client = LLMClient(LLMConfig(base_url=state["base_url"], timeout_s=600))
        real = _run_all(target, settings, client, LOCAL_MODEL)
    finally:
        local_server.release(settings.home, state["lease"])
    answered = [r for r in real if r["findings"]]
    experiments = sum(r["experiments"] for r in real)
    right = sum(r["predictions_right"] for r in real)
    wall_llm, wall_scripted = sum(r["seconds"] for r in real), sum(r["seconds"] for r in scripted)
    return {
        "llm": LOCAL_MODEL,
        "max_attempts": settings.agent.max_attempts,
        "windows": [settings.agent.explain_windows, settings.agent.heldout_windows],
        "questions": len(QUESTIONS),
        "answered": len(answered),
        "validated_findings": sum(s == "validated" for r in real for _, s in r["findings"]),
        "seconds_per_question": round(wall_llm / len(QUESTIONS), 1),
        "scripted_seconds_per_question": round(wall_scripted / len(QUESTIONS), 1),
        "wall_ratio_llm_vs_scripted": round(wall_llm / max(wall_scripted, 1e-9), 2),
        "llm_tokens_per_question": round(sum(r["llm_tokens"] for r in real) / len(QUESTIONS)),
        "experiments_with_predictions": experiments,
        "prediction_accuracy": round(right / experiments, 3) if experiments else None,
        "per_question": real,
        "scripted_per_question": scripted,
    }
