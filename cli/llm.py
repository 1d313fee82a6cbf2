"""`sleuth llm`: serve the embedded model, check an endpoint, stop the server."""

from __future__ import annotations

import time

import typer
from pydantic import BaseModel

from sleuth.cli.output import console, emit_json

app = typer.Typer(help="The LLM endpoint: any OpenAI-compatible base_url, or the embedded llama.cpp server.",
                  no_args_is_help=True)


def configured():
    from sleuth.config import load_settings
    from sleuth.llm import llm_config

    settings = load_settings()
    cfg = llm_config(settings.llm.base_url, settings.llm.model, settings.llm.timeout_s, settings.llm.max_retries,
                     trusted_url=settings.llm.base_url_trusted)
    return settings, cfg


@app.command("serve")
def serve(model: str = typer.Option(None, "--model", "-m", help="qwen2.5-coder-1.5b (default) or qwen2.5-coder-0.5b"),
          threads: int = typer.Option(None, help="CPU threads for llama.cpp")):
    """Start the embedded llama.cpp server on 127.0.0.1 (shared by other sleuth processes) until Ctrl-C."""
    from sleuth.llm import local_server

    settings, _ = configured()
    with console.status("starting the embedded LLM server (joins the model file once)"):
        state = local_server.acquire(settings.home, model or settings.llm.local_model, persistent=True, threads=threads)
    console.print(f"serving {state['model']} at {state['base_url']} (pid {state['pid']}); Ctrl-C stops it")
    console.print(f"use it elsewhere with: export SLEUTH_LLM_BASE_URL={state['base_url']}")
    try:
        while local_server.healthy(state["base_url"], timeout=5):
            time.sleep(2)
        console.print("the server stopped")
    except KeyboardInterrupt:
        users = local_server.release(settings.home, state["lease"], stop_persistent=True)
        if users:
            console.print(f"still used by sleuth process(es) {', '.join(map(str, users))}: "
                          "the server stops when the last of them finishes")
        else:
            console.print("stopped")


@app.command("stop")
def stop(model: str = typer.Option(None, "--model", "-m", help="Only this model's server (default: all)"),
         force: bool = typer.Option(False, "--force", help="Stop it even while other sleuth processes use it")):
    """Stop the embedded servers; one that other sleuth processes still use is left running unless --force."""
    from sleuth.llm import local_server

    settings, _ = configured()
    stopped = local_server.stop(settings.home, model, force=force)
    console.print(f"stopped {', '.join(stopped)}" if stopped else "no embedded server was running")


class _Check(BaseModel):
    answer: str
    confidence: float


@app.command("check")
def check(json_out: bool = typer.Option(False, "--json"),
          model: str = typer.Option(None, "--model", "-m", help="Embedded model when no base_url is configured")):
    """Reachability, model, structured output, tokens/s and first-token latency of the endpoint."""
    from sleuth.llm.endpoint import llm_session
    from sleuth.prompts import render

    settings, cfg = configured()
    report = {"base_url": cfg.base_url or "embedded", "reachable": False}
    with llm_session(cfg, settings.home, model or settings.llm.local_model) as client:
        report["base_url"] = client.cfg.base_url
        report["model"] = client.model
        report["reachable"] = True
        first: list[float] = []
        start = time.perf_counter()
        text = client.chat([{"role": "user", "content": render("llm_check_stream")}],
                           max_tokens=64, on_token=lambda _t: first.append(time.perf_counter()) if not first else None)
        elapsed = time.perf_counter() - start
        usage = client.ledger.calls[-1]
        report["first_token_latency_s"] = round(first[0] - start, 3) if first else None
        report["completion_tokens"] = usage.completion_tokens
        report["tokens_per_s"] = round(usage.completion_tokens / max(elapsed - (first[0] - start if first else 0), 1e-6), 2)
        report["sample"] = text[:80]
        report["schema_mode"] = client.schema_mode()
        parsed = client.structured([{"role": "user", "content": render("llm_check_structured")}], _Check, max_tokens=64)
        report["structured_output"] = True
        report["structured_sample"] = parsed.model_dump()
        report["usage"] = client.ledger.totals()
    if json_out:
        return emit_json(report)
    for key, value in report.items():
        console.print(f"{key:>22}: {value}", markup=False)
