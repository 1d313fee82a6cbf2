"""kind: sweep: describe every component of a set, one agent investigation each, saved after each one."""

from __future__ import annotations

import time

from sleuth.audit.investigate import investigate
from sleuth.audit.spec import Limits
from sleuth.audit.tasks import task_kind


def components(task, target) -> list[str]:
    """The sweep's components as canonical sites, checked on the target (a bad layer or unit fails the spec)."""
    from sleuth.audit.job import loaded_sae
    from sleuth.label.items import parse_units
    from sleuth.target import Site

    if task.what == "heads":
        sites = [Site(hook="attn.hook_z", layer=layer, index=h) for layer in task.layers
                 for h in range(target.shape.n_heads)]
    elif task.what == "neurons":
        units = parse_units(task.units, target.shape.d_mlp)
        sites = [Site(hook="mlp.hook_post", layer=layer, index=u) for layer in task.layers for u in units]
    else:
        sae = loaded_sae(target, task.sae)
        site = target.sae_sites[sae].model_copy(update={"sae": sae})
        units = parse_units(task.units, target.saes[sae].d_sae)
        sites = [site.with_index(u) for u in units]
    return [str(target.check_site(s)) for s in sites]


def _title(task) -> str:
    where = f"layers {', '.join(map(str, task.layers))}" if task.layers else f"SAE {task.sae}"
    return f"describe {task.what} {task.units or 'all'} of {where}"


def share(limits: Limits, record, began: float) -> tuple[Limits, str | None]:
    """What is left of the task's budget for its next component (or which budget is spent)."""
    left = {"steps": limits.steps - record.steps if limits.steps else None,
            "llm_tokens": limits.llm_tokens - record.llm_tokens if limits.llm_tokens else None,
            "wall_time": limits.wall_time - (time.monotonic() - began) if limits.wall_time else None}
    spent = next((k for k, v in left.items() if v is not None and v <= 0), None)
    return (limits if spent else Limits(**left)), spent


@task_kind("sweep", title=_title, check=components)
def run_sweep(task, record, job) -> None:
    done = record.progress.setdefault("done", [])
    whole, began = job.limits, time.monotonic() - record.seconds
    todo = components(task, job.target)
    for component in todo:
        if component in done:
            continue
        job.limits, spent = share(whole, record, began)
        if spent:
            record.notes.append(f"{len(todo) - len(done)} of {len(todo)} components were not described: the task's "
                                f"{spent.replace('_', ' ')} budget was spent (run again with --resume, and a larger "
                                "budget if needed, to describe them)")
            record.status = "unfinished"
            break
        short = component.replace("[", "-").replace("]", "").replace("@", "-")
        investigate(job, record, f"what does {component} do?", f"{job.run_id}-{task.id}-{short}")
        done.append(component)
        job.checkpoint()
    job.limits = whole
