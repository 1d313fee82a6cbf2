"""Layering rules from DESIGN.md, checked on the source."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(folder: str) -> set[str]:
    found = set()
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
    return found


def test_target_and_corpus_import_nothing_above_them():
    for folder in ("sleuth/target", "sleuth/corpus"):
        bad = {m for m in _imports(folder) if m.startswith(("sleuth.tools", "sleuth.agent", "sleuth.memory", "sleuth.cli"))}
        assert not bad, f"{folder} imports {bad}"


def test_nothing_imports_the_cli():
    for folder in ("sleuth/target", "sleuth/corpus", "tools", "agent", "memory", "evals", "scorers", "prompts"):
        assert not {m for m in _imports(folder) if m.startswith("sleuth.cli")}, folder


def test_no_bare_top_level_packages():
    for folder in ("tools", "agent", "memory", "evals", "prompts", "scorers"):
        bad = {m for m in _imports("sleuth") | _imports(folder) if m.split(".")[0] == folder}
        assert not bad, f"bare import of {bad}"


def test_only_front_ends_import_the_agent():
    for folder in ("sleuth/target", "sleuth/corpus", "sleuth/llm", "sleuth/jobs", "tools", "memory", "scorers", "prompts"):
        assert not {m for m in _imports(folder) if m.startswith("sleuth.agent")}, folder


def test_scorers_sit_below_the_agent_and_tools():
    bad = {m for m in _imports("scorers") if m.startswith(("sleuth.tools", "sleuth.agent", "sleuth.cli", "sleuth.jobs"))}
    assert not bad, f"scorers import {bad}"
