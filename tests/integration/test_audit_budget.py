"""A sweep stopped by its budget is `unfinished` (so `audit --resume` continues it), never `done`; on main it was
marked done and --resume skipped it."""

from sleuth.audit.job import JobContext
from sleuth.audit.runlog import TaskRecord
from sleuth.audit.spec import Limits, parse_job
from sleuth.audit.tasks import load_kinds
from sleuth.config import load_settings

JOB = "model: smollm2-135m\noutput: o\ntasks:\n  - {id: s, kind: sweep, what: neurons, layers: [3], units: '100:103'}\n"


def test_a_sweep_stopped_by_its_budget_is_unfinished_and_says_how_to_go_on(smollm, tmp_path):
    spec = parse_job(JOB)
    record = TaskRecord(id="s", kind="sweep", title="sweep", status="running", steps=4)  # an earlier try used 4
    job = JobContext(spec=spec, out=tmp_path, settings=load_settings(), target=smollm, tools=None, store=None, llm=None,
                     run_id="r", limits=Limits(steps=4))
    load_kinds()["sweep"].run(spec.tasks[0], record, job)
    assert record.status == "unfinished" and record.progress["done"] == []
    assert "3 of 3 components were not described" in record.notes[-1] and "--resume" in record.notes[-1]
    assert job.limits == Limits(steps=4)  # the task's whole budget is restored for the runner
