"""The embedded llama.cpp servers: one per model, started on 127.0.0.1 at a free port, shared, health-checked.

A lock file serialises starting and stopping. Each model has a state file (pid, its start time, port) that
concurrent sleuth processes share, and each user holds a lease file. A server is never stopped under a live
lease: a busy one gets a health-check budget, and a second model gets its own server. The pid is recorded
before the port answers, so a start that is interrupted never leaves a server nobody knows about, and the
process start time guards against signalling a reused pid.
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

from sleuth.errors import SleuthError
from sleuth.locks import file_lock, process_alive
from sleuth.llm.errors import LLMError, LLMUnreachable
from sleuth.llm.local_models import local_llm

STARTUP_TIMEOUT_S = 300
HEALTH_BUDGET_S = 20.0  # a busy server (a long generation on 2 cores) gets this long to answer
WATCH_INTERVAL_S = 2.0  # how often a server's watchdog looks for live users


class ServerInUse(SleuthError):
    """Stopping a server that live sleuth processes still use (one line, exit 2)."""


def _dir(home: Path) -> Path:
    path = home / "llm"
    (path / "servers").mkdir(parents=True, exist_ok=True)
    return path


def _state_file(home: Path, model: str) -> Path:
    return _dir(home) / "servers" / f"{model}.json"


def _lease_dir(home: Path, model: str) -> Path:
    path = _dir(home) / "leases" / model
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_file(home: Path, model: str) -> Path:
    return _dir(home) / f"server-{model}.log"


def _locked(home: Path):
    return file_lock(_dir(home) / "server.lock", what="the embedded LLM server's state")


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (Linux): field 3 of proc(5) first; [] if the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _start_time(pid: int) -> str | None:
    """The kernel's start time of `pid`, which a reused pid does not share."""
    fields = _stat_fields(pid)
    return fields[19] if len(fields) > 19 else None


def same_process(pid: int, start_time: str | None) -> bool:
    """`pid` is alive and is still the process that was recorded (not a later one given the same pid)."""
    return process_alive(pid) and (start_time is None or _start_time(pid) in (None, start_time))


def _cpu_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[11]) + int(fields[12]) if len(fields) > 12 else None  # utime + stime, every thread's


def working(pid: int, over_s: float = 1.0) -> bool:
    """`pid` used CPU in the last `over_s` seconds: a server generating for someone, not a hung or stopped one."""
    before = _cpu_ticks(pid)
    time.sleep(over_s)
    after = _cpu_ticks(pid)
    return before is not None and after is not None and after > before


def healthy(base_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


def _healthy_within(state: dict, budget_s: float) -> bool:
    """The server answers within the budget (False at once if its process is gone)."""
    deadline = time.monotonic() + budget_s
    while same_process(state["pid"], state.get("start_time")):
        if healthy(state["base_url"], timeout=min(5.0, max(0.5, budget_s))):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)
    return False


def read_state(home: Path, model: str | None = None) -> dict | None:
    try:
        return json.loads(_state_file(home, local_llm(model).name).read_text())
    except (OSError, ValueError):
        return None


def _write_state(home: Path, state: dict) -> None:
    path = _state_file(home, state["model"])
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


def servers(home: Path) -> list[dict]:
    """Every recorded server, live or not."""
    found = []
    for path in sorted((_dir(home) / "servers").glob("*.json")):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(state: dict) -> None:
    """Stop the recorded server, and only it: a pid now owned by another process is left alone."""
    pid = state.get("pid")
    if not pid or not same_process(pid, state.get("start_time")):
        return
    os.killpg(pid, signal.SIGTERM)
    for _ in range(50):
        if not process_alive(pid):
            return
        time.sleep(0.1)
    if same_process(pid, state.get("start_time")):
        os.killpg(pid, signal.SIGKILL)
        for _ in range(50):  # gone before the caller goes on
            if not process_alive(pid):
                return
            time.sleep(0.1)


def _forget(home: Path, model: str) -> None:
    _state_file(home, model).unlink(missing_ok=True)


def _start(home: Path, model: str, persistent: bool, threads: int | None) -> dict:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise LLMError("the embedded LLM needs llama-cpp-python: pip install 'llama-cpp-python[server]' "
                       "(or set SLEUTH_LLM_BASE_URL to an OpenAI-compatible endpoint)") from None
    spec = local_llm(model)
    gguf = spec.gguf(home)
    port = _free_port()
    log = log_file(home, spec.name).open("ab")
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
           "--n_ctx", "8192", "--n_threads", str(threads or os.cpu_count() or 2), "--model_alias", spec.name]
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    subprocess.Popen([sys.executable, "-m", "sleuth.llm.local_server", str(home), spec.name, str(proc.pid)],
                     stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)  # its watchdog
    state = {"pid": proc.pid, "start_time": _start_time(proc.pid), "port": port, "model": spec.name,
             "base_url": f"http://127.0.0.1:{port}/v1", "persistent": persistent, "started": time.time(),
             "ready": False}
    try:
        _write_state(home, state)  # before the port answers: an interrupted start is found and stopped later
        deadline = time.time() + STARTUP_TIMEOUT_S
        while time.time() < deadline:
            if proc.poll() is not None:
                raise LLMError(f"the embedded LLM server exited during start-up; see {log_file(home, spec.name)}")
            if healthy(state["base_url"]):
                state["ready"] = True
                _write_state(home, state)
                return state
            time.sleep(0.5)
        raise LLMError(f"the embedded LLM server did not become healthy in {STARTUP_TIMEOUT_S}s")
    except BaseException:  # Ctrl-C or a failure during start-up: no orphan server is left behind
        _stop(state)
        _forget(home, spec.name)
        raise


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:160] if lines else ""


def explained(home: Path, state: dict, exc: LLMUnreachable) -> LLMUnreachable:
    """An unreachable embedded server that has died says so, with its log (else the error is unchanged)."""
    if same_process(state["pid"], state.get("start_time")):
        return exc
    log = log_file(home, state["model"])
    last = _last_line(log)
    return LLMUnreachable(f"the embedded LLM server (pid {state['pid']}) died during the run; its log is {log}"
                          + (f" (last line: {last})" if last else ""))


def _lease_name() -> str:
    return f"{os.getpid()}-{_start_time(os.getpid()) or 0}-{time.monotonic_ns()}"


def _lease_alive(name: str) -> bool:
    pid, start, _ = (name.split("-") + ["", ""])[:3]
    return pid.isdigit() and same_process(int(pid), None if start in ("", "0") else start)


def live_leases(home: Path, model: str) -> list[int]:
    """Pids of the processes that hold a lease on this model's server (dead holders' leases are dropped)."""
    pids = []
    for lease in _lease_dir(home, model).iterdir():
        if _lease_alive(lease.name):
            pids.append(int(lease.name.split("-")[0]))
        else:
            lease.unlink(missing_ok=True)
    return sorted(set(pids))


def _retire_legacy(home: Path) -> None:
    """Stop a server recorded by an earlier sleuth in the single-server layout (llm/server.json)."""
    legacy = _dir(home) / "server.json"
    if legacy.exists():
        try:
            _stop(json.loads(legacy.read_text()))
        except (OSError, ValueError):
            pass
        legacy.unlink(missing_ok=True)


def _usable(home: Path, state: dict, budget_s: float) -> bool:
    """A recorded server can be reused; False means it is gone or stale and nobody depends on it."""
    if _healthy_within(state, budget_s):
        return True
    if not same_process(state["pid"], state.get("start_time")):
        return False  # dead: replaced, leases or not
    users = live_leases(home, state["model"])
    if users and working(state["pid"]):
        return True  # busy with its users' requests (the health check waits behind a generation): queue behind them
    if users:
        raise LLMUnreachable(
            f"the embedded LLM server for {state['model']} (pid {state['pid']}) did not answer its health check in "
            f"{budget_s:g}s and sleuth processes {', '.join(map(str, users))} still use it; it is not restarted "
            f"under them (try again, or `sleuth llm stop --force`)")
    return False


def acquire(home: Path, model: str | None = None, persistent: bool = False, threads: int | None = None,
            health_budget_s: float = HEALTH_BUDGET_S) -> dict:
    """A running, healthy embedded server for `model` (started or reused), plus a lease (state["lease"]) to release."""
    name = local_llm(model).name
    with _locked(home):
        _retire_legacy(home)
        state = read_state(home, name)
        if state and not _usable(home, state, health_budget_s):
            _stop(state)
            _forget(home, name)
            state = None
        if state is None:
            state = _start(home, name, persistent, threads)
        elif (persistent and not state.get("persistent")) or not state.get("ready"):
            state = {**state, "persistent": state.get("persistent") or persistent, "ready": True}
            _write_state(home, state)
        lease = _lease_name()
        (_lease_dir(home, name) / lease).write_text(state["base_url"])
        return {**state, "lease": f"{name}/{lease}"}


def release(home: Path, lease: str, stop_persistent: bool = False) -> list[int]:
    """Drop a lease; stop the server when no live lease is left and it was started on demand (or
    `stop_persistent`, the owner of a persistent server letting go). Returns the pids still using it."""
    model, _, name = lease.partition("/")
    with _locked(home):
        (_lease_dir(home, model) / name).unlink(missing_ok=True)
        users = live_leases(home, model)
        state = read_state(home, model)
        if state is None:
            return users
        if users:
            if stop_persistent and state.get("persistent"):  # the last user's release stops it
                _write_state(home, {**state, "persistent": False})
            return users
        if stop_persistent or not state.get("persistent"):
            _stop(state)
            _forget(home, model)
        return users


def stop(home: Path, model: str | None = None, force: bool = False) -> list[str]:
    """Stop the embedded servers (one model's, or all); refuses one with live users unless `force`."""
    with _locked(home):
        states = [s for s in servers(home) if model is None or s["model"] == local_llm(model).name]
        if not force:
            busy = {s["model"]: live_leases(home, s["model"]) for s in states}
            busy = {m: pids for m, pids in busy.items() if pids}
            if busy:
                users = "; ".join(f"{m} by pid {', '.join(map(str, pids))}" for m, pids in busy.items())
                raise ServerInUse(f"the embedded LLM server is in use ({users}); it stops when they finish, "
                                  f"or now with `sleuth llm stop --force`")
        for state in states:
            _stop(state)
            _forget(home, state["model"])
            for lease in _lease_dir(home, state["model"]).iterdir():
                lease.unlink(missing_ok=True)
        return [s["model"] for s in states]


def watch(home: Path, model: str, pid: int, interval_s: float = WATCH_INTERVAL_S) -> None:
    """The watchdog of the server `pid` (a process of its own): stops it once it is on demand and no live
    process holds a lease, so a server whose last user was killed (kill -9: no release) does not run on."""
    while True:
        time.sleep(interval_s)
        with _locked(home):
            state = read_state(home, model)
            if state is None or state["pid"] != pid or not same_process(pid, state.get("start_time")):
                return  # stopped, or replaced by another server with its own watchdog
            if state.get("persistent") or not state.get("ready") or live_leases(home, model):
                continue
            _stop(state)
            _forget(home, model)
            return


if __name__ == "__main__":  # python -m sleuth.llm.local_server HOME MODEL PID: a server's watchdog
    watch(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
