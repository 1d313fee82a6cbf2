"""Exact head-patching sweep: sleuth vs TransformerLens's patching module, same weights in both.

A GPT-2-small-shaped model (12 layers, 12 heads, d_model 768) with random weights and the
SmolLM2 tokenizer; 32 prompt pairs of 16 tokens that differ in one token. TransformerLens
(4.x, a benchmark-only dependency: `pip install transformer-lens`) runs
`get_act_patch_attn_head_out_all_pos` on a TransformerBridge built from the same HF model.
"""

import time

import torch

from sleuth.target import Site
from sleuth.target.model import Target
from sleuth.tools.metrics import logit_diff
from sleuth.tools.patch import _head_sweep

PAIRS, LENGTH = 32, 16


def _model():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=49152, n_embd=768, n_layer=12, n_head=12, n_positions=256)
    return GPT2LMHeadModel(config).eval().requires_grad_(False)


def run() -> dict:
    from sleuth.target import load_target
    from transformer_lens import patching
    from transformer_lens.model_bridge.sources.transformers.source import boot

    tokenizer = load_target("smollm2-135m").tokenizer
    hf = _model()
    g = torch.Generator().manual_seed(1)
    clean = torch.randint(100, 49000, (PAIRS, LENGTH), generator=g)
    corrupt = clean.clone()
    corrupt[:, LENGTH // 2] = torch.randint(100, 49000, (PAIRS,), generator=g)
    answer, foil = torch.full((PAIRS,), 500), torch.full((PAIRS,), 600)

    target = Target("gpt2-small-random", hf, tokenizer, "random init")
    batch_c, batch_x = target.as_batch(clean), target.as_batch(corrupt)
    t = time.perf_counter()
    sites = [Site(hook="attn.hook_z", layer=layer) for layer in range(12)]
    clean_run = target.run(batch_c, reads=sites, last_only=True)
    clean_m = float(logit_diff(clean_run, batch_c, answer, foil).mean())
    corrupt_m = float(logit_diff(target.run(batch_x, last_only=True), batch_x, answer, foil).mean())
    ours = torch.tensor(_head_sweep(target, batch_c, batch_x, clean_run, answer, foil, clean_m, corrupt_m))
    sleuth_s = time.perf_counter() - t

    bridge = boot("gpt2-small-random", hf_model=hf, tokenizer=tokenizer)
    bridge.enable_compatibility_mode()
    t = time.perf_counter()
    _, cache = bridge.run_with_cache(clean)

    def metric(logits):
        return ((logits[:, -1, 500] - logits[:, -1, 600]).mean() - corrupt_m) / (clean_m - corrupt_m)

    theirs = patching.get_act_patch_attn_head_out_all_pos(bridge, corrupt, cache, metric).flatten()
    tl_s = time.perf_counter() - t
    agree = float(torch.corrcoef(torch.stack([ours, theirs.detach().float()]))[0, 1])
    t = time.perf_counter()
    hf(clean)
    forward_s = time.perf_counter() - t
    return {"pairs": PAIRS, "tokens_per_prompt": LENGTH, "heads": 144,
            "sleuth_exact_sweep_s": round(sleuth_s, 2), "transformerlens_sweep_s": round(tl_s, 2),
            "sleuth_speedup_vs_transformerlens": round(tl_s / sleuth_s, 2),
            "one_forward_s": round(forward_s, 3), "score_correlation": round(agree, 4)}
