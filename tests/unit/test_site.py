import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleuth.errors import SiteError
from sleuth.target.site import BLOCK_HOOKS, GLOBAL_HOOKS, Site

names = st.from_regex(r"[a-z][a-z0-9\-]{0,10}", fullmatch=True)
indices = st.none() | st.integers(min_value=0, max_value=100_000)


@st.composite
def sites(draw):
    hook = draw(st.sampled_from([*BLOCK_HOOKS, *GLOBAL_HOOKS]))
    layer = draw(st.integers(0, 200)) if hook in BLOCK_HOOKS else None
    kind = draw(st.sampled_from(["plain", "sae", "direction"]))
    if kind == "direction":
        return Site(hook=hook, layer=layer, direction=draw(names))
    if kind == "sae" and hook != "attn.hook_pattern":
        return Site(hook=hook, layer=layer, sae=draw(names), index=draw(indices))
    return Site(hook=hook, layer=layer, index=draw(indices))


@settings(deadline=None, max_examples=300)
@given(sites())
def test_print_then_parse_round_trips(site):
    assert Site.parse(str(site)) == site
    assert str(Site.parse(str(site))) == str(site)


@pytest.mark.parametrize("text", [
    "hook_embed", "blocks.3.hook_resid_post", "blocks.3.attn.hook_z[5]", "blocks.3.mlp.hook_post[1021]",
    "blocks.6.hook_resid_post@smollm2-res-6[77]", "blocks.6.hook_resid_post~probe-1", "ln_final.hook_normalized",
    "logits", "blocks.0.attn.hook_pattern[2]", "blocks.11.hook_resid_mid",
])
def test_canonical_strings_round_trip(text):
    assert str(Site.parse(text)) == text


def test_shorthands():
    assert Site.parse("L4H5") == Site(hook="attn.hook_z", layer=4, index=5)
    assert Site.parse("L3N100") == Site(hook="mlp.hook_post", layer=3, index=100)
    assert Site.parse("blocks.4.attn.hook_z[5]").short == "L4H5"
    assert Site.parse("blocks.3.mlp.hook_post[100]").short == "L3N100"


@pytest.mark.parametrize("bad, fragment", [
    ("blocks.x.hook_resid_post", "layer 'x' must be an integer"),
    ("blocks.3.mlp.hook_nope", "unknown hook"),
    ("hook_resid_post", "needs a layer"),
    ("blocks.2.hook_embed", "not inside a block"),
    ("blocks.3.mlp.hook_post[-1]", "malformed"),
    ("", "malformed"),
])
def test_malformed_sites_say_what_is_wrong(bad, fragment):
    with pytest.raises(SiteError, match=fragment):
        Site.parse(bad)


def test_execution_order():
    order = [Site.parse(s).order for s in (
        "hook_embed", "blocks.0.hook_resid_pre", "blocks.0.attn.hook_q", "blocks.0.attn.hook_z",
        "blocks.0.attn.hook_attn_out", "blocks.0.hook_resid_mid", "blocks.0.mlp.hook_pre",
        "blocks.0.mlp.hook_post", "blocks.0.hook_resid_post", "blocks.1.hook_resid_pre",
        "ln_final.hook_normalized", "logits")]
    assert order == sorted(order) and len(set(order)) == len(order)


def test_index_kinds():
    assert Site.parse("blocks.1.attn.hook_k[0]").index_kind == "head"
    assert Site.parse("blocks.1.mlp.hook_pre[0]").index_kind == "neuron"
    assert Site.parse("blocks.1.hook_resid_pre[0]").index_kind == "unit"
    assert Site.parse("blocks.1.hook_resid_pre@x[0]").index_kind == "latent"
