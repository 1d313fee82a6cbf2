"""What a label worker needs to rebuild its own target: the same in the CLI's process and in a Ray worker."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from sleuth.label.items import LabelInputError, whole_site


def _driver_threads() -> int:
    import torch

    return torch.get_num_threads()


class WorkerSetup(BaseModel):
    model: str
    sae: str | None = None
    site: str | None = None
    synthetic: list[str] = []
    home: str
    corpus: str = "embedded"
    llm_base_url: str | None = None  # the shared endpoint (a Ray worker is given the driver's)
    llm_model: str | None = None
    llm_url_trusted: bool = False  # the driver's key policy: a worker sends the key only where the driver would
    llm_timeout_s: float = 120.0
    llm_retries: int = 4
    # the driver's torch thread count: a worker computing with another (Ray gives each one CPU) sums in
    # another order, and its activations differ from a one-process run in the last digits
    torch_threads: int = Field(default_factory=_driver_threads)


class Opened(BaseModel, arbitrary_types_allowed=True):
    target: object
    site: object  # the whole Site labeled
    width: int
    neuronpedia_id: str | None = None


def open_target(setup: WorkerSetup) -> Opened:
    """Load the target, its SAE or synthetic suites, and check the site (one-line errors, exit 2)."""
    from sleuth.predicates.suite import attach_suite
    from sleuth.sae.library import load_sae
    from sleuth.target import load_target

    if (setup.sae is None) == (setup.site is None):
        raise LabelInputError("give exactly one of --sae NAME or --site SITE")
    target = load_target(setup.model, Path(setup.home))
    for suite in setup.synthetic:
        attach_suite(target, suite)
    if setup.sae:
        name, dictionary = load_sae(setup.sae, target, Path(setup.home))
        site, width = whole_site(target, f"{target.sae_sites[name]}@{name}")
        return Opened(target=target, site=site, width=width, neuronpedia_id=dictionary.cfg.neuronpedia_id)
    site, width = whole_site(target, setup.site)
    return Opened(target=target, site=site, width=width)
