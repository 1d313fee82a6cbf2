"""sleuth audit: unattended, checkpointed audit jobs (a YAML spec in; run.json, report.html, report.md out)."""

from sleuth.audit.spec import AuditSpecError, JobSpec, load_job, parse_job

__all__ = ["AuditSpecError", "JobSpec", "load_job", "parse_job"]
