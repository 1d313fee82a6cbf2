"""Every registered tool, run for real on SmolLM2, plus the correctness checks."""

import json

import pytest
import torch

from sleuth.target import Edit, Site
from sleuth.tools import REGISTRY, ToolContext, ToolError, load_all, run_tool
from sleuth.tools.schema import tool_schema

CLEAN = ["When Mary and John went to the store, John gave a drink to",
         "When Tom and James went to the park, James gave a ball to",
         "When Anna and Mark went to the beach, Mark gave a towel to",
         "When Lucy and Paul went to the cafe, Paul gave a cake to"]
CORRUPT = ["When Mary and John went to the store, Mary gave a drink to",
           "When Tom and James went to the park, Tom gave a ball to",
           "When Anna and Mark went to the beach, Anna gave a towel to",
           "When Lucy and Paul went to the cafe, Lucy gave a cake to"]
ANSWERS, FOILS = [" Mary", " Tom", " Anna", " Lucy"], [" John", " James", " Mark", " Paul"]
IOI = {"clean": CLEAN, "corrupt": CORRUPT, "answers": ANSWERS, "foils": FOILS}

EXAMPLE_ARGS = {
    "activations": {"site": "L3N100", "texts": ["The cat sat on the mat."]},
    "top_activations": {"sites": ["L3N100"], "n_windows": 32, "k": 3},
    "ablate": {"components": ["L4H5"], "texts": CLEAN[:2], "answers": ANSWERS[:2], "foils": FOILS[:2]},
    "patch": {**IOI, "sweep": "layers"},
    "attribution_patch": IOI,
    "probe": {"site": "blocks.6.hook_resid_post", "texts": [f"def f{i}(x): return x" for i in range(6)]
              + [f"The bird number {i} sings." for i in range(6)], "labels": [1] * 6 + [0] * 6},
    "logit_lens": {"text": "The capital of France is"},
    "direct_logit_attribution": {"texts": CLEAN[:2], "answers": ANSWERS[:2], "foils": FOILS[:2]},
    "attention_pattern": {"layer": 3, "head": 2, "texts": ["one two three one two three"]},
    "head_scan": {"kind": "induction", "n_sequences": 4, "length": 10},
    "attention_rule": {"layer": 18, "head": 6, "rule": {"attends_to": "after_previous_occurrence"}, "n_texts": 4},
    "path_patch": {**IOI, "receivers": ["L23H3"], "senders": ["L17H4", "L18H6"]},
    "subspace_patch": {**IOI, "site": "blocks.20.mlp.hook_post"},
    "compare_models": {"other_model": "smollm2-135m", "tool": "head_scan", "args": {"kind": "induction", "n_sequences": 2}},
    "contrast_units": {"site": "blocks.5.mlp.hook_post", "positive": ["Born on 12 May 1990.", "Due 3 June 2001."],
                       "negative": ["Born in a small town.", "Due soon, they said."], "top": 5},
    "steer": {"site": "blocks.6.hook_resid_post", "prompt": "I think", "positive_texts": ["love"],
              "negative_texts": ["hate"], "max_new_tokens": 3},
    "sae_encode": {"sae": "smollm2-res-6", "texts": ["The cat sat on the mat."], "top_k": 3},
    "sae_latent_logits": {"sae": "smollm2-res-6", "latent": 7},
    "sae_feature_attribution": {"sae": "smollm2-res-6", "texts": CLEAN[:2], "token": " Mary"},
}


@pytest.fixture(scope="module")
def ctx(smollm_sae, sleuth_home):
    return ToolContext(target=smollm_sae, home=sleuth_home)


@pytest.mark.parametrize("name", sorted(load_all()))
def test_every_registered_tool_runs(ctx, name):
    assert name in EXAMPLE_ARGS, f"add example arguments for new tool '{name}'"
    result = run_tool(name, EXAMPLE_ARGS[name], ctx)
    assert result.summary and result.provenance.model == "smollm2-135m" and result.provenance.tool == name
    json.dumps(result.model_dump(mode="json"))
    schema = tool_schema(REGISTRY[name], ctx.target)
    assert schema["type"] == "object"


def test_schemas_are_bounded_to_the_target(ctx):
    schema = tool_schema(REGISTRY["attention_pattern"], ctx.target)
    assert schema["properties"]["layer"]["maximum"] == 29 and schema["properties"]["head"]["maximum"] == 8
    import re
    pattern = re.compile(tool_schema(REGISTRY["activations"], ctx.target)["properties"]["site"]["pattern"])
    assert pattern.match("blocks.29.mlp.hook_post[3]") and not pattern.match("blocks.30.mlp.hook_post[3]")


@pytest.mark.parametrize("name, args, fragment", [
    ("activations", {"site": "blocks.40.mlp.hook_post[1]", "texts": ["x"]}, "layers 0..29"),
    ("activations", {"site": "L3N5000", "texts": ["x"]}, "neurons are 0..1535"),
    ("attention_pattern", {"layer": 2, "head": 9, "texts": ["x"]}, "heads are 0..8"),
    ("ablate", {"components": ["L4H5"], "texts": []}, "texts"),
    ("patch", {**IOI, "corrupt": CORRUPT[:2]}, "must pair up"),
    ("patch", {**IOI, "corrupt": ["short"] * 4}, "different lengths"),
    ("probe", {"site": "blocks.6.hook_resid_post", "texts": ["a", "b", "c", "d"], "labels": [1, 0, 1, 0, 1]}, "same length"),
])
def test_bad_arguments_are_tool_errors(ctx, name, args, fragment):
    with pytest.raises(ToolError, match=fragment):
        run_tool(name, args, ctx)


def test_patching_clean_into_clean_changes_nothing_and_full_patch_recovers(ctx):
    # clean == corrupt has no normalisation (0/0), so check the raw logits instead
    target = ctx.target
    batch = target.tokenize(CLEAN)
    site = Site(hook="hook_resid_pre", layer=5)
    clean = target.run(batch, reads=[site])
    patched = target.run(batch, edits=[Edit(site=site, op="set", value=clean[site])])
    torch.testing.assert_close(patched.logits, clean.logits, atol=1e-5, rtol=0)
    full = run_tool("patch", {**IOI, "sweep": "sites", "sites": ["blocks.0.hook_resid_pre", "ln_final.hook_normalized"]}, ctx)
    assert full.data["scores"] == pytest.approx([1.0, 1.0], abs=1e-4)


def test_ablating_every_head_equals_ablating_attn_out(ctx):
    target = ctx.target
    batch = target.tokenize(CLEAN)
    heads = [Edit(site=Site(hook="attn.hook_z", layer=4, index=h), op="zero") for h in range(target.shape.n_heads)]
    whole = [Edit(site=Site(hook="attn.hook_attn_out", layer=4), op="zero")]  # SmolLM2 has no o_proj bias
    torch.testing.assert_close(target.run(batch, edits=heads).logits, target.run(batch, edits=whole).logits,
                               atol=1e-4, rtol=0)


def test_attribution_patching_agrees_with_exact_patching(ctx):
    layers = [20, 21, 22, 23, 24, 25, 26, 27, 28, 29]  # where the IOI signal lives in SmolLM2
    attr = run_tool("attribution_patch", {**IOI, "layers": layers}, ctx)
    exact = run_tool("patch", {**IOI, "sweep": "sites",
                               "sites": [f"blocks.{layer}.attn.hook_z[{h}]" for layer in layers for h in range(9)]}, ctx)
    a = torch.tensor(attr.data["scores"])
    e = torch.tensor(exact.data["scores"])
    rank = lambda v: v.argsort().argsort().float()  # noqa: E731
    spearman = torch.corrcoef(torch.stack([rank(a), rank(e)]))[0, 1]
    assert spearman >= 0.7, f"Spearman {spearman:.2f}"


def test_successor_scan_is_deterministic(ctx):
    first = run_tool("head_scan", {"kind": "successor"}, ctx).data["scores"]
    assert first == run_tool("head_scan", {"kind": "successor"}, ctx).data["scores"]
    assert max(first) > 0


def test_top_activations_cache_and_samples(ctx):
    args = {"sites": ["blocks.2.mlp.hook_post"], "n_windows": 32, "k": 2, "units_per_site": 2}
    first = run_tool("top_activations", args, ctx)
    second = run_tool("top_activations", args, ctx)
    assert first.data == second.data
    report = first.data["components"][0]
    kinds = {e["kind"] for e in report["examples"]}
    assert "top" in kinds
    tops = [e["max_value"] for e in report["examples"] if e["kind"] == "top"]
    assert tops == sorted(tops, reverse=True) and tops[0] == pytest.approx(report["max"], abs=1e-3)


def test_a_truncated_scan_cache_is_rebuilt_not_a_traceback(ctx):
    from sleuth.tools.scan import _cache_path, scan, scan_windows

    site, args = Site.parse("blocks.2.mlp.hook_post"), {"sites": ["blocks.2.mlp.hook_post"], "n_windows": 32, "k": 2}
    good = run_tool("top_activations", args, ctx).data
    path = _cache_path(ctx, site, "explain", len(scan_windows(ctx, "explain", 32)[0]))
    path.write_bytes(path.read_bytes()[:100])  # what a kill mid-write used to leave
    assert run_tool("top_activations", args, ctx).data == good
    assert scan(ctx, [site], "explain", 32)[site].window_max.shape[0] == 32
    assert not list(path.parent.glob(f".{path.name}.*.tmp")), "no temporary file is left behind"


def test_subspace_patch_null_space_part_has_no_effect(ctx):
    out = run_tool("subspace_patch", {**IOI, "site": "blocks.20.mlp.hook_post"}, ctx).data
    assert out["effect_null_space"] == pytest.approx(0.0, abs=1e-3)  # W_out cannot read its own null space
    assert out["effect_full"] == pytest.approx(out["effect_row_space"], abs=0.05)
    assert 0.0 <= out["null_share_of_difference"] <= 1.0


def test_path_patching_all_sender_heads_matches_receiver_patching(ctx):
    """Patching every earlier head at once into a receiver equals patching the receiver's q directly
    when all paths to it are through heads (checked loosely: MLPs carry some of the signal)."""
    senders = [f"L{layer}H{h}" for layer in range(23) for h in range(9)]
    through_heads = run_tool("path_patch", {**IOI, "receivers": ["L23H3"], "senders": senders}, ctx).data["scores"][0]
    single = run_tool("path_patch", {**IOI, "receivers": ["L23H3"], "senders": ["L0H0"]}, ctx).data["scores"][0]
    assert abs(single) <= abs(through_heads) + 1e-3


def test_compare_models_on_the_same_checkpoint_shows_no_difference(ctx):
    out = run_tool("compare_models", EXAMPLE_ARGS["compare_models"], ctx).data
    scores = next(d for d in out["diffs"] if d["field"] == "scores")
    assert scores["max_abs_diff"] == pytest.approx(0.0, abs=1e-6)


def test_contrast_units_ranks_by_the_real_activation_difference(ctx):
    args = EXAMPLE_ARGS["contrast_units"]
    result = run_tool("contrast_units", args, ctx)
    top, score = result.data["labels"][0], result.data["scores"][0]
    pos = run_tool("activations", {"site": top, "texts": args["positive"]}, ctx).data["per_text"]
    neg = run_tool("activations", {"site": top, "texts": args["negative"]}, ctx).data["per_text"]
    expected = sum(r["max_value"] for r in pos) / len(pos) - sum(r["max_value"] for r in neg) / len(neg)
    assert score == pytest.approx(expected, abs=2e-3)
    assert result.data["scores"] == sorted(result.data["scores"], reverse=True)
    with pytest.raises(ToolError, match="whole vector site"):
        run_tool("contrast_units", {**args, "site": "L5N3"}, ctx)
