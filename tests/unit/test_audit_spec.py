"""The audit job format: every example parses; each kind of bad input is one line naming its place."""

from pathlib import Path

import pytest

from sleuth.audit.runlog import Plot, RunLog, TaskRecord, load, save
from sleuth.audit.spec import AuditSpecError, JobSpec, parse_job, seconds
from sleuth.audit import plots

ROOT = Path(__file__).resolve().parents[2]
GOOD = """
model: smollm2-135m
output: out
tasks:
  - kind: question
    question: which heads are induction heads?
"""


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_job_is_valid(path):
    spec = parse_job(path.read_text(), str(path))
    assert spec.tasks and len({t.id for t in spec.tasks}) == len(spec.tasks)


def test_defaults_ids_and_fingerprint():
    spec = parse_job(GOOD)
    assert spec.model.model == "smollm2-135m" and spec.tasks[0].id == "01-question"
    assert spec.fingerprint() == parse_job(GOOD).fingerprint()
    assert spec.fingerprint() != parse_job(GOOD.replace("induction", "successor")).fingerprint()
    # a run stopped by its budget is resumed with a larger one: budgets are not part of what --resume checks
    larger = GOOD + "budget: {total: {llm_tokens: 90000}, per_task: {wall_time: 2h}}\n"
    assert parse_job(larger).fingerprint() == spec.fingerprint()


@pytest.mark.parametrize("text, says", [
    ("model: [unclosed", "not valid YAML at line 1"),
    ("- just a list", "a job is a YAML mapping"),
    (GOOD.replace("kind: question", "kind: dance"), "unknown task kind 'dance'"),
    (GOOD + "budget: {total: {steps: -3}}\n", "'budget.total.steps'"),
    (GOOD + "budget: {per_task: {wall_time: soon}}\n", "not a duration"),
    (GOOD + "colour: blue\n", "'colour': Extra inputs are not permitted"),
    (GOOD.replace("output: out\n", ""), "'output': Field required"),
    ("model: m\noutput: o\ntasks:\n  - {kind: sweep, what: neurons, units: '0:5'}\n", "a neurons sweep needs layers"),
    ("model: m\noutput: o\ntasks:\n  - {kind: label, units: '0:5'}\n", "exactly one of sae or site"),
    ("model: m\noutput: o\ntasks:\n  - {kind: label, sae: s, preset: delphi, induce: true}\n", "induce needs a preset whose labels carry rules"),
    ("model: m\noutput: o\ntasks:\n  - {kind: label, sae: x}\n", "not in the job's saes"),
    ("model: m\noutput: o\ntasks:\n  - {id: a, kind: question, question: why}\n  - {id: a, kind: question, question: how}\n",
     "two tasks have the id 'a'"),
    ("model: m\noutput: o\ntasks:\n  - {id: x, kind: behaviour, behaviour: thing, pairs: []}\n", "task x field 'pairs'"),
    ("model: m\noutput: o\ntasks: []\n", "'tasks'"),
    (GOOD + "agent: {max_candidats: 1}\n", "unknown agent setting 'max_candidats'"),
    (GOOD + "agent: {max_candidates: 0}\n", "agent.max_candidates"),
])
def test_bad_specs_are_one_line_errors_naming_the_place(text, says):
    with pytest.raises(AuditSpecError) as err:
        parse_job(text, "job.yaml")
    message = str(err.value)
    assert message.startswith("job.yaml") and says in message and "\n" not in message, message
    assert AuditSpecError.exit_code == 2


def test_durations():
    assert seconds("8h") == 28800 and seconds("15m") == 900 and seconds("90") == 90 and seconds(2.5) == 2.5
    for bad in ("tomorrow", "0", 0, "0s", -5):  # 0 is not "no limit"
        with pytest.raises(ValueError):
            seconds(bad)


def test_a_job_file_that_is_not_utf8_is_one_line(tmp_path):
    from sleuth.audit.spec import load_job

    path = tmp_path / "job.yaml"
    path.write_bytes(b"model: m\noutput: \xff\xfe\n")
    with pytest.raises(AuditSpecError, match="not UTF-8"):
        load_job(path)


def test_a_huge_unit_range_is_refused_before_it_is_built():
    from sleuth.label.items import LabelInputError, parse_units

    with pytest.raises(LabelInputError, match="reaches 999999999, outside the 1536 units"):
        parse_units("0:1000000000", 1536)
    assert parse_units("3:6", 1536) == [3, 4, 5] and parse_units(":", 4) == [0, 1, 2, 3]


def test_schema_names_every_task_kind():
    schema = JobSpec.model_json_schema()
    assert set(schema["properties"]) >= {"model", "saes", "llm", "budget", "output", "tasks"}
    kinds = {d["properties"]["kind"]["const"] for name, d in schema["$defs"].items() if name.endswith("Task")}
    assert kinds == {"question", "sweep", "behaviour", "label", "diff"}
    from sleuth.audit.tasks import load_kinds

    assert set(load_kinds()) == kinds  # every kind a job may name has a registered runner, and no other


def test_run_log_round_trips_and_a_torn_file_reads_as_absent(tmp_path):
    log = RunLog(fingerprint="f", spec={"a": 1}, tasks=[TaskRecord(id="t", kind="question", title="q", status="done")])
    save(tmp_path / "run.json", log)
    assert load(tmp_path / "run.json") == log and not list(tmp_path.glob(".*tmp"))
    (tmp_path / "torn.json").write_text('{"kind": "sleuth-audit-run", "fing')
    assert load(tmp_path / "torn.json") is None
    assert log.totals()["done"] == 1


def test_plots_draw_what_they_are_given():
    svg = plots.render(Plot(kind="heatmap", title="t", rows=["L0", "L1"], cols=["H0", "H1"], grid=[[0.5, -1.0], [0.0, 0.25]]))
    assert svg.count("<rect") >= 4 and "L1 H0: 0.0000" in svg and "rgb(0,0,255)" in svg  # the most negative cell is full blue
    bars = plots.render(Plot(kind="bars", title="b", labels=["L5H1", "L7H2"], values=[0.4, -0.2]))
    assert "+0.400" in bars and "-0.200" in bars
    hist = plots.histogram([0.1, 0.1, 0.9])
    assert ": 2</title>" in hist and ": 1</title>" in hist


def test_score_histograms_keep_a_zero_to_one_axis():
    same = plots.histogram([1.0, 1.0], bounds=(0.0, 1.0))
    assert ">0.00</text>" in same and ">1.00</text>" in same and "1.50" not in same  # one value: not 0.50..1.50
    wide = plots.histogram([0.2, 1.8], bounds=(0.0, 1.0))  # a value outside the bounds: its own range
    assert ">0.20</text>" in wide and ">1.80</text>" in wide


@pytest.mark.parametrize("name, url, says", [
    ("AWS_SECRET_ACCESS_KEY", "https://llm.example.org/v1", "may name only an LLM key variable"),
    ("HOME", "https://llm.example.org/v1", "may name only an LLM key variable"),
    ("SLEUTH_LLM_KEY_TEAM", "http://203.0.113.9:8000/v1", "not sending SLEUTH_LLM_KEY_TEAM to http://203.0.113.9"),
    ("SLEUTH_LLM_KEY_TEAM", "https://llm.example.org/v1", None),
    ("OPENAI_API_KEY", "http://127.0.0.1:8000/v1", None),
])
def test_a_job_names_only_llm_keys_and_sends_them_under_the_key_policy(monkeypatch, name, url, says):
    from sleuth.audit.runner import job_llm_config
    from sleuth.config import load_settings

    monkeypatch.delenv("SLEUTH_LLM_SEND_KEY", raising=False)
    monkeypatch.setenv(name, "secret-value")
    text = f"model: m\noutput: o\nllm: {{base_url: '{url}', api_key_env: {name}}}\n" \
           "tasks:\n  - {kind: question, question: why}\n"
    if says is None:
        cfg = job_llm_config(parse_job(text, "job.yaml"), load_settings())
        assert cfg.api_key.get_secret_value() == "secret-value" and "secret-value" not in repr(cfg)
        return
    with pytest.raises(AuditSpecError, match=says) as err:
        job_llm_config(parse_job(text, "job.yaml"), load_settings())
    assert "secret-value" not in str(err.value)


def test_a_thread_counted_by_a_failed_try_is_counted_once_when_resumed():
    """A question task that failed after its findings were counted: --resume resumes the same agent thread,
    whose summary holds those steps, tokens and findings again (on main they were counted twice)."""
    from sleuth.audit.investigate import _forget_earlier_try
    from sleuth.audit.runlog import Finding

    found = Finding(component="blocks.16.attn.hook_z[0]", short="L16H0", text="attends to the previous token",
                    status="validated")
    other = Finding(component="blocks.3.mlp.hook_post[7]", short="L3N7", text="fires on commas", status="rejected")
    record = TaskRecord(id="t", kind="question", title="q", steps=12, llm_tokens=900, findings=[other, found],
                        progress={"threads": {"job-t": {"steps": 9, "llm_tokens": 700,
                                                        "findings": [[found.component, found.text]]}}})
    _forget_earlier_try(record, "job-t")
    assert (record.steps, record.llm_tokens, record.findings) == (3, 200, [other])
    assert "job-t" not in record.progress["threads"]
    _forget_earlier_try(record, "another-thread")  # nothing counted for it: nothing changes
    assert (record.steps, record.llm_tokens, record.findings) == (3, 200, [other])
