import pytest
import torch
from pydantic import BaseModel

from sleuth.tools import ToolOutput, load_all, tool
from sleuth.tools.linear_probe import control_labels, fit_logistic, split_indices
from sleuth.tools.registry import ToolError, get_tool, validate_args
from sleuth.tools.result import shapes_of


def test_every_tool_module_registers():
    tools = load_all()
    assert {"activations", "top_activations", "ablate", "patch", "attribution_patch", "probe", "logit_lens",
            "direct_logit_attribution", "attention_pattern", "head_scan", "steer"} <= set(tools)


def test_registering_a_name_twice_raises():
    load_all()

    class A(BaseModel):
        x: int

    with pytest.raises(ValueError, match="already registered"):
        @tool("ablate", "dup")
        def dup(args: A, ctx) -> ToolOutput:
            return ToolOutput(summary="")


def test_bad_arguments_become_tool_errors():
    with pytest.raises(ToolError, match="texts"):
        validate_args(get_tool("activations"), {"site": "L3N100", "texts": []})
    with pytest.raises(ToolError, match="unknown tool 'nope'"):
        get_tool("nope")


def test_shapes_of_arrays():
    assert shapes_of({"scores": [[1, 2, 3], [4, 5, 6]], "name": "x", "rows": [{"a": 1}]}) == {"scores": [2, 3]}


def test_probe_finds_a_planted_feature_and_control_stays_near_chance():
    g = torch.Generator().manual_seed(0)
    n, d = 3000, 64
    x = torch.randn(n, d, generator=g)
    planted = torch.randn(d, generator=g)
    y = (x @ planted > 0).long()
    train, test = split_indices(n, 0.3, 0)
    fit = fit_logistic(x[train], y[train], x[test], y[test])
    assert fit.test_score > 0.95
    types = torch.randint(0, 300, (n,), generator=g).tolist()  # input "types" unrelated to x
    control = control_labels(types, 2, 0)
    cfit = fit_logistic(x[train], control[train], x[test], control[test])
    assert cfit.test_score < 0.65, "the control task must stay near chance"
    assert torch.nn.functional.cosine_similarity(fit.weight, planted, dim=0) > 0.8


def test_the_successor_scan_takes_the_seed():
    from sleuth.tools.head_scan import ORDINALS, ordinal_runs

    assert ordinal_runs(0) == ordinal_runs(0)
    assert ordinal_runs(0) != ordinal_runs(1), "a fresh-prompt re-measurement must see new prompts"
    for run, items in zip(ordinal_runs(3), ORDINALS.values()):
        assert len(run) >= min(5, len(items)) and " ".join(run) in " ".join(items)
