"""The other embedded targets (qwen2, gemma3) and the other ways to name a model."""

import pytest
import torch

from sleuth.target import Site, load_target
from sleuth.target.embedded import embedded


@pytest.mark.slow
@pytest.mark.parametrize("name, arch, layers, heads, kv", [("qwen2.5-0.5b", "qwen2", 24, 14, 2),
                                                          ("gemma3-270m", "gemma3", 18, 4, 1)])
def test_embedded_model_passes_conformance(sleuth_home, name, arch, layers, heads, kv):
    target = load_target(name, sleuth_home)
    s = target.shape
    assert (s.arch, s.n_layers, s.n_heads, s.n_kv_heads) == (arch, layers, heads, kv)
    batch = target.tokenize(["When Mary and John went to the store, John gave a drink to"])
    plain = target.forward(batch)
    out = target.run(batch, reads=target.hook_sites())
    torch.testing.assert_close(out.logits, plain, atol=1e-4, rtol=0)
    layer = s.n_layers // 2
    z, attn_out = Site(hook="attn.hook_z", layer=layer), Site(hook="attn.hook_attn_out", layer=layer)
    per_head = torch.einsum("bphd,hdm->bpm", out[z], target.adapter.W_O(layer)) + target.adapter.b_O(layer)
    torch.testing.assert_close(per_head, out[attn_out], atol=1e-3, rtol=1e-3)
    pattern = out[Site(hook="attn.hook_pattern", layer=0)]
    torch.testing.assert_close(pattern.sum(-1), torch.ones(pattern.shape[:-1]), atol=1e-4, rtol=0)
    if name == "qwen2.5-0.5b":
        assert target.tokenizer.decode(plain[0, -1].argmax()).strip() == "Mary"  # completes IOI


def test_load_from_a_local_hf_directory_and_a_gguf_file(sleuth_home, smollm, tmp_path):
    local = load_target(str(sleuth_home / "models" / "smollm2-135m"), sleuth_home)
    assert local.shape == smollm.shape
    gguf = embedded("smollm2-135m").locate(sleuth_home)
    from_file = load_target(str(gguf), tmp_path)  # a fresh home: dequantizes into tmp_path
    ids = smollm.tokenize(["hello world"])
    torch.testing.assert_close(from_file.forward(ids), smollm.forward(ids))


def test_loading_a_model_outside_the_cli_draws_no_progress_bar(sleuth_home):
    """A Ray worker, a notebook or a script imports sleuth without the CLI's set-up: still no "Loading weights" bar."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_DISABLE_PROGRESS_BARS", "TRANSFORMERS_VERBOSITY")}
    code = ("from pathlib import Path; from sleuth.target import load_target; "
            f"load_target('smollm2-135m', Path({str(sleuth_home)!r})); print('loaded')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and "loaded" in proc.stdout, proc.stderr[-2000:]
    assert "Loading weights" not in proc.stderr and "it/s" not in proc.stderr, proc.stderr[-2000:]
