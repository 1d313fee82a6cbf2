"""A scripted fake LLM: a real HTTP server on loopback speaking the chat-completions API.

It replays scripted replies and injects faults (HTTP 500 and 429, a timeout, a dropped
connection, malformed or schema-violating JSON, slow streaming), so tests exercise the
real client code. It can mimic llama.cpp by rejecting json_schema response formats.

    python -m sleuth.llm.fake_server --script replies.json   # prints the base URL
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pydantic import BaseModel

from sleuth.llm.structured import schema_title



class Step(BaseModel):
    content: str | dict | list | None = None  # a dict/list is sent as JSON text
    fault: str | None = None  # "500", "429", "401", "404", "timeout", "drop", "slow_stream"
    delay_s: float = 0.0


class FakeLLM:
    def __init__(self, steps: list[Step | dict] = (), accept_modes: tuple[str, ...] = ("json_object",),
                 model: str = "fake-model", timeout_delay_s: float = 5.0, responder=None):
        """`responder(request) -> str | dict | Step | None` answers when the script is empty: a rule-based
        fake for tests whose number of calls is not fixed (e.g. a judge that reads the prompt); a Step
        it returns may carry a fault."""
        self.steps = [s if isinstance(s, Step) else Step(**s) for s in steps]
        self.responder = responder
        self.accept_modes = accept_modes
        self.model = model
        self.timeout_delay_s = timeout_delay_s
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def push(self, *steps: Step | dict) -> None:
        with self._lock:
            self.steps += [s if isinstance(s, Step) else Step(**s) for s in steps]

    def next_step(self) -> Step | None:
        with self._lock:
            return self.steps.pop(0) if self.steps else None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self, port: int = 0) -> str:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def _completion(model: str, text: str) -> dict:
    return {"id": "fake-1", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": max(1, len(text.split())),
                      "total_tokens": 10 + max(1, len(text.split()))}}


def _handler(fake: FakeLLM):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _json(self, status: int, body: dict, headers: dict | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (an injected timeout)
                self.close_connection = True

        def do_GET(self):
            if self.path.rstrip("/").endswith("/models"):
                return self._json(200, {"object": "list", "data": [{"id": fake.model, "object": "model"}]})
            self._json(404, {"error": {"message": "not found"}})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            request = json.loads(self.rfile.read(length) or b"{}")
            fake.requests.append(request)
            fmt = (request.get("response_format") or {}).get("type")
            if fmt and fmt not in fake.accept_modes:
                return self._json(500, {"error": {"message": f"response_format type {fmt} is not supported"}})
            messages = request.get("messages", [])
            if schema_title(request.get("response_format")) == "SchemaProbe":  # sleuth's schema-mode probe
                return self._reply(request, '{"ok": true}')
            step = fake.next_step()
            if step is None and fake.responder is not None:
                reply = fake.responder(request)
                step = None if reply is None else reply if isinstance(reply, Step) else Step(content=reply)
            if step is None:
                return self._json(500, {"error": {"message": "fake LLM script exhausted"}})
            if step.delay_s:
                time.sleep(step.delay_s)
            if step.fault == "500":
                return self._json(500, {"error": {"message": "injected server error"}})
            if step.fault in ("401", "404"):
                return self._json(int(step.fault), {"error": {"message": f"injected HTTP {step.fault}"}})
            if step.fault == "429":
                return self._json(429, {"error": {"message": "injected rate limit"}}, {"Retry-After": "0"})
            if step.fault == "timeout":
                time.sleep(fake.timeout_delay_s)
                return self._json(500, {"error": {"message": "too late"}})
            if step.fault == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            text = step.content if isinstance(step.content, str) else json.dumps(step.content)
            self._reply(request, text or "", slow=step.fault == "slow_stream")

        def _reply(self, request: dict, text: str, slow: bool = False) -> None:
            if not request.get("stream"):
                return self._json(200, _completion(fake.model, text))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            words = text.split(" ")
            for i, word in enumerate(words):
                piece = word if i == len(words) - 1 else word + " "
                chunk = {"id": "fake", "object": "chat.completion.chunk", "created": 0, "model": fake.model,
                         "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                if slow:
                    time.sleep(0.2)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--script", help="JSON file: a list of steps")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--accept", default="json_object", help="comma-separated accepted response_format types")
    args = parser.parse_args()
    steps = json.load(open(args.script)) if args.script else []
    fake = FakeLLM(steps, accept_modes=tuple(args.accept.split(",")))
    print(fake.start(args.port), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
