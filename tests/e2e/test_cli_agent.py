"""sleuth ask and sleuth chat as a user drives them, with the scripted LLM behind real HTTP on loopback."""

import json
import os
from contextlib import contextmanager
import signal
import sys
import threading
import time
from pathlib import Path

import pexpect
import pytest

from sleuth.llm.fake_server import FakeLLM, Step

sys.path.insert(0, str(Path(__file__).parents[1]))
from scripted_policy import investigator as policy  # noqa: E402

SLEUTH = str(Path(sys.executable).parent / "sleuth")


@pytest.fixture(scope="module")
def fake():
    with FakeLLM(responder=policy) as server:
        yield server


@pytest.fixture
def env(fake, agent_home, tmp_path):
    config = tmp_path / "sleuth.toml"
    config.write_text("[agent]\nexplain_windows = 128\nheldout_windows = 128\nmax_attempts = 1\n")
    fake.responder = policy
    return {**os.environ, "SLEUTH_LLM_BASE_URL": fake.base_url, "SLEUTH_CONFIG": str(config),
            "SLEUTH_HOME": str(agent_home), "COLUMNS": "200", "PROMPT_TOOLKIT_NO_CPR": "1"}


def run(env, *args, timeout=600):
    import subprocess

    return subprocess.run([SLEUTH, *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_ask_json_prints_description_claims_evidence_scores_and_tokens(env):
    proc = run(env, "ask", "what does layer 18 head 6 do?", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    finding = out["findings"][0]
    assert finding["short"] == "L18H6" and finding["status"] == "validated"
    assert finding["claims"] and all(c["evidence_ids"] for c in finding["claims"])
    assert finding["scores"][0]["scorer"] == "replication" and finding["scores"][0]["value"] >= 0.9
    assert out["llm_usage"]["completion_tokens"] > 0 and out["budget"]["steps"] > 3
    assert "head_scan" in proc.stderr  # tool calls are reported on stderr, so stdout stays JSON


def test_ask_searches_and_describes_sae_latents(env, default_sae_path, tmp_path):
    config = tmp_path / "one-candidate.toml"
    config.write_text("[agent]\nexplain_windows = 64\nheldout_windows = 64\nmax_attempts = 1\nmax_candidates = 1\n")
    proc = run({**env, "SLEUTH_CONFIG": str(config)}, "ask", "which latents respond to dates?", "--sae", "smollm2-res-6", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["findings"], out
    for finding in out["findings"]:
        assert "@smollm2-res-6[" in finding["component"] and finding["status"] in ("validated", "rejected")
        assert finding["claims"] and all(c["evidence_ids"] for c in finding["claims"])
        assert any(s["status"] == "scored" for s in finding["scores"])
    assert "contrast_units" in proc.stderr and out["answer"]


@pytest.mark.parametrize("args,message", [
    (["ask", "what does L99H0 do?"], "layer 99 out of range"),
    (["ask", "what does layer 3 head 40 do?"], "head 40 out of range"),
    (["ask", "what does L3N100 do?", "--sae", "nope"], "no SAE named 'nope'"),
    (["ask", "--resume", "q-no-such-thread"], "no checkpointed investigation"),
])
def test_bad_input_is_one_line_and_exit_2(env, args, message):
    proc = run(env, *args)
    assert proc.returncode == 2 and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_unreachable_llm_is_one_line(env):
    proc = run({**env, "SLEUTH_LLM_BASE_URL": "http://127.0.0.1:9/v1"}, "ask", "what does L3N100 do?")
    assert proc.returncode == 2 and "unreachable" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_kill_9_mid_run_then_resume_finishes_without_duplicate_evidence(env, fake, tmp_path):
    reached = threading.Event()

    def stall_at_description(request):
        title = ((request.get("response_format") or {}).get("schema") or {}).get("title")
        if title == "DescriptionDraft" and not reached.is_set():
            reached.set()
            time.sleep(30)  # the client is killed while waiting here
        return policy(request)

    fake.responder = stall_at_description
    import subprocess

    thread = f"q-resume-{os.getpid()}-{int(time.time())}"
    proc = subprocess.Popen([SLEUTH, "ask", "what does L3N100 do?", "--thread", thread], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert reached.wait(300), "the run never reached the describe step"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    fake.responder = policy
    # the configuration changed since the thread began: the resumed run still computes with the thread's own
    changed = tmp_path / "changed.toml"
    changed.write_text("[agent]\nexplain_windows = 16\nheldout_windows = 16\nthresholds = {rule = 0.99}\n")
    later = {**env, "SLEUTH_CONFIG": str(changed), "SLEUTH_CORPUS": str(tmp_path / "no-such-corpus")}
    resumed = run(later, "ask", "--resume", thread, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert "the thread's own settings are used" in resumed.stderr
    out = json.loads(resumed.stdout)
    assert out["status"] == "done" and out["findings"][0]["component"] == "blocks.3.mlp.hook_post[100]"
    assert {s["scorer"]: s["threshold"] for s in out["findings"][0]["scores"]}["rule"] == 0.5
    assert len(out["evidence_ids"]) == len(set(out["evidence_ids"]))
    from sleuth.memory import open_store

    stored = [r for r in open_store(Path(env["SLEUTH_HOME"])).all("evidence") if r.run_id == thread]
    assert sorted(r.id for r in stored) == sorted(out["evidence_ids"])
    reused = run(env, "ask", "what does L5N1 do?", "--thread", thread)  # a thread names one run
    assert reused.returncode == 2 and "already holds an investigation" in reused.stderr, reused.stderr


@contextmanager
def chat_session(env, cwd: Path, question: str):
    """A real terminal running `sleuth chat`, with the question already asked; closed afterwards."""
    child = pexpect.spawn(SLEUTH, ["chat"], env=env, cwd=str(cwd), encoding="utf-8", timeout=600, dimensions=(50, 200))
    try:
        child.expect("sleuth>")
        child.sendline(question)
        yield child
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_chat_session_shows_tool_calls_saves_and_quits(env, tmp_path):
    with chat_session(env, tmp_path, "what does L18H6 do?") as child:
        child.expect("head_scan")  # a tool call appears live
        child.expect("validated|rejected")
        child.expect("sleuth>")
        child.sendline("/budget")
        child.expect("steps")
        child.sendline("/save notes/session.md")
        child.expect("saved")
        child.sendline("/save /etc/outside.md")
        child.expect("only inside the working directory")
        child.sendline("/save notes")  # a folder: refused, and the session goes on
        child.expect("is a folder")
        child.sendline("/budget")
        child.expect("steps")
    text = (tmp_path / "notes" / "session.md").read_text()
    assert "what does L18H6 do?" in text and "head_scan" in text and "ev-" in text
    assert not Path("/etc/outside.md").exists()


def test_ctrl_c_cancels_the_step_and_resume_continues(env, fake, tmp_path):
    reached, release = threading.Event(), threading.Event()

    def hold_first_hypotheses(request):
        title = ((request.get("response_format") or {}).get("schema") or {}).get("title")
        if title == "Hypotheses" and not reached.is_set():
            reached.set()
            release.wait(60)  # the step is still waiting for the LLM when Ctrl-C arrives
        return policy(request)

    fake.responder = hold_first_hypotheses
    with chat_session(env, tmp_path, "what does L3N100 do?") as child:
        child.expect("top_activations")
        assert reached.wait(300), "the investigation never asked for hypotheses"
        child.sendintr()
        child.expect("cancelled")
        release.set()
        child.expect("sleuth>")
        child.sendline("/resume")
        child.expect("resuming")
        child.expect("validated|rejected")
        child.expect("sleuth>")
    history = Path(env["SLEUTH_HOME"]) / "chat_history"
    assert "what does L3N100 do?" in history.read_text()  # input history persists across sessions


def _essence(out: dict) -> list:
    return [(f["component"], f["status"], f["text"], [(s["scorer"], s["status"], s["value"]) for s in f["scores"]])
            for f in out["findings"]]


@pytest.mark.faults
def test_ask_killed_at_random_points_then_resumed_equals_an_uninterrupted_run(env, fake, make_agent_home):
    import fault_harness

    from sleuth.agent.session import UnknownThread, saved_thread
    from sleuth.memory import open_store

    question = "what does L3N100 do?"
    reference = run({**env, "SLEUTH_HOME": str(make_agent_home())}, "ask", question, "--thread", "q-reference", "--json")
    assert reference.returncode == 0, reference.stderr
    home = make_agent_home()  # its own memory: what the reference stored must not change this run
    chained = {**env, "SLEUTH_HOME": str(home)}
    thread = "q-fault-chain"

    def checkpointed() -> bool:
        try:
            saved_thread(home, thread)
            return True
        except UnknownThread:
            return False

    asked = [0]

    def command() -> list[str]:
        asked[0] = len(fake.requests)
        return [SLEUTH, "ask", "--resume", thread] if checkpointed() else [SLEUTH, "ask", question, "--thread", thread]

    def working() -> bool:  # this run has loaded everything and talks to the LLM: the kill lands in the work
        return len(fake.requests) > asked[0]

    def check() -> str | None:
        try:
            checkpointed()
            open_store(home).all("evidence")
        except Exception as exc:
            return f"the checkpoint or the store does not open: {exc}"
        return None

    fake.responder = lambda request: Step(content=policy(request), delay_s=0.3)  # LLM time to land kills in
    chain = fault_harness.kill_chain("ask / ask --resume", command, chained, fault_harness.kills(), seed=13,
                                     delay=(0.0, 2.5), check=check, started=working)
    fake.responder = policy
    final = run(chained, "ask", "--resume", thread, "--json")
    assert final.returncode == 0, final.stderr
    out, ref = json.loads(final.stdout), json.loads(reference.stdout)
    evidence = [e for e in open_store(home).all("evidence") if e.run_id == thread]
    same = out["status"] == "done" and _essence(out) == _essence(ref)
    fault_harness.finish(chain, same)
    assert chain.tried >= 3 and chain.survived == chain.tried, chain.line()
    assert same, (out["status"], out["partial"], chain.line(), _essence(out), _essence(ref))
    assert sorted(e.id for e in evidence) == sorted(set(out["evidence_ids"])) == sorted(out["evidence_ids"])
    assert len(evidence) == len(ref["evidence_ids"]), "as many evidence records as the uninterrupted run: none twice"
