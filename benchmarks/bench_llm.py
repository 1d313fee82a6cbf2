"""Embedded LLM benchmarks (0.5B vs 1.5B via llama.cpp on this machine's CPU).

- a typical agent step (~1.5k prompt tokens, 150 output tokens): first-token latency and
  tokens/s, cold and with the prompt prefix already in the server's KV cache;
- valid-action and sensible-action rates on the 30 fixed prompts in data/action_prompts.jsonl.
"""

import json
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from sleuth.config import load_settings
from sleuth.llm import InvalidOutput, LLMClient, LLMConfig, local_server

TOOLS = Literal["activations", "top_activations", "ablate", "patch", "attribution_patch", "probe", "logit_lens",
                "direct_logit_attribution", "attention_pattern", "head_scan", "steer"]
PROMPTS = Path(__file__).parent / "data" / "action_prompts.jsonl"
SYSTEM = ("You are an interpretability agent studying SmolLM2-135M (30 layers, 9 heads per layer, 1536 MLP neurons "
          "per layer). Choose the single next experiment for the user's question. Tools: activations and "
          "top_activations (what a neuron or head responds to), ablate (knock out components and measure loss), "
          "patch and attribution_patch (which components carry an answer from clean to corrupted prompts), "
          "direct_logit_attribution (direct contribution of heads to a logit), probe (linear decodability), "
          "logit_lens (when an answer appears across layers), attention_pattern (where one head attends), "
          "head_scan (score all heads for induction, previous-token or successor behaviour), steer (add a direction).")


class Action(BaseModel):
    tool: TOOLS
    layer: int | None = Field(None, ge=0, le=29)
    index: int | None = Field(None, ge=0, le=1535, description="head or neuron number, when one component is named")
    reason: str


def _long_prompt() -> list[dict]:
    filler = " ".join(f"Earlier finding {i}: neuron {i * 7 % 1536} in layer {i % 30} fired on tokens about topic {i}."
                      for i in range(80))
    return [{"role": "system", "content": SYSTEM + "\nNotes so far: " + filler},
            {"role": "user", "content": "Summarise what we know about layer 3 in five sentences."}]


def _step_timing(client: LLMClient, messages: list[dict]) -> dict:
    first: list[float] = []
    start = time.perf_counter()
    client.chat(messages, max_tokens=150, on_token=lambda _t: first.append(time.perf_counter()) if not first else None)
    end = time.perf_counter()
    usage = client.ledger.calls[-1]
    ttft = first[0] - start if first else end - start
    return {"first_token_s": round(ttft, 2), "output_tokens": usage.completion_tokens,
            "decode_tok_per_s": round(usage.completion_tokens / max(end - (first[0] if first else start), 1e-6), 2)}


def _actions(client: LLMClient) -> dict:
    rows = [json.loads(line) for line in PROMPTS.read_text().splitlines()]
    valid = sensible = 0
    start = time.perf_counter()
    for row in rows:
        try:
            action = client.structured([{"role": "system", "content": SYSTEM},
                                        {"role": "user", "content": row["question"]}], Action, max_tokens=120)
        except InvalidOutput:
            continue
        valid += 1
        ok = action.tool in row["expected_tools"]
        if row["layer"] is not None:
            ok = ok and action.layer == row["layer"] and action.index == row["index"]
        sensible += ok
    return {"prompts": len(rows), "valid_action_rate": round(valid / len(rows), 3),
            "sensible_action_rate": round(sensible / len(rows), 3),
            "seconds_per_action": round((time.perf_counter() - start) / len(rows), 2)}


def run() -> dict:
    settings = load_settings()
    out = {}
    for model in ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"):
        local_server.stop(settings.home)
        state = local_server.acquire(settings.home, model, threads=2)
        try:
            client = LLMClient(LLMConfig(base_url=state["base_url"], timeout_s=600))
            messages = _long_prompt()
            cold = _step_timing(client, messages)
            warm = _step_timing(client, messages[:-1] + [{"role": "user", "content": "Now list three open questions."}])
            prompt_tokens = client.ledger.calls[0].prompt_tokens
            out[model] = {"prompt_tokens": prompt_tokens, "cold": cold, "prefix_cached": warm,
                          "first_token_speedup_from_prefix_cache": round(cold["first_token_s"] / max(warm["first_token_s"], 1e-3), 1),
                          **_actions(client)}
        finally:
            local_server.release(settings.home, state["lease"])
            local_server.stop(settings.home)
    return out
