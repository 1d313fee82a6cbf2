"""sleuth audit as an auditor runs it: a whole job with the scripted LLM behind real HTTP (one task fails,
the rest finish), kill -9 at random points then --resume (equal to an uninterrupted run, no evidence
twice), bad job files (one line, exit 2, no output folder), the lock, and the report in Chromium."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sleuth.llm.fake_server import FakeLLM, Step

sys.path.insert(0, str(Path(__file__).parents[1]))
from scripted_policy import labeler  # noqa: E402
from page_check import outside_references, png_pixels, render  # noqa: E402

SLEUTH = str(Path(sys.executable).parent / "sleuth")
PAIRS = """
      - {clean: "When Mary and John went to the store, John gave a drink to", corrupt: "When Mary and John went to the store, Mary gave a drink to", answer: " Mary", foil: " John"}
      - {clean: "When Anna and Tom went to the park, Tom gave a ball to", corrupt: "When Anna and Tom went to the park, Anna gave a ball to", answer: " Anna", foil: " Tom"}
      - {clean: "When Lisa and Mark sat in the garden, Mark passed the book to", corrupt: "When Lisa and Mark sat in the garden, Lisa passed the book to", answer: " Lisa", foil: " Mark"}
      - {clean: "When Kate and Paul visited the zoo, Paul showed a map to", corrupt: "When Kate and Paul visited the zoo, Kate showed a map to", answer: " Kate", foil: " Paul"}
"""
PLANTED = "<script>document.title='PWNED'</script> <img src=x onerror=document.title='PWNED'> </table>"
JOB = f"""
model: smollm2-135m
saes: [smollm2-res-6]
budget:
  per_task: {{wall_time: 10m}}
output: unused
tasks:
  - id: head
    kind: question
    question: what does L16H0 do?
  - id: neurons
    kind: sweep
    what: neurons
    layers: [3]
    units: "100:102"
  - id: latents
    kind: label
    sae: smollm2-res-6
    units: "1:3"
    refine: false
  - id: names
    kind: behaviour
    behaviour: naming the indirect object
    candidates: 2
    senders: 2
    exact_sweep: false
    pairs: {PAIRS}
  - id: no-contrast
    kind: behaviour
    behaviour: "a contrast that is not one (clean and corrupt alike) {PLANTED}"
    pairs:
      - {{clean: "The cat sat on the", corrupt: "The cat sat on the", answer: " mat", foil: " dog"}}
      - {{clean: "The dog sat on the", corrupt: "The dog sat on the", answer: " mat", foil: " cat"}}
  - id: ablated
    kind: diff
    other: {{model: smollm2-135m, zero_heads: [L16H0]}}
    measure:
      - {{tool: head_scan, args: {{kind: previous_token, n_sequences: 4}}}}
"""


@pytest.fixture(scope="module")
def fake():
    def slow(request):  # each reply takes a moment, so kills land inside LLM work too
        return Step(content=labeler(request), delay_s=0.1)

    with FakeLLM(responder=slow) as server:
        yield server


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    path = tmp_path_factory.mktemp("audit-job") / "job.yaml"
    path.write_text(JOB)
    return path


def make_env(fake, home, tmp_path_factory):
    config = tmp_path_factory.mktemp("audit-config") / "sleuth.toml"
    config.write_text("[agent]\nexplain_windows = 128\nheldout_windows = 128\nmax_attempts = 1\n")
    return {**os.environ, "SLEUTH_LLM_BASE_URL": fake.base_url, "SLEUTH_CONFIG": str(config), "SLEUTH_HOME": str(home),
            "COLUMNS": "200"}


@pytest.fixture(scope="module")
def env(fake, make_agent_home, default_sae_path, tmp_path_factory):
    return make_env(fake, make_agent_home(), tmp_path_factory)


def run(env, *args, timeout=900):
    return subprocess.run([SLEUTH, *args], capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def uninterrupted(env, job, tmp_path_factory):
    out = tmp_path_factory.mktemp("audit") / "run"
    proc = run(env, "audit", str(job), "--out", str(out), "--json")
    assert proc.returncode == 1, proc.stderr[-3000:]  # one task fails by design, the rest finish
    return out, json.loads(proc.stdout)


def test_a_whole_job_finishes_every_task_but_the_one_that_fails(uninterrupted):
    out, printed = uninterrupted
    log = json.loads((out / "run.json").read_text())
    status = {t["id"]: t["status"] for t in log["tasks"]}
    assert status == {"head": "done", "neurons": "done", "latents": "done", "names": "done", "no-contrast": "failed",
                      "ablated": "done"}, [(t["id"], t["errors"]) for t in log["tasks"]]
    tasks = {t["id"]: t for t in log["tasks"]}
    assert "same metric" in tasks["no-contrast"]["errors"][0]
    assert log["kind"] == "sleuth-audit-run" and log["schema_version"] == 1 and log["status"] == "partial"
    assert log["resolved"]["corpus_checksum"] and log["resolved"]["saes"]["smollm2-res-6"] and log["resolved"]["llm_model"]
    head = tasks["head"]
    assert head["findings"][0]["short"] == "L16H0" and head["findings"][0]["status"] == "validated"
    assert head["answer"] and head["llm_tokens"] > 0 and head["tool_calls"]
    assert any(p["title"].startswith("L16H0 attention pattern") for p in head["plots"])
    assert {f["short"] for f in tasks["neurons"]["findings"]} == {"L3N100", "L3N101"}
    assert len(tasks["latents"]["findings"]) == 2 and (out / "tasks" / "latents" / "labels.jsonl").is_file()
    names = tasks["names"]["findings"]
    assert len(names) == 2 and all(f["written_by"] == "code" and f["scores"][0]["scorer"] == "patch_recovery" for f in names)
    assert any(f["status"] == "validated" for f in names)
    assert tasks["ablated"]["progress"]["changes"]["head_scan:previous_token"][0]["label"] == "L16H0"  # the known answer
    for t in log["tasks"]:
        ids = t["evidence_ids"]
        assert len(ids) == len(set(ids)), t["id"]
        for f in t["findings"]:
            assert f["status"] != "validated" or f["evidence_ids"], f
    assert printed["totals"]["failed"] == 1 and printed["status"] == "partial"
    md = (out / "report.md").read_text()
    assert "L16H0" in md and "no-contrast" in md and "same metric" in md


def _essence(out: Path) -> dict:
    """What two runs of one job must agree on: statuses, findings and their scores, what was measured."""
    log = json.loads((out / "run.json").read_text())
    tasks = {}
    for t in log["tasks"]:
        findings = sorted((f["component"], f["text"], f["status"],
                           tuple((s["scorer"], s["status"], s.get("value")) for s in f["scores"])) for f in t["findings"])
        calls = sorted((c["tool"], c["component"]) for c in t["tool_calls"])
        tasks[t["id"]] = {"status": t["status"], "findings": findings, "calls": calls, "evidence": len(t["evidence_ids"]),
                          "errors": t["errors"]}
    return tasks


@pytest.mark.faults
def test_kill_at_random_points_then_resume_equals_an_uninterrupted_run(uninterrupted, fake, job, make_agent_home,
                                                                      tmp_path_factory, tmp_path):
    import fault_harness

    reference, _ = uninterrupted
    env = make_env(fake, make_agent_home(), tmp_path_factory)  # its own memory: nothing shared with the reference
    out = tmp_path / "run"

    def attempts() -> int:
        try:
            return json.loads((out / "run.json").read_text())["attempts"]
        except (OSError, ValueError, KeyError):
            return 0

    before = [0]

    def command() -> list[str]:
        before[0] = attempts()
        return [SLEUTH, "audit", str(job), "--out", str(out)] + (["--resume"] if (out / "run.json").exists() else [])

    def check() -> str | None:
        if (out / "run.json").exists() and not attempts():
            return "run.json is torn"
        return None

    def progress() -> tuple[int, int]:  # tasks finished (done or failed) in run.json, of the job's six
        try:
            tasks = json.loads((out / "run.json").read_text())["tasks"]
        except (OSError, ValueError, KeyError):
            return 0, 6
        return sum(t["status"] in ("done", "failed") for t in tasks), len(tasks)

    chain = fault_harness.kill_chain("audit / audit --resume", command, env, fault_harness.kills(), seed=7,
                                     delay=(2.0, 9.0), check=check, started=lambda: attempts() > before[0],
                                     ok_exit=(0, 1), progress=progress)  # 1: ran to its end, one task failing by design
    proc = run(env, "audit", str(job), "--out", str(out), "--resume", "--json")
    assert proc.returncode == 1, proc.stderr[-3000:]
    same = _essence(out) == _essence(reference)
    fault_harness.finish(chain, same)
    assert chain.tried >= 5 and chain.survived == chain.tried, chain.line()
    assert "inside" in chain.landed, chain.line()
    assert json.loads((out / "run.json").read_text())["attempts"] >= chain.tried + 1
    assert same
    from sleuth.memory import open_store

    store = open_store(Path(env["SLEUTH_HOME"]))
    descriptions = [d for d in store.all("description")]
    per_component = {}
    for d in descriptions:
        per_component.setdefault((d.component, d.text), []).append(d.id)
    assert all(len(ids) == 1 for ids in per_component.values())  # no description stored twice


@pytest.mark.parametrize("body, says", [
    ("model: [unclosed\n", "not valid YAML"),
    ("model: smollm2-135m\noutput: OUT\ntasks:\n  - {kind: dance}\n", "unknown task kind 'dance'"),
    ("model: smollm2-135m\noutput: OUT\ntasks:\n  - {kind: sweep, what: heads, layers: [99]}\n", "layer 99 out of range"),
    ("model: smollm2-135m\noutput: OUT\nbudget: {total: {llm_tokens: -5}}\ntasks:\n  - {kind: question, question: hi there}\n",
     "budget.total.llm_tokens"),
    ("model: smollm2-135m\noutput: OUT\ntasks:\n  - {kind: question, question: what does L99H1 do}\n", "out of range"),
])
def test_a_bad_job_is_one_line_exit_2_and_no_output_folder(env, tmp_path, body, says):
    out = tmp_path / "out"
    path = tmp_path / "job.yaml"
    path.write_text(body.replace("OUT", str(out)))
    for args in (["audit", str(path)], ["audit", "validate", str(path)]):
        proc = run(env, *args)
        message = proc.stderr.strip()
        assert proc.returncode == 2 and says in message and len(message.splitlines()) == 1, (args, message)
        assert "Traceback" not in message
    assert not out.exists()


def test_validate_schema_and_the_lock(env, job, uninterrupted, tmp_path):
    proc = run(env, "audit", "validate", str(job), "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["tasks"][0] == "head"
    schema = json.loads(run(env, "audit", "schema").stdout)
    assert {"model", "tasks", "budget", "output", "llm", "saes"} <= set(schema["properties"])
    out, _ = uninterrupted
    before = (out / "run.json").read_text()
    proc = run(env, "audit", str(job), "--out", str(out))
    assert proc.returncode == 2 and "--resume" in proc.stderr
    from sleuth.locks import file_lock
    from sleuth.run_folder import WRITER_LOCK

    with file_lock(out / WRITER_LOCK):
        proc = run(env, "audit", str(job), "--out", str(out), "--resume")
    assert proc.returncode == 2 and "in use" in proc.stderr, proc.stderr
    assert (out / "run.json").read_text() == before


def test_report_loads_in_chromium_with_nothing_missing(uninterrupted, tmp_path):
    out, _ = uninterrupted
    page = (out / "report.html").read_text()
    from markupsafe import escape

    shown = page.replace(str(escape(PLANTED)), "")  # the planted text, escaped, names `src=` as text
    assert not outside_references(shown), outside_references(shown)
    assert page.count("<svg") >= 4
    shot, dom, errors = render(out / "report.html", tmp_path, size="1200,1800")
    assert not errors, errors
    assert "sleuth audit report" in dom and "L16H0" in dom and 'id="ev-' in dom
    # the job's text is shown as text: no planted script ran, no planted tag was made, the tables are whole
    assert dom.split("<title>", 1)[1].startswith("sleuth audit: ") and "<script" not in dom and "<img" not in dom
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom
    assert dom.count("<table") == dom.count("</table>")
    assert len(set(png_pixels(shot))) > 16, "the screenshot is blank"
    shutil.copy(shot, out / "report.png")


def test_the_audit_is_an_inspect_eval_log_that_inspect_view_shows(uninterrupted, tmp_path):
    from inspect_ai.log import read_eval_log

    from page_check import render_live

    out, _ = uninterrupted
    log = json.loads((out / "run.json").read_text())
    inspect = read_eval_log(str(out / "audit.eval"))  # inspect-ai's own reader
    assert inspect.status == "error" and inspect.eval.task == "sleuth-audit/run"  # one task failed, as in run.json
    samples = {s.id: s for s in inspect.samples}
    assert set(samples) == {t["id"] for t in log["tasks"]}
    for task in log["tasks"]:
        sample = samples[task["id"]]
        assert sample.input == task["title"] and sample.metadata["status"] == task["status"]
        tools = [e for e in sample.events if e.event == "tool"]
        assert [(e.function, e.metadata["evidence_id"]) for e in tools] == \
            [(c["tool"], c["evidence_id"]) for c in task["tool_calls"]]
        assert len([e for e in sample.events if e.event == "error"]) == len(task["errors"])
        assert len(sample.scores or {}) == len(task["findings"])
        for finding in task["findings"]:
            score = (sample.scores or {})[finding["component"]]
            assert score.answer == finding["text"] and score.metadata["status"] == finding["status"]
            assert score.value["validated"] == (finding["status"] == "validated")
            for s in finding["scores"]:
                if s["status"] == "scored":
                    assert score.value[s["scorer"]] == pytest.approx(s["value"])
        assert (sample.error is not None) == (task["status"] == "failed")
        assert sample.output.completion == (task["answer"] or "")
    assert inspect.results.completed_samples == 5 and inspect.results.total_samples == 6

    # `inspect view` serves it and the viewer draws every task (its own JS app, in headless Chromium)
    port = free_port()
    viewer = subprocess.Popen([str(Path(sys.executable).parent / "inspect"), "view", "start", "--log-dir", str(out),
                               "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        shot, text = render_live(f"http://127.0.0.1:{port}/#/logs/audit.eval", tmp_path, until=[*samples, "sleuth-audit/run"])
    finally:
        viewer.terminate()
        viewer.wait(timeout=30)
    assert PLANTED.split()[0] in text  # the planted markup is text in Inspect's viewer too
    assert len(set(png_pixels(shot))) > 16, "the screenshot is blank"
    shutil.copy(shot, out / "inspect-view.png")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
