"""kind: label: a labeling job, as `sleuth label` runs it, in <output>/tasks/<id>/ (resumable per item)."""

from __future__ import annotations

import time

from sleuth.audit.job import loaded_sae, remember_stored
from sleuth.audit.runlog import Finding, Plot
from sleuth.audit.tasks import task_kind


def _title(task) -> str:
    return f"label units {task.units} of {task.sae or task.site} ({task.preset} preset)"


MAX_HISTOGRAMS = 6  # activation histograms per label task in the report


def short_name(component: str) -> str:
    from sleuth.errors import SiteError
    from sleuth.target import Site

    try:
        return Site.parse(component).short
    except SiteError:
        return component


def units_of(task, target) -> tuple[object, list[int]]:
    """The whole site labeled and its units, checked on the target (before anything is written)."""
    from sleuth.label.items import parse_units, whole_site

    sae = loaded_sae(target, task.sae) if task.sae else None
    source = f"{target.sae_sites[sae]}@{sae}" if sae else task.site
    site, width = whole_site(target, source)
    return site, parse_units(task.units, width)


def _worker_setup(task, job, llm):
    """What a Ray worker needs to rebuild the target (the job's model and this task's SAE or site)."""
    from sleuth.label.setup import WorkerSetup

    if job.spec.model.zero_heads:
        raise ValueError("a label task on Ray needs an unedited model (workers load it by name)")
    settings = job.settings
    return WorkerSetup(model=job.spec.model.model, sae=task.sae, site=task.site, home=str(settings.home),
                       corpus=settings.corpus, llm_base_url=llm.cfg.base_url, llm_model=llm.model,
                       llm_timeout_s=settings.llm.timeout_s, llm_retries=settings.llm.max_retries,
                       llm_url_trusted=not job.spec.llm.base_url and settings.llm.base_url_trusted)


@task_kind("label", title=_title, check=units_of)
def run_label(task, record, job) -> None:
    from sleuth.label import outdir
    from sleuth.label.items import items_for
    from sleuth.label.run import LabelRun
    from sleuth.label.spec import build_spec, choose_preset

    site, units = units_of(task, job.target)
    llm = job.need_llm()
    spec = build_spec(job.target.name, task.sae or str(site), "sae" if task.sae else "site", units, task.preset,
                      choose_preset(task.preset, induce=task.induce), job.settings.agent, task.refine, task.rounds, llm.model,
                      task.exact_first)
    out = job.out / "tasks" / task.id
    outdir.check(out, spec, resume=(out / outdir.MANIFEST).is_file())
    embed = None
    if "embedding" in spec.preset.scorers:
        from sleuth.memory.embedding import MiniLMEmbedding

        embed = MiniLMEmbedding()
    neuronpedia = job.target.saes[loaded_sae(job.target, task.sae)].cfg.neuronpedia_id if task.sae else None
    deadline = time.monotonic() + job.limits.wall_time if job.limits.wall_time else None
    setup = _worker_setup(task, job, llm) if task.ray else None
    run = LabelRun(spec=spec, out=out, ctx=job.tools, site=site, items=items_for(site, units), llm=llm, store=job.store,
                   embed=embed, concurrency=task.workers if task.ray else 1, neuronpedia_id=neuronpedia, deadline=deadline,
                   ray_address=task.ray, setup=setup,
                   max_llm_tokens=job.limits.llm_tokens,
                   on_item=lambda r, totals: job.on_event("item", {"task": record.id, "done": totals["done"],
                                                                   "of": totals["items"]}))
    totals = run.run()
    records = sorted(run.records(), key=lambda r: r.item.index)
    record.findings, record.plots, record.notes = [], [], []
    record.steps, record.llm_tokens = len(records), totals["llm_tokens"]
    for r in records:
        for evidence_id in r.evidence_ids:
            remember_stored(record, job.store, evidence_id)
        record.findings.append(Finding(component=r.item.component, short=short_name(r.item.component),
                                       text=r.label or f"(no label: {r.reason})", status=r.status, scores=r.scores,
                                       rule=r.rule, description_id=r.description_id, evidence_ids=r.evidence_ids,
                                       reason=r.reason))
    for r in records[:MAX_HISTOGRAMS]:
        values = [round(v, 4) for w in r.test for v in w.values if v > 0]
        if values:
            record.plots.append(Plot(kind="histogram", title=f"{short_name(r.item.component)}: its non-zero activations "
                                     f"on {len(r.test)} held-out windows", values=values,
                                     evidence_id=r.evidence_ids[0] if r.evidence_ids else None))
    for scorer in spec.preset.scorers:
        values = [s["value"] for r in records for s in r.scores if s["scorer"] == scorer and s["status"] == "scored"]
        if values:
            record.plots.append(Plot(kind="histogram", title=f"{scorer} scores of the labels (held-out windows)",
                                     values=[round(v, 4) for v in values]))
    if totals["done"] < totals["items"]:
        record.notes.append(f"{totals['items'] - totals['done']} of {totals['items']} units were not labeled: the task's "
                            "budget was spent (run again with --resume, and a larger budget if needed, to finish them)")
        record.status = "unfinished"
    record.answer = (f"{totals['validated']} of {totals['done']} labels validated, {totals['rejected']} rejected, "
                     f"{totals['failed']} failed; files in tasks/{task.id}/ (labels.jsonl, neuronpedia.jsonl, summary.html)")
