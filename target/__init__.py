"""Target models: loading, sites, adapters and interventions."""

from sleuth.target.interventions import Edit
from sleuth.target.model import Batch, Target, load_target
from sleuth.target.runner import RunOutput
from sleuth.target.shape import ModelShape
from sleuth.target.site import Site

__all__ = ["Batch", "Edit", "ModelShape", "RunOutput", "Site", "Target", "load_target"]
