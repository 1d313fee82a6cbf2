"""Foundation benchmarks: caching activations vs a bare forward; cold vs warm load."""

import subprocess
import sys
import tempfile
import time

import torch

from sleuth.config import load_settings
from sleuth.corpus import build_windows, open_corpus
from sleuth.target import Site, load_target

LOAD = ("import time; from sleuth.config import load_settings; from sleuth.target import load_target; "
        "t = time.perf_counter(); "
        "target = load_target('smollm2-135m', load_settings().home); print(time.perf_counter() - t, target.load_seconds)")


def _load_seconds(home: str) -> tuple[float, float]:
    """(seconds for the whole load_target call in a new process, Target.load_seconds)."""
    out = subprocess.run([sys.executable, "-c", LOAD], env={"SLEUTH_HOME": home, "HF_HUB_OFFLINE": "1", "PATH": ""},
                         capture_output=True, text=True, check=True)
    whole, weights = out.stdout.strip().splitlines()[-1].split()
    return float(whole), float(weights)


def run() -> dict:
    settings = load_settings()
    target = load_target("smollm2-135m", settings.home)
    corpus = open_corpus("embedded", settings.corpus_dir)
    windows = build_windows(corpus, target.tokenizer, 64, settings.corpus_dir / "cache").mixed(64, seed=1)
    batches = [torch.as_tensor(windows.tokens[i : i + 8], dtype=torch.long) for i in range(0, 64, 8)]
    sites = [Site(hook=h, layer=layer) for layer in range(target.shape.n_layers)
             for h in ("hook_resid_pre", "hook_resid_mid", "hook_resid_post", "mlp.hook_pre", "mlp.hook_post",
                       "mlp.hook_mlp_out")]
    target.forward(batches[0])  # warm-up
    bare, cached, full_read, early_read = [], [], [], []
    layer6 = [Site(hook="hook_resid_post", layer=6)]
    for batch in batches:  # interleaved so all see the same machine state
        t = time.perf_counter()
        target.forward(batch)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        target.run(batch, reads=sites)
        cached.append(time.perf_counter() - t)
        t = time.perf_counter()
        target.run(batch, reads=layer6)
        full_read.append(time.perf_counter() - t)
        t = time.perf_counter()
        target.run(batch, reads=layer6, logits=False)  # what scans and sleuth label do: stop after the read
        early_read.append(time.perf_counter() - t)
    tokens = sum(b.numel() for b in batches)
    with tempfile.TemporaryDirectory() as cold_home:
        cold = _load_seconds(cold_home)
        warm = _load_seconds(cold_home)
    return {
        "tokens": tokens,
        "sites_cached": len(sites),
        "bare_forward_tok_per_s": round(tokens / sum(bare), 1),
        "cache_all_mlp_resid_tok_per_s": round(tokens / sum(cached), 1),
        "cache_vs_bare_ratio": round(sum(bare) / sum(cached), 3),
        "read_layer6_stop_early_speedup": round(sum(full_read) / sum(early_read), 2),
        "cold_load_s": round(cold[0], 2),
        "warm_load_s_including_imports": round(warm[0], 2),
        "warm_load_s_weights_and_tokenizer": round(warm[1], 2),
        "cold_over_warm": round(cold[0] / warm[0], 1),
    }
