"""kind: question: a free-text question, answered by the agent (as `sleuth ask`)."""

from __future__ import annotations

from sleuth.audit.investigate import investigate
from sleuth.audit.tasks import task_kind


def _check(task, target) -> None:
    from sleuth.agent import parse_question

    parse_question(task.question, target)  # the components it names exist on the model


@task_kind("question", title=lambda task: task.question, check=_check)
def run_question(task, record, job) -> None:
    summary = investigate(job, record, task.question, f"{job.run_id}-{task.id}")
    record.answer = summary["answer"]
