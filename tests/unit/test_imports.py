"""The layering rules of DESIGN.md, checked on every module's imports (function-level ones included).

Each top-level folder is one subpackage and one layer (sleuth.<folder>); sleuth/ itself is the
package root (config, errors). A layer may import its own modules, the root, and the layers
listed for it here, nothing else.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE = {"target", "corpus", "sae", "predicates"}
ALLOWED: dict[str, set[str]] = {
    "sleuth": set(),  # the package root: config, errors, locks, atomic writes, run folders
    "predicates": set(),
    "target": set(),
    "corpus": set(),
    "llm": {"prompts"},  # none of the interpretability code; its few prompt texts live in prompts/
    "memory": set(),  # only its own record types
    "prompts": set(),
    "sae": {"target", "corpus"},
    "tools": BASE,
    "scorers": {"llm", "prompts", "target", "corpus", "predicates"},
    "agent": BASE | {"tools", "scorers", "memory", "llm", "prompts"},
    "evals": BASE | {"agent", "tools", "scorers", "memory", "llm", "prompts"},  # front ends: ground truth
    "label": BASE | {"agent", "tools", "scorers", "memory", "llm", "prompts"},  # front ends: batch labeling
    "audit": BASE | {"agent", "tools", "scorers", "memory", "llm", "prompts", "label"},  # front ends: audit jobs
    "cli": BASE | {"agent", "tools", "scorers", "memory", "llm", "prompts", "evals", "label", "audit"},
}
RULE = {
    "cli": "nothing imports the CLI",
    "agent": "only front ends (cli, evals, label, audit) import the agent",
    "evals": "front ends sit at the top; nothing below imports them",
    "label": "front ends sit at the top; nothing below imports them (audit runs label tasks)",
    "audit": "front ends sit at the top; nothing below imports them",
}


def layer_of(module: str) -> str | None:
    """The layer a `sleuth...` module name belongs to (None: not sleuth's)."""
    parts = module.split(".")
    if parts[0] != "sleuth":
        return None
    if len(parts) > 1 and parts[1] in ALLOWED and (ROOT / parts[1]).is_dir():
        return parts[1]
    return "sleuth"


def imports_of(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return found


def violations(layer: str, path_label: str, source: str) -> list[str]:
    out = []
    for line, module in imports_of(source):
        if module.split(".")[0] in ALLOWED and module.split(".")[0] != "sleuth":
            out.append(f"{path_label}:{line} imports bare '{module}'; use sleuth.{module}")
            continue
        target = layer_of(module)
        if target is None or target in (layer, "sleuth") or target in ALLOWED[layer]:
            continue
        why = RULE.get(target, f"{layer} sits below {target}")
        out.append(f"{path_label}:{line} {layer} imports {module}: {why}")
    return out


def all_modules():
    for layer in ALLOWED:
        folder = ROOT / layer
        for path in sorted(folder.rglob("*.py")):
            yield layer, path


def test_every_top_level_folder_is_one_layer():
    code = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()} - {"benchmarks"}
    assert code == set(ALLOWED), f"folders without a layer rule: {code - set(ALLOWED)}; rules without a folder: " \
                                 f"{set(ALLOWED) - code}"
    # the root holds only what several low layers share (quiet: model loading in target, memory and evals)
    assert {p.stem for p in (ROOT / "sleuth").glob("*.py")} <= {"__init__", "config", "errors", "gguf_files", "locks",
                                                                 "atomic_files", "run_folder", "quiet"}


def test_every_module_follows_the_layering_rules():
    problems = []
    for layer, path in all_modules():
        problems += violations(layer, str(path.relative_to(ROOT)), path.read_text())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("layer, source, says", [
    ("target", "def attach():\n    from sleuth.sae.binding import bind_site\n", "target sits below sae"),
    ("scorers", "from sleuth.memory.embedding import MiniLMEmbedding\n", "scorers sits below memory"),
    ("tools", "import sleuth.agent\n", "only front ends (cli, evals, label, audit) import the agent"),
    ("agent", "from sleuth.cli.output import console\n", "nothing imports the CLI"),
    ("agent", "from sleuth.audit.runner import AuditRunner\n", "nothing below imports them"),
    ("memory", "from tools import registry\n", "bare 'tools'"),
])
def test_a_planted_violation_is_caught_with_the_rule_it_breaks(layer, source, says):
    found = violations(layer, "planted.py", source)
    assert found and says in found[0] and found[0].startswith("planted.py:")


SETTINGS_FREE = {"target", "corpus", "sae", "llm", "tools", "scorers", "memory", "predicates", "prompts"}


def test_the_lower_layers_read_no_settings():
    """Settings are read by the front ends and passed down (load_target(spec, home), LLMConfig, AgentSettings)."""
    found = [f"{path.relative_to(ROOT)}:{line} {layer} imports {module}" for layer, path in all_modules()
             if layer in SETTINGS_FREE for line, module in imports_of(path.read_text()) if module == "sleuth.config"]
    assert not found, "\n".join(found)


def test_no_import_cycles_between_layers():
    edges: dict[str, set[str]] = {layer: set() for layer in ALLOWED}
    for layer, path in all_modules():
        for _, module in imports_of(path.read_text()):
            target = layer_of(module)
            if target and target not in (layer, "sleuth"):
                edges[layer].add(target)
    seen, stack = set(), []

    def visit(node):
        if node in stack:
            raise AssertionError(f"import cycle: {' -> '.join(stack[stack.index(node):] + [node])}")
        if node in seen:
            return
        stack.append(node)
        for nxt in edges[node]:
            visit(nxt)
        stack.pop()
        seen.add(node)

    for layer in edges:
        visit(layer)
