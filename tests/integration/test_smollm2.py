"""The default embedded target, SmolLM2-135M, loaded for real."""

import json
import shutil

import pytest
import torch

from sleuth.errors import SiteError
from sleuth.target import Edit, Site, load_target
from sleuth.target.loader import MANIFEST


def test_shape_and_cache(smollm, sleuth_home):
    s = smollm.shape
    assert (s.arch, s.n_layers, s.n_heads, s.n_kv_heads, s.d_model, s.d_mlp) == ("llama", 30, 9, 3, 576, 1536)
    manifest = json.loads((sleuth_home / "models" / "smollm2-135m" / MANIFEST).read_text())
    assert manifest["files"]["model.safetensors"] > 100_000_000


def test_completes_a_fact(smollm):
    logits = smollm.forward(["The capital of France is"])
    assert smollm.tokenizer.decode(logits[0, -1].argmax()).strip() == "Paris"


def test_every_site_reproduces_logits_on_real_weights(smollm):
    batch = smollm.tokenize(["The capital of France is", "def add(a, b):\n    return"])
    plain = smollm.forward(batch)
    out = smollm.run(batch, reads=smollm.hook_sites())
    torch.testing.assert_close(out.logits, plain, atol=1e-5, rtol=0)


def test_heads_sum_to_attn_out_with_gqa(smollm):
    layer = 7
    z, attn_out = Site(hook="attn.hook_z", layer=layer), Site(hook="attn.hook_attn_out", layer=layer)
    out = smollm.run(["Mary and John went to the store."], reads=[z, attn_out])
    per_head = torch.einsum("bphd,hdm->bpm", out[z], smollm.adapter.W_O(layer))
    torch.testing.assert_close(per_head, out[attn_out], atol=1e-4, rtol=1e-4)
    k = Site(hook="attn.hook_k", layer=layer)
    assert smollm.run(["hi there"], reads=[k])[k].shape[2] == 3  # per KV head


def test_batched_run_matches_single_runs_despite_padding(smollm):
    texts = ["A short one.", "A considerably longer sentence about the weather in Paris."]
    site = Site(hook="mlp.hook_post", layer=4, index=100)
    batch = smollm.tokenize(texts)
    together = smollm.run(batch, reads=[site])[site]
    for i, text in enumerate(texts):
        alone = smollm.run([text], reads=[site])[site][0]
        n = int(batch.lengths[i])
        torch.testing.assert_close(together[i, :n], alone, atol=1e-4, rtol=1e-4)


def test_interventions_set_add_zero_mean(smollm):
    neuron = Site(hook="mlp.hook_post", layer=3, index=11)
    texts = ["one two three four", "five six seven eight"]
    base = smollm.run(texts, reads=[neuron])[neuron]
    assert torch.all(smollm.run(texts, reads=[neuron], edits=[Edit(site=neuron, op="zero")])[neuron] == 0)
    assert torch.allclose(smollm.run(texts, reads=[neuron], edits=[Edit(site=neuron, op="set", value=2.5)])[neuron],
                          torch.full_like(base, 2.5))
    added = smollm.run(texts, reads=[neuron], edits=[Edit(site=neuron, op="add", value=1.0)])[neuron]
    torch.testing.assert_close(added, base + 1.0)
    mean = smollm.run(texts, reads=[neuron], edits=[Edit(site=neuron, op="mean")])[neuron]
    torch.testing.assert_close(mean, torch.full_like(base, base.mean().item()), atol=1e-5, rtol=0)
    only_pos = smollm.run(texts, reads=[neuron], edits=[Edit(site=neuron, op="zero", positions=[1])])[neuron]
    assert torch.all(only_pos[:, 1] == 0) and torch.allclose(only_pos[:, 0], base[:, 0])


def test_direction_sites(smollm):
    direction = torch.randn(576, generator=torch.Generator().manual_seed(0))
    smollm.add_direction("rand", direction)
    site = Site.parse("blocks.5.hook_resid_post~rand")
    edited = smollm.run(["hello world"], reads=[site], edits=[Edit(site=site, op="set", value=3.0)])[site]
    torch.testing.assert_close(edited, torch.full_like(edited, 3.0), atol=1e-4, rtol=0)


@pytest.mark.parametrize("text, fragment", [
    ("blocks.30.hook_resid_post", "layers 0..29"),
    ("blocks.3.attn.hook_z[9]", "heads are 0..8"),
    ("blocks.3.attn.hook_k[3]", "heads are 0..2"),
    ("blocks.3.mlp.hook_post[1536]", "neurons are 0..1535"),
    ("blocks.3.hook_resid_post~nope", "no direction named"),
    ("blocks.3.hook_resid_post@nope[1]", "no SAE named"),
])
def test_out_of_range_sites_name_the_valid_range(smollm, text, fragment):
    with pytest.raises(SiteError, match=fragment):
        smollm.check_site(text)


def test_corrupt_weight_cache_is_rebuilt(sleuth_home, tmp_path):
    cache = tmp_path / "models" / "smollm2-135m"
    shutil.copytree(sleuth_home / "models" / "smollm2-135m", cache)
    (cache / "model.safetensors").write_bytes(b"not safetensors")
    target = load_target("smollm2-135m", tmp_path)
    assert target.shape.n_layers == 30
    assert (cache / "model.safetensors").stat().st_size > 100_000_000


def test_last_only_runs_give_the_same_last_token_logits(smollm):
    batch = smollm.tokenize(["A short one.", "A considerably longer sentence about Paris."])
    full = smollm.run(batch)
    last = smollm.run(batch, last_only=True)
    assert last.logits.shape[1] == 2  # two distinct last positions kept, not the whole sequence
    torch.testing.assert_close(last.last_logits, full.last_logits, atol=1e-4, rtol=1e-4)
