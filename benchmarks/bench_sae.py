"""SAE benchmarks.

1. Training throughput vs generating the activations alone (same windows, same tokens):
   the ratio shows how much of training time is the model forward.
2. FVU and CE loss recovered of the default SAE next to a random-direction dictionary
   of the same width, L0 and bias, on the same held-out windows.
"""

import tempfile
import time
from pathlib import Path

from sleuth.config import load_settings
from sleuth.sae.evaluate import evaluate_dictionary, random_baseline
from sleuth.sae.library import corpus_rows, load_sae
from sleuth.sae.stream import ActivationStream
from sleuth.sae.train import TrainSpec, train_dictionary
from sleuth.target import Site, load_target

TOKENS, EVAL_WINDOWS = 32_768, 64


def run() -> dict:
    home = load_settings().home
    target = load_target("smollm2-135m", home)
    rows, _ = corpus_rows(target, home)
    site = Site.parse("blocks.6.hook_resid_post")
    spec = TrainSpec(site=str(site), arch="topk", width=2048, k=32, tokens=TOKENS, lr=4e-3)

    stream = ActivationStream(target, rows, site, seed=spec.seed)
    start = time.perf_counter()
    seen = 0
    for x, _ in stream.rows(spec.batch):
        seen += len(x)
        if seen >= TOKENS:
            break
    generate_s = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        train_dictionary(target, rows, spec, Path(tmp) / "sae")
        train_s = time.perf_counter() - start

    name, sae = load_sae("smollm2-res-6", target, home)
    heldout, _ = corpus_rows(target, home, split="heldout")
    trained = evaluate_dictionary(target, sae, site, heldout[:EVAL_WINDOWS], name=name)
    rand = evaluate_dictionary(target, random_baseline(sae), site, heldout[:EVAL_WINDOWS], name="random")
    return {
        "training_tokens": TOKENS, "activations_only_tok_per_s": round(TOKENS / generate_s),
        "training_tok_per_s": round(TOKENS / train_s), "training_vs_activations_ratio": round(generate_s / train_s, 3),
        "eval_tokens": trained.tokens,
        "default_sae": {"fvu": round(trained.fvu, 4), "ce_loss_recovered": round(trained.ce_loss_recovered, 4),
                        "l0": round(trained.l0, 2), "dead_fraction": round(trained.dead_fraction, 4)},
        "random_directions": {"fvu": round(rand.fvu, 4), "ce_loss_recovered": round(rand.ce_loss_recovered, 4),
                              "l0": round(rand.l0, 2)},
        "ce": {"clean": round(trained.ce_clean, 4), "zero_ablation": round(trained.ce_zero_ablation, 4),
               "default_spliced": round(trained.ce_spliced, 4), "random_spliced": round(rand.ce_spliced, 4)},
    }
