"""Exact head-patching sweep: sleuth vs TransformerLens's patching module, same weights in both.

A GPT-2-small-shaped model (12 layers, 12 heads, d_model 768) with random weights and the
SmolLM2 tokenizer; 32 prompt pairs of 16 tokens that differ in one token. TransformerLens runs
`get_act_patch_attn_head_out_all_pos` in a child process, in two versions, on the same weights:

- TransformerLens 4.3 (the version the benchmark was specified with): a TransformerBridge booted
  from the HF model saved to a local folder, in compatibility mode. `make bench` installs it with
  `pip --target .bench/tl4` (sleuth itself needs 3.9 for sae-lens), put first on PYTHONPATH.
- TransformerLens 3.9 (installed with sae-lens): a HookedTransformer with the converted weights
  (no LayerNorm folding, so the numbers match).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from sleuth.config import load_settings
from sleuth.target import Site
from sleuth.target.model import Target
from sleuth.tools.metrics import logit_diff
from sleuth.tools.attribution_patch import attribution_scores
from sleuth.tools.patch import _head_sweep

PAIRS, LENGTH = 32, 16
TL4_PATH = Path(__file__).resolve().parents[1] / ".bench" / "tl4"


def _model():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=49152, n_embd=768, n_layer=12, n_head=12, n_positions=256)
    return GPT2LMHeadModel(config).eval().requires_grad_(False)


def _prompts():
    g = torch.Generator().manual_seed(1)
    clean = torch.randint(100, 49000, (PAIRS, LENGTH), generator=g)
    corrupt = clean.clone()
    corrupt[:, LENGTH // 2] = torch.randint(100, 49000, (PAIRS,), generator=g)
    return clean, corrupt


def _tl_model(kind: str, hf, tokenizer):
    if kind == "tl4-bridge":
        from transformer_lens.model_bridge.sources.transformers.source import boot

        with tempfile.TemporaryDirectory() as local_dir:
            hf.save_pretrained(local_dir)
            model = boot(local_dir, hf_model=hf, tokenizer=tokenizer)
        model.enable_compatibility_mode()
        return model
    from transformer_lens import HookedTransformer, HookedTransformerConfig
    from transformer_lens.pretrained.weight_conversions import convert_gpt2_weights

    c = hf.config
    cfg = HookedTransformerConfig(n_layers=c.n_layer, d_model=c.n_embd, n_ctx=c.n_positions, d_head=c.n_embd // c.n_head,
                                  n_heads=c.n_head, d_mlp=4 * c.n_embd, d_vocab=c.vocab_size, act_fn="gelu_new",
                                  normalization_type="LN", eps=c.layer_norm_epsilon, default_prepend_bos=False)
    model = HookedTransformer(cfg)
    model.load_and_process_state_dict(convert_gpt2_weights(hf, cfg), fold_ln=False, center_writing_weights=False,
                                      center_unembed=False)
    return model.eval()


def tl_sweep(kind: str, clean_m: float, corrupt_m: float, out: str) -> None:
    """Child process: TransformerLens's exact head sweep; writes seconds, scores and version."""
    from transformer_lens import patching

    from sleuth.target import load_target

    torch.set_grad_enabled(False)
    model = _tl_model(kind, _model(), load_target("smollm2-135m", load_settings().home).tokenizer)
    clean, corrupt = _prompts()
    start = time.perf_counter()
    _, cache = model.run_with_cache(clean)

    def metric(logits):
        return ((logits[:, -1, 500] - logits[:, -1, 600]).mean() - corrupt_m) / (clean_m - corrupt_m)

    scores = patching.get_act_patch_attn_head_out_all_pos(model, corrupt, cache, metric).flatten()
    seconds = time.perf_counter() - start
    from importlib.metadata import version as installed_version

    version = installed_version("transformer-lens")  # the first copy on sys.path: the one imported
    Path(out).write_text(json.dumps({"seconds": seconds, "scores": scores.float().tolist(), "version": version}))


def _run_child(kind: str, clean_m: float, corrupt_m: float) -> dict | None:
    env = dict(os.environ)
    if kind == "tl4-bridge":
        if not TL4_PATH.is_dir():
            return None
        env["PYTHONPATH"] = os.pathsep.join([str(TL4_PATH), env.get("PYTHONPATH", "")])
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        code = (f"from benchmarks.bench_transformerlens import tl_sweep; "
                f"tl_sweep({kind!r}, {clean_m!r}, {corrupt_m!r}, {out.name!r})")
        subprocess.run([sys.executable, "-c", code], env=env, check=True, stderr=subprocess.DEVNULL,
                       cwd=Path(__file__).resolve().parents[1])
        return json.loads(Path(out.name).read_text())


def run() -> dict:
    from sleuth.target import load_target

    hf = _model()
    clean, corrupt = _prompts()
    answer, foil = torch.full((PAIRS,), 500), torch.full((PAIRS,), 600)
    target = Target("gpt2-small-random", hf, load_target("smollm2-135m", load_settings().home).tokenizer, "random init")
    batch_c, batch_x = target.as_batch(clean), target.as_batch(corrupt)
    t = time.perf_counter()
    with torch.no_grad():
        hf(clean)
    forward_s = time.perf_counter() - t
    t = time.perf_counter()
    sites = [Site(hook="attn.hook_z", layer=layer) for layer in range(12)]
    clean_run = target.run(batch_c, reads=sites, last_only=True)
    clean_m = float(logit_diff(clean_run, batch_c, answer, foil).mean())
    corrupt_m = float(logit_diff(target.run(batch_x, last_only=True), batch_x, answer, foil).mean())
    ours = torch.tensor(_head_sweep(target, batch_c, batch_x, clean_run, answer, foil, clean_m, corrupt_m))
    sleuth_s = time.perf_counter() - t
    t = time.perf_counter()
    attribution = torch.cat(attribution_scores(target, batch_c, batch_x, answer, foil, sites)[0])
    attribution_s = time.perf_counter() - t
    rank = lambda v: v.argsort().argsort().float()  # noqa: E731
    result = {"pairs": PAIRS, "tokens_per_prompt": LENGTH, "heads": 144, "one_forward_s": round(forward_s, 3),
              "sleuth_exact_sweep_s": round(sleuth_s, 2), "sleuth_sweep_in_forwards": round(sleuth_s / forward_s, 1),
              "attribution_patch_s": round(attribution_s, 2),
              "attribution_vs_exact_spearman": round(float(torch.corrcoef(torch.stack([rank(ours), rank(attribution)]))[0, 1]), 4)}
    for kind in ("tl4-bridge", "tl3-hooked"):
        theirs = _run_child(kind, clean_m, corrupt_m)
        if theirs is None:
            result[kind] = "not installed (make bench installs it)"
            continue
        scores = torch.tensor(theirs["scores"])
        result[kind] = {"version": theirs["version"], "sweep_s": round(theirs["seconds"], 2),
                        "sweep_in_forwards": round(theirs["seconds"] / forward_s, 1),
                        "sleuth_speedup": round(theirs["seconds"] / sleuth_s, 2),
                        "attribution_speedup": round(theirs["seconds"] / attribution_s, 1),
                        "score_correlation": round(float(torch.corrcoef(torch.stack([ours, scores]))[0, 1]), 4),
                        "max_abs_score_difference": round(float((ours - scores).abs().max()), 6)}
    return result
