"""Tool benchmarks: exact head-patching sweep vs attribution patching; corpus scan vs bare forward."""

import time

import numpy as np
import torch

from sleuth.config import load_settings
from sleuth.target import Site, load_target
from sleuth.tools import ToolContext, run_tool
from sleuth.tools.scan import scan, scan_windows

NAMES = [("Mary", "John"), ("Tom", "James"), ("Anna", "Mark"), ("Lucy", "Paul"),
         ("Emma", "David"), ("Sara", "Peter"), ("Kate", "Simon"), ("Alice", "Bob")]
PLACES = ["store", "park", "beach", "cafe", "school", "market", "garden", "office"]


def ioi_pairs():
    clean, corrupt, answers, foils = [], [], [], []
    for (a, b), place in zip(NAMES, PLACES):
        clean.append(f"When {a} and {b} went to the {place}, {b} gave a gift to")
        corrupt.append(f"When {a} and {b} went to the {place}, {a} gave a gift to")
        answers.append(" " + a)
        foils.append(" " + b)
    return {"clean": clean, "corrupt": corrupt, "answers": answers, "foils": foils}


def run() -> dict:
    settings = load_settings()
    target = load_target("smollm2-135m", settings.home)
    ctx = ToolContext(target=target, home=settings.home, seed=int(time.time()) % 100_000)
    ioi = ioi_pairs()
    t = time.perf_counter()
    exact = run_tool("patch", {**ioi, "sweep": "heads"}, ctx)
    exact_s = time.perf_counter() - t
    t = time.perf_counter()
    attr = run_tool("attribution_patch", ioi, ctx)
    attr_s = time.perf_counter() - t
    rank = lambda v: torch.tensor(v).argsort().argsort().float()  # noqa: E731
    spearman = float(torch.corrcoef(torch.stack([rank(exact.data["scores"]), rank(attr.data["scores"])]))[0, 1])
    # corpus scan of a whole MLP site (fresh seed: no cache) vs a bare forward over the same windows
    n = 64
    ids, tokens = scan_windows(ctx, "explain", n)
    target.forward(torch.as_tensor(tokens[:16], dtype=torch.long))  # warm-up
    t = time.perf_counter()
    for i in range(0, n, 16):
        target.forward(torch.as_tensor(tokens[i : i + 16], dtype=torch.long))
    bare_s = time.perf_counter() - t
    t = time.perf_counter()
    scan(ctx, [Site(hook="mlp.hook_post", layer=3), Site(hook="mlp.hook_post", layer=10)], "explain", n)
    scan_s = time.perf_counter() - t
    return {
        "head_patch_pairs": len(ioi["clean"]),
        "heads": len(exact.data["scores"]),
        "exact_head_sweep_s": round(exact_s, 2),
        "attribution_patch_s": round(attr_s, 2),
        "attribution_speedup_vs_exact": round(exact_s / attr_s, 1),
        "attribution_vs_exact_spearman_all_heads": round(spearman, 3),
        "scan_windows": n,
        "scan_sites": 2,
        "scan_vs_bare_forward_throughput": round(bare_s / scan_s, 3),
        "tokens": int(np.asarray(tokens).size),
    }
