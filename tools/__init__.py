"""Experiment tools: one typed registry (`sleuth.tools.registry`), one tool per module."""

import importlib

from sleuth.tools.context import ToolContext
from sleuth.tools.registry import REGISTRY, ToolError, ToolSpec, get_tool, run_tool, tool
from sleuth.tools.result import ToolOutput, ToolResult

TOOL_MODULES = ("activations", "top_activations", "ablate", "patch", "attribution_patch", "logit_lens",
                "attention", "head_scan", "probe", "steer", "path_patch", "subspace_patch", "compare_models",
                "contrast", "sae_encode", "sae_latent_logits", "sae_feature_attribution")


def load_all() -> dict[str, ToolSpec]:
    """Import every tool module (each registers itself once)."""
    for name in TOOL_MODULES:
        importlib.import_module(f"sleuth.tools.{name}")
    return REGISTRY


__all__ = ["REGISTRY", "ToolContext", "ToolError", "ToolOutput", "ToolResult", "ToolSpec", "get_tool",
           "load_all", "run_tool", "tool"]
