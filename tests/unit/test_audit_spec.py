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
    with pytest.raises(ValueError):
        seconds("tomorrow")


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
