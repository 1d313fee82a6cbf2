"""One client path for every OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp).

Timeouts, retries with exponential backoff and jitter on 429/5xx/timeouts/dropped
connections, a concurrency limit, token accounting, and structured output whose
schema mode is detected once per endpoint. Invalid output is fed back to the model
a bounded number of times, then raised: never replaced by a default.
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
from collections.abc import Callable

import openai
from pydantic import BaseModel

from sleuth.llm.errors import InvalidOutput, LLMError, LLMRefused, LLMTimedOut, LLMUnreachable
from sleuth.llm.settings import LOCAL_PLACEHOLDER_KEY, LLMConfig
from sleuth.llm.structured import MODES, response_format, schema_instruction, validate
from sleuth.llm.usage import CallUsage, UsageLedger
from sleuth.prompts import render

_MODE_CACHE: dict[str, str] = {}
FATAL_STATUS = {401: "authentication failed", 403: "forbidden", 404: "not found"}
_RETRYABLE = (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)


class SchemaProbe(BaseModel):
    """The schema-mode probe's reply; test servers recognise the probe by this schema's title."""

    ok: bool


class _Both:
    """Records each call in two ledgers: the run's and one item's."""

    def __init__(self, *ledgers: UsageLedger):
        self.ledgers = ledgers

    def add(self, usage: CallUsage) -> None:
        for ledger in self.ledgers:
            ledger.add(usage)

    def tokens(self) -> int:
        return self.ledgers[-1].tokens()

    def totals(self) -> dict:
        return self.ledgers[-1].totals()

    def by_purpose(self) -> dict[str, dict]:
        return self.ledgers[-1].by_purpose()


class LLMClient:
    def __init__(self, cfg: LLMConfig, ledger: UsageLedger | None = None):
        if not cfg.base_url:
            raise LLMError("no LLM base_url: set SLEUTH_LLM_BASE_URL or start the embedded server")
        self.cfg = cfg
        self.ledger = ledger or UsageLedger()
        key = cfg.api_key.get_secret_value() if cfg.api_key else LOCAL_PLACEHOLDER_KEY
        self._client = openai.OpenAI(base_url=cfg.base_url, api_key=key, timeout=cfg.timeout_s, max_retries=0)
        self._slots = threading.BoundedSemaphore(cfg.max_concurrency)
        self._model = cfg.model
        self.busy: Callable[[], bool] | None = None  # the embedded server: is it computing (too busy to answer)?

    def metered(self, ledger: UsageLedger) -> "LLMClient":
        """The same endpoint and concurrency slots, with calls also counted in `ledger` (one item's
        tokens while other items share the client)."""
        twin = copy.copy(self)
        twin.ledger = _Both(self.ledger, ledger)
        return twin

    # ---- basics ----------------------------------------------------------
    @property
    def model(self) -> str:
        if self._model is None:
            models = self._call(lambda client: client.models.list())
            ids = [m.id for m in models.data]
            if not ids:
                raise LLMError(f"the endpoint {self.cfg.base_url} lists no models; set SLEUTH_LLM_MODEL")
            self._model = ids[0]
        return self._model

    def alive(self, timeout_s: float = 5.0) -> bool:
        """Does the endpoint answer at all (one quick request, no retries)? Tells an outage from one bad call."""
        try:
            self._client.with_options(timeout=timeout_s).models.list()
            return True
        except openai.APITimeoutError:  # a server shared with other processes may be busy generating for them
            return bool(self.busy and self.busy())
        except openai.APIConnectionError:
            return False
        except openai.APIError:
            return True  # it answered, if only with an error

    def _call(self, fn, retries: int | None = None, deadline: float | None = None):
        """Run fn(client) with retries (exponential backoff + jitter) on transient failures, all of it within
        `deadline` (time.monotonic(); default: cfg.call_deadline_s from now): no attempt outlives it."""
        last = None
        retries = self.cfg.max_retries if retries is None else retries
        deadline = deadline or time.monotonic() + self.cfg.call_deadline
        for attempt in range(retries + 1):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                with self._slots:
                    return fn(self._client.with_options(timeout=min(self.cfg.timeout_s, left)))
            except _RETRYABLE as exc:
                last = exc
                if attempt == retries or time.monotonic() >= deadline:
                    break
                delay = self.cfg.backoff_base_s * (2**attempt) * (0.5 + random.random())
                retry_after = getattr(getattr(exc, "response", None), "headers", {}).get("retry-after")
                if retry_after:
                    try:
                        delay = max(delay, min(float(retry_after), 30.0))
                    except ValueError:
                        pass
                time.sleep(max(0.0, min(delay, 30.0, deadline - time.monotonic())))
            except openai.APIStatusError as exc:
                if exc.status_code in FATAL_STATUS:
                    raise LLMRefused(f"LLM endpoint {self.cfg.base_url} refused model '{self.model}': HTTP "
                                     f"{exc.status_code} ({FATAL_STATUS[exc.status_code]}); check the key, the model "
                                     f"name and the base_url") from None
                raise LLMError(f"LLM endpoint {self.cfg.base_url} answered HTTP {exc.status_code}: "
                               f"{_short(exc)}") from None
        if last is None or isinstance(last, openai.APIConnectionError):
            timed_out = last is None or isinstance(last, openai.APITimeoutError)
            said = (f"LLM endpoint {self.cfg.base_url} {'timed out' if timed_out else 'is unreachable'} after "
                    f"{attempt + 1} attempts (one call may take {self.cfg.call_deadline:g} s in all)")
            if timed_out and self.alive():  # the endpoint answers: this one call was too long for its deadline
                raise LLMTimedOut(f"{said}; the endpoint still answers, so only this call failed") from None
            raise LLMUnreachable(said) from None
        raise LLMError(f"LLM endpoint {self.cfg.base_url} kept failing ({_short(last)}) after "
                       f"{attempt + 1} attempts") from None

    def chat(self, messages: list[dict], max_tokens: int = 512, temperature: float = 0.0,
             fmt: dict | None = None, on_token: Callable[[str], None] | None = None, retries: int | None = None,
             purpose: str = "chat", deadline: float | None = None) -> str:
        """One completion; streams tokens to on_token when given. Usage goes to the ledger under `purpose`."""
        start = time.perf_counter()
        extra = {"response_format": fmt} if fmt is not None else {}

        def once(client):
            if on_token is None:
                resp = client.chat.completions.create(model=self.model, messages=messages, max_tokens=max_tokens,
                                                            temperature=temperature, **extra)
                usage = resp.usage
                text = resp.choices[0].message.content or ""
                return text, (usage.prompt_tokens if usage else 0), (usage.completion_tokens if usage else 0)
            stream = client.chat.completions.create(model=self.model, messages=messages, max_tokens=max_tokens,
                                                          temperature=temperature, stream=True, **extra)
            parts, prompt_tokens, completion_tokens = [], 0, 0
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    parts.append(chunk.choices[0].delta.content)
                    on_token(parts[-1])
                if getattr(chunk, "usage", None):
                    prompt_tokens, completion_tokens = chunk.usage.prompt_tokens, chunk.usage.completion_tokens
            return "".join(parts), prompt_tokens, completion_tokens or len(parts)

        text, prompt_tokens, completion_tokens = self._call(once, retries, deadline)
        self.ledger.add(CallUsage(model=self.model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                                  latency_s=round(time.perf_counter() - start, 4), purpose=purpose))
        return text

    # ---- structured output ----------------------------------------------
    def schema_mode(self) -> str:
        """How this endpoint takes a JSON schema: as configured, else probed once per endpoint."""
        if self.cfg.schema_mode:
            return self.cfg.schema_mode
        if self.cfg.base_url in _MODE_CACHE:
            return _MODE_CACHE[self.cfg.base_url]
        probe = [{"role": "user", "content": render("llm_schema_probe")}]
        for mode in MODES[:-1]:
            try:
                # one quick try per mode: a server that rejects a mode answers 5xx, which is not transient here
                text = self.chat(probe, max_tokens=16, fmt=response_format(mode, SchemaProbe), retries=1,
                                 purpose="schema_probe")
                if validate(SchemaProbe, text)[0] is not None:
                    _MODE_CACHE[self.cfg.base_url] = mode
                    return mode
            except LLMUnreachable:
                raise
            except LLMError:
                continue
        _MODE_CACHE[self.cfg.base_url] = "prompt"
        return "prompt"

    def structured(self, messages: list[dict], model: type[BaseModel], max_tokens: int = 512,
                   temperature: float = 0.0, brief: str | None = None) -> BaseModel:
        """A validated instance of `model`, or InvalidOutput after bounded feedback retries.

        brief: a short reply instruction that stands in for the full JSON schema in the prompt when
        the server enforces the schema itself (a grammar); a prompt-only endpoint always gets the schema.
        """
        mode = self.schema_mode()
        fmt = response_format(mode, model)
        # the schema goes in the prompt (it also helps grammar-constrained servers), unless the caller's
        # prompt already explains the reply and the server enforces the schema
        instruction = brief if brief and mode != "prompt" else schema_instruction(model)
        convo = [{"role": "system", "content": instruction}, *messages]
        error, deadline = None, time.monotonic() + self.cfg.call_deadline  # every round within one call's deadline
        for _ in range(self.cfg.max_validation_retries + 1):
            text = self.chat(convo, max_tokens=max_tokens, temperature=temperature, fmt=fmt, purpose=model.__name__,
                             deadline=deadline)
            parsed, error = validate(model, text)
            if parsed is not None:
                return parsed
            convo = [*convo, {"role": "assistant", "content": text},
                     {"role": "user", "content": render("llm_invalid_reply", error=error)}]
        raise InvalidOutput(f"the LLM gave no valid {model.__name__} after {self.cfg.max_validation_retries + 1} "
                            f"tries; last problem: {error}")


def _short(exc) -> str:
    if exc is None:
        return "no detail"
    body = getattr(exc, "body", None)
    text = json.dumps(body)[:160] if body else str(exc).splitlines()[0][:160]
    return f"{type(exc).__name__}: {text}"
