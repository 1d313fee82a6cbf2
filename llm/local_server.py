"""The embedded llama.cpp server: started on 127.0.0.1 at a free port, shared, health-checked.

A lock file serialises starting and stopping; a state file (pid, port, model) lets
concurrent sleuth processes share one server; each user holds a lease file. A server
whose process is gone or whose health check fails is stale and is replaced. When the
last lease is released, a server that sleuth started on demand is stopped.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sleuth.locks import file_lock
from sleuth.llm.errors import LLMError, LLMUnreachable
from sleuth.llm.local_models import local_llm

STARTUP_TIMEOUT_S = 300


def _dir(home: Path) -> Path:
    path = home / "llm"
    (path / "leases").mkdir(parents=True, exist_ok=True)
    return path


def _locked(home: Path):
    return file_lock(_dir(home) / "server.lock")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:  # a zombie child counts as dead
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def healthy(base_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


def read_state(home: Path) -> dict | None:
    try:
        return json.loads((_dir(home) / "server.json").read_text())
    except (OSError, ValueError):
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(state: dict) -> None:
    pid = state.get("pid")
    if pid and _alive(pid):
        os.killpg(pid, signal.SIGTERM)
        for _ in range(50):
            if not _alive(pid):
                return
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)


def _start(home: Path, model: str, persistent: bool, threads: int | None) -> dict:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise LLMError("the embedded LLM needs llama-cpp-python: pip install 'llama-cpp-python[server]' "
                       "(or set SLEUTH_LLM_BASE_URL to an OpenAI-compatible endpoint)") from None
    spec = local_llm(model)
    gguf = spec.gguf(home)
    port = _free_port()
    log = (_dir(home) / "server.log").open("ab")
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
           "--n_ctx", "8192", "--n_threads", str(threads or os.cpu_count() or 2), "--model_alias", spec.name]
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    state = {"pid": proc.pid, "port": port, "model": spec.name, "base_url": f"http://127.0.0.1:{port}/v1",
             "persistent": persistent, "started": time.time()}
    deadline = time.time() + STARTUP_TIMEOUT_S
    while time.time() < deadline:
        if proc.poll() is not None:
            raise LLMError(f"the embedded LLM server exited during start-up; see {_dir(home) / 'server.log'}")
        if healthy(state["base_url"]):
            (_dir(home) / "server.json").write_text(json.dumps(state))
            return state
        time.sleep(0.5)
    _stop(state)
    raise LLMError(f"the embedded LLM server did not become healthy in {STARTUP_TIMEOUT_S}s")


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:160] if lines else ""


def explained(home: Path, state: dict, exc: LLMUnreachable) -> LLMUnreachable:
    """An unreachable embedded server that has died says so, with its log (else the error is unchanged)."""
    if _alive(state["pid"]):
        return exc
    log = _dir(home) / "server.log"
    last = _last_line(log)
    return LLMUnreachable(f"the embedded LLM server (pid {state['pid']}) died during the run; its log is {log}"
                          + (f" (last line: {last})" if last else ""))


def _lease_alive(name: str) -> bool:
    return _alive(int(name.split("-")[0]))


def acquire(home: Path, model: str | None = None, persistent: bool = False, threads: int | None = None) -> dict:
    """A running, healthy embedded server (started or reused), plus a lease (state["lease"]) to release."""
    name = local_llm(model).name
    with _locked(home):
        state = read_state(home)
        if state and not (_alive(state["pid"]) and healthy(state["base_url"]) and state["model"] == name):
            _stop(state)  # stale, unhealthy or another model
            state = None
        if state is None:
            state = _start(home, name, persistent, threads)
        lease = f"{os.getpid()}-{time.monotonic_ns()}"
        (_dir(home) / "leases" / lease).write_text(state["base_url"])
        return {**state, "lease": lease}


def release(home: Path, lease: str) -> None:
    """Drop a lease; stop an on-demand server when no live lease is left."""
    with _locked(home):
        leases = _dir(home) / "leases"
        (leases / lease).unlink(missing_ok=True)
        for other in leases.iterdir():
            if not _lease_alive(other.name):
                other.unlink(missing_ok=True)
        state = read_state(home)
        if state and not state.get("persistent") and not any(leases.iterdir()):
            _stop(state)
            (_dir(home) / "server.json").unlink(missing_ok=True)


def stop(home: Path) -> bool:
    with _locked(home):
        state = read_state(home)
        if not state:
            return False
        _stop(state)
        (_dir(home) / "server.json").unlink(missing_ok=True)
        for lease in (_dir(home) / "leases").iterdir():
            lease.unlink(missing_ok=True)
        return True
