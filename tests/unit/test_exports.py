"""The export formats without a model: Delphi's records keep the truth each judge was scored against, and an
audit's Inspect log says which budget stopped a task and whether the run failed or was stopped."""

from pathlib import Path

from inspect_ai.log import read_eval_log

from sleuth.audit import inspect_log
from sleuth.audit.runlog import Finding, Resolved, RunLog, TaskRecord, ToolCall
from sleuth.label.delphi import score_records
from sleuth.label.items import Item
from sleuth.label.records import LabelRecord, Window

ITEM = Item(component="blocks.6.hook_resid_post@s[3]", hookpoint="blocks.6.hook_resid_post@s", index=3)


def _window(kind: str, peak: float, quantile: int | None = None) -> Window:
    return Window(window=1, document="d", split="heldout", kind=kind, quantile=quantile, tokens=["a", "b", "c"],
                  values=[0.0, peak, 0.0])


def test_delphi_records_keep_the_judged_truth_not_the_window_s():
    record = LabelRecord(item=ITEM, status="rejected", label="x", fire_threshold=1.0,
                         test=[_window("quantile", 2.0, quantile=4), _window("random", 0.0)])
    # a marked-token judgement: the window fires, but the marked token did not
    judged = {"scorer": "detection", "status": "scored", "value": 0.5,
              "details": {"judged": [{"example": 0, "active": False, "answer": True},
                                     {"example": 1, "active": False, "answer": False}]}}
    rows = score_records(record, judged)
    assert [r["activating"] for r in rows] == [False, False] and [r["correct"] for r in rows] == [False, True]
    assert [r["distance"] for r in rows] == [5, -1] and all(r["probability"] is None for r in rows)
    assert set(rows[0]) == {"str_tokens", "activations", "distance", "activating", "prediction", "probability", "correct"}
    # a read-back reading has no truth of its own per window: the window's peak against the threshold
    reading = {"scorer": "read_back", "status": "scored", "value": 0.4,
               "details": {"windows": [{"example": 0, "answer": True}, {"example": 1, "answer": True}]}}
    assert [r["activating"] for r in score_records(record, reading)] == [True, False]


def _log(status: str, tasks: list[TaskRecord]) -> RunLog:
    return RunLog(fingerprint="f" * 16, spec={"budget": {"per_task": {"llm_tokens": 500}, "total": {}}},
                  resolved=Resolved(model="m", model_source="s", arch="llama", corpus="c", llm_model="q"),
                  status=status, tasks=tasks)


def test_inspect_log_says_which_budget_stopped_a_task_and_keeps_findings_as_scores(tmp_path: Path):
    finding = Finding(component="L1H2", short="L1H2", text="attends to <b>the previous</b> token", status="validated",
                      scores=[{"scorer": "replication", "status": "scored", "value": 0.9, "threshold": 0.5},
                              {"scorer": "read_back", "status": "failed", "reason": "timed out"}])
    stopped = TaskRecord(id="sweep", kind="sweep", title="describe neurons", status="unfinished",
                         notes=["3 of 5 components were not described: the task's llm tokens budget was spent"])
    done = TaskRecord(id="head", kind="question", title="what does L1H2 do?", status="done", answer="a head",
                      llm_tokens=120, findings=[finding],
                      tool_calls=[ToolCall(tool="head_scan", component="L1H2", summary="scan", evidence_id="ev-1")])
    (tmp_path / ".audit.eval.999999999.tmp").write_text("half a log: its writer was killed")
    path = inspect_log.write(tmp_path, _log("partial", [done, stopped]), "job")
    back = read_eval_log(str(path))
    assert back.status == "cancelled"  # stopped by a budget, nothing failed
    samples = {s.id: s for s in back.samples}
    limit = samples["sweep"].limit
    assert limit.type == "token" and limit.limit == 500 and "llm tokens" in limit.reason
    assert samples["head"].limit is None and samples["head"].output.completion == "a head"
    score = samples["head"].scores["L1H2"]
    assert score.value == {"replication": 0.9, "validated": True} and "read_back: timed out" in score.explanation
    assert score.answer == finding.text  # the words as written: the viewer escapes them
    failed = TaskRecord(id="bad", kind="behaviour", title="b", status="failed", errors=["clean and corrupt alike"])
    back = read_eval_log(str(inspect_log.write(tmp_path, _log("partial", [done, failed]), "job")))
    assert back.status == "error" and next(s for s in back.samples if s.id == "bad").error.message == "clean and corrupt alike"
    assert not list(tmp_path.glob(".*tmp*"))  # written through a temporary name, nothing left behind


def test_eval_split_summary_counts_a_validated_label_only_where_every_eval_score_passes():
    from sleuth.label.eval_split import EvalScore, summary

    scores = [EvalScore(index=0, status="validated", rule=0.9, read_back=0.8),
              EvalScore(index=1, status="validated", rule=0.9, read_back=0.3),  # its words no longer hold
              EvalScore(index=2, status="validated", rule=0.6, read_back=None),  # no reading kept: the rule alone
              EvalScore(index=3, status="rejected", rule=1.0, read_back=1.0)]
    totals = summary(scores, {"rule": 0.5, "read_back": 0.5})
    assert totals["validated"] == 3 and totals["validated_still_pass"] == 2
    assert totals["mean_rule_eval"] == 0.85 and totals["validated_mean_read_back_eval"] == 0.55
    assert summary(scores, {"rule": 0.95}, 0.5)["validated_still_pass"] == 0
