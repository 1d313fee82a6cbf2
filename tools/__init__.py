"""Experiment tools: one typed registry (`sleuth.tools.registry`), one tool per module."""

import importlib
import pkgutil

from sleuth.tools.context import ToolContext
from sleuth.tools.registry import REGISTRY, ToolError, ToolSpec, get_tool, run_tool, tool
from sleuth.tools.result import ToolOutput, ToolResult

# every other module of this package registers one tool
NOT_TOOLS = frozenset({"context", "registry", "result", "schema", "scan", "metrics", "linear_probe"})


def load_all() -> dict[str, ToolSpec]:
    """Import every tool module (each registers itself once)."""
    import sleuth.tools as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in NOT_TOOLS:
            importlib.import_module(f"sleuth.tools.{module.name}")
    return REGISTRY


__all__ = ["REGISTRY", "ToolContext", "ToolError", "ToolOutput", "ToolResult", "ToolSpec", "get_tool",
           "load_all", "run_tool", "tool"]
