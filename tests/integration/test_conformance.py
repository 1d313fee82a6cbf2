"""One conformance suite, run against every architecture adapter."""

import pytest
import torch

from sleuth.target import Edit, Site
from sleuth.target.tiny import TINY_ARCHS, tiny_target

pytestmark = pytest.mark.parametrize("arch", TINY_ARCHS)


@pytest.fixture(scope="module")
def targets():
    return {arch: tiny_target(arch) for arch in TINY_ARCHS}


def _ids(target, batch=2, length=10, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, target.shape.vocab_size, (batch, length), generator=g)


def test_hooking_every_site_reproduces_logits(targets, arch):
    target = targets[arch]
    ids = _ids(target)
    plain = target.forward(ids)
    out = target.run(ids, reads=target.hook_sites())
    assert len(out.cache) == len(target.hook_sites())
    torch.testing.assert_close(out.logits, plain, atol=1e-5, rtol=0)
    torch.testing.assert_close(out[Site(hook="logits")], plain, atol=1e-5, rtol=0)


def test_heads_sum_to_attn_out(targets, arch):
    target = targets[arch]
    for layer in range(target.shape.n_layers):
        z = Site(hook="attn.hook_z", layer=layer)
        attn_out = Site(hook="attn.hook_attn_out", layer=layer)
        out = target.run(_ids(target), reads=[z, attn_out])
        W_O = target.adapter.W_O(layer)  # [H, d_head, d_model]
        per_head = torch.einsum("bphd,hdm->bphm", out[z], W_O)
        torch.testing.assert_close(per_head.sum(2) + target.adapter.b_O(layer), out[attn_out], atol=1e-5, rtol=1e-4)


def test_zero_ablating_a_head_changes_only_downstream(targets, arch):
    target = targets[arch]
    ids = _ids(target)
    layer, head = 1, 2
    sites = target.hook_sites()
    clean = target.run(ids, reads=sites)
    ablated = target.run(ids, reads=sites, edits=[Edit(site=Site(hook="attn.hook_z", layer=layer, index=head), op="zero")])
    ablation_order = Site(hook="attn.hook_z", layer=layer).order
    for site in sites:
        same = torch.allclose(clean[site], ablated[site], atol=1e-6)
        if site.order < ablation_order:
            assert same, f"{site} is upstream of the ablation but changed"
        elif site.hook == "attn.hook_z" and site.layer == layer:
            assert torch.equal(ablated[site][:, :, head], torch.zeros_like(ablated[site][:, :, head]))
            others = [h for h in range(target.shape.n_heads) if h != head]
            assert torch.allclose(clean[site][:, :, others], ablated[site][:, :, others])
        elif site.hook in ("hook_resid_post", "logits"):
            assert not same, f"{site} is downstream of the ablation but did not change"


def test_pattern_rows_sum_to_one(targets, arch):
    target = targets[arch]
    site = Site(hook="attn.hook_pattern", layer=0)
    pattern = target.run(_ids(target), reads=[site])[site]
    assert pattern.shape == (2, target.shape.n_heads, 10, 10)
    torch.testing.assert_close(pattern.sum(-1), torch.ones(pattern.shape[:-1]), atol=1e-5, rtol=0)
    assert torch.all(pattern.triu(diagonal=1) == 0), "attention must be causal"


def test_fast_head_sweep_equals_patching_each_head_through_the_whole_model(targets, arch):
    """The sweep recomputes only blocks >= L from the cached corrupt run; it must match full runs."""
    from sleuth.tools.metrics import logit_diff
    from sleuth.tools.patch import _head_sweep, normalised

    target = targets[arch]
    clean = target.as_batch(_ids(target, batch=3, length=8, seed=2))
    corrupt_ids = clean.input_ids.clone()
    corrupt_ids[:, 3] = (corrupt_ids[:, 3] + 7) % target.shape.vocab_size
    corrupt = target.as_batch(corrupt_ids)
    answer, foil = torch.tensor([5, 6, 7]), torch.tensor([9, 10, 11])
    zs = [Site(hook="attn.hook_z", layer=layer) for layer in range(target.shape.n_layers)]
    clean_run = target.run(clean, reads=zs, last_only=True)
    clean_m = float(logit_diff(clean_run, clean, answer, foil).mean())
    corrupt_m = float(logit_diff(target.run(corrupt, last_only=True), corrupt, answer, foil).mean())
    fast = _head_sweep(target, clean, corrupt, clean_run, answer, foil, clean_m, corrupt_m)
    slow = []
    for z in zs:
        for h in range(target.shape.n_heads):
            edit = Edit(site=z.with_index(h), op="set", value=clean_run[z][:, :, h])
            run = target.run(corrupt, edits=[edit], last_only=True)
            slow.append(normalised(logit_diff(run, corrupt, answer, foil), clean_m, corrupt_m))
    torch.testing.assert_close(torch.tensor(fast), torch.tensor(slow), atol=1e-4, rtol=1e-4)
    assert len(target.adapter.block(0).state_dict()) and target.forward(clean.input_ids).shape[1] == 8  # blocks restored


def test_zeroing_a_heads_weights_makes_it_attend_uniformly_and_write_nothing(arch):
    """Target.zero_heads edits a copy: the head's pattern is uniform over earlier tokens (its queries are
    zero, so every score is equal; gemma3's query norm keeps zero at zero), its W_O slice is zero,
    and every other head of the layer is untouched."""
    target = tiny_target(arch)
    ids = _ids(target)
    layer, head = 1, 2
    pattern, z = Site(hook="attn.hook_pattern", layer=layer), Site(hook="attn.hook_z", layer=layer)
    before = target.run(ids, reads=[pattern, z])
    W_O_before = target.adapter.W_O(layer).clone()
    target.zero_heads([f"L{layer}H{head}"])
    after = target.run(ids, reads=[pattern, z])
    rows = after[pattern][:, head]  # uniform over the keys each query may see (a sliding window included)
    seen = rows > 0
    uniform = seen / seen.sum(-1, keepdim=True)
    torch.testing.assert_close(rows, uniform.to(rows.dtype), atol=1e-5, rtol=0)
    assert not torch.allclose(before[pattern][:, head], rows, atol=1e-3)
    assert torch.count_nonzero(target.adapter.W_O(layer)[head]) == 0
    others = [h for h in range(target.shape.n_heads) if h != head]
    torch.testing.assert_close(target.adapter.W_O(layer)[others], W_O_before[others])
    torch.testing.assert_close(after[pattern][:, others], before[pattern][:, others])
    assert target.name.endswith(f"+zero(L{layer}H{head})")
