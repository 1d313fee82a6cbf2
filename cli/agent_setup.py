"""Wiring for ask and chat: settings, target, store, tool context, LLM endpoint -> an Investigator."""

from __future__ import annotations

from contextlib import contextmanager

from sleuth.cli.output import console


@contextmanager
def investigator(model: str | None, sae: str | None, on_event, resume: str | None = None, quiet: bool = False,
                 question: str | None = None, synthetic: list | None = None):
    """Yield (Investigator, LLM client); the embedded LLM server started for it is released afterwards.
    The question's components and the LLM endpoint are checked before any experiment runs."""
    from sleuth.agent import build, parse_question
    from sleuth.agent.session import saved_thread
    from sleuth.config import load_settings
    from sleuth.llm import llm_config
    from sleuth.llm.endpoint import llm_session
    from sleuth.memory import open_store
    from sleuth.predicates.suite import attach_suite
    from sleuth.sae.library import load_sae
    from sleuth.target import load_target
    from sleuth.tools import ToolContext

    settings = load_settings()
    saes = [sae] if sae else []
    if resume:
        saved = saved_thread(settings.home, resume)
        model, saes = saved["model"], saved.get("saes") or saes
    cfg = llm_config(settings.llm.base_url, settings.llm.model, settings.llm.timeout_s, settings.llm.max_retries,
                     trusted_url=settings.llm.base_url_trusted)
    with console.status("loading the target model and the evidence store") if not quiet else _nothing():
        store = open_store(settings.home, settings.chroma_url)
        target = load_target(model or settings.model, settings.home)
        for spec in saes:
            load_sae(spec, target, settings.home)
        for suite in synthetic or []:
            attach_suite(target, suite)
        ctx = ToolContext(target=target, home=settings.home, corpus_spec=settings.corpus)
        if question:
            parse_question(question, target)
    status = "connecting to the LLM" if cfg.base_url else "starting the embedded LLM server (first time: a minute)"
    with console.status(status) if not quiet else _nothing():
        session = llm_session(cfg, settings.home, settings.llm.local_model)
        client = session.__enter__()
    try:
        client.schema_mode()  # fails fast, with one line, when the endpoint is unreachable
        inv = build(target, client, store, settings.agent, home=settings.home, on_event=on_event, ctx=ctx)
        try:
            yield inv, client
        finally:
            inv.close()
    finally:
        session.__exit__(None, None, None)


@contextmanager
def _nothing():
    yield
