"""The embedded server's bookkeeping that needs no model: pid reuse and lease liveness."""

import os
import signal
import subprocess

from sleuth.llm import local_server


def test_a_reused_pid_is_never_signalled():
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        # a state file recorded this pid for a server that has since died; the pid now belongs to `sleep`
        stale = {"pid": bystander.pid, "start_time": "1", "model": "qwen2.5-coder-0.5b"}
        assert not local_server.same_process(bystander.pid, "1")
        local_server._stop(stale)
        assert bystander.poll() is None, "killpg hit a process that is not the recorded server"
        real = {"pid": bystander.pid, "start_time": local_server._start_time(bystander.pid)}
        assert local_server.same_process(bystander.pid, real["start_time"])
        local_server._stop(real)
        assert not local_server.same_process(bystander.pid, real["start_time"]), "the recorded server is stopped"
    finally:
        bystander.kill()


def test_leases_of_dead_or_reused_pids_are_dropped(tmp_path):
    leases = tmp_path / "llm" / "leases" / "qwen2.5-coder-0.5b"
    leases.mkdir(parents=True)
    mine = f"{os.getpid()}-{local_server._start_time(os.getpid())}-1"
    reused = f"{os.getpid()}-1-2"  # my pid, but another process's start time
    dead = "999999999-5-3"
    for name in (mine, reused, dead):
        (leases / name).write_text("x")
    assert local_server.live_leases(tmp_path, "qwen2.5-coder-0.5b") == [os.getpid()]
    assert sorted(p.name for p in leases.iterdir()) == [mine]


def test_a_process_using_cpu_is_working_and_a_stopped_or_idle_one_is_not():
    """A busy embedded server (its health check queued behind a generation) is told from a hung one by CPU use."""
    spinner = subprocess.Popen(["python3", "-c", "while True: pass"], start_new_session=True)
    idle = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        assert local_server.working(spinner.pid, over_s=0.5)
        assert not local_server.working(idle.pid, over_s=0.5)
        os.kill(spinner.pid, signal.SIGSTOP)
        assert not local_server.working(spinner.pid, over_s=0.5)
        assert not local_server.working(999_999_999, over_s=0.1)
    finally:
        spinner.kill()
        idle.kill()


def test_the_watchdog_stops_a_server_whose_last_user_was_killed(tmp_path):
    """kill -9 of the last user leaves its lease behind and never releases: the server's watchdog stops it
    (on main it ran until the next sleuth call). A server with a live user runs on."""
    import sys

    model = "qwen2.5-coder-0.5b"
    server = subprocess.Popen(["sleep", "120"], start_new_session=True)  # stands in for the server's process
    user = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        state = {"pid": server.pid, "start_time": local_server._start_time(server.pid), "model": model,
                 "base_url": "http://127.0.0.1:9/v1", "persistent": False, "ready": True}
        local_server._write_state(tmp_path, state)
        leases = local_server._lease_dir(tmp_path, model)
        (leases / f"{user.pid}-{local_server._start_time(user.pid)}-1").write_text("x")
        watchdog = subprocess.Popen([sys.executable, "-m", "sleuth.llm.local_server", str(tmp_path), model,
                                     str(server.pid)])
        try:
            watchdog.wait(timeout=5)  # a live user: the watchdog goes on watching
            raise AssertionError("the watchdog stopped while its server had a live user")
        except subprocess.TimeoutExpired:
            pass
        assert server.poll() is None
        user.kill()
        user.wait()
        assert watchdog.wait(timeout=30) == 0
        assert server.wait(timeout=10) is not None and local_server.read_state(tmp_path, model) is None
    finally:
        for proc in (server, user):
            proc.kill()
