"""The target of the heads suite: its trained attention-only model (default) or any loadable model."""

from __future__ import annotations

from sleuth.errors import SiteError
from sleuth.evals.heads_model import HeadsRecipe, load_or_train

SUITE_MODEL = "heads-attn-only-2l"


def heads_target(model: str | None, settings, progress=None):
    """The suite's trained model (default; trained once per machine) or any loadable `model`."""
    from sleuth.corpus import open_corpus
    from sleuth.target import Target, load_target

    if model and model != SUITE_MODEL:
        return load_target(model, settings.home)

    def texts() -> list[str]:
        return [d.text for d in open_corpus(settings.corpus, settings.home / "corpus").documents]

    net, tokenizer, info = load_or_train(settings.home, HeadsRecipe(), texts, progress)
    return Target(SUITE_MODEL, net, tokenizer, source=f"trained in {info['train_seconds']} s: {info['recipe']}")


def default_heads(ctx, model: str | None, given: str | None):
    """(heads to describe one by one, the truth if it had to be measured to pick them): --heads, every
    head of the suite's model, or a sample elsewhere."""
    from sleuth.evals.heads import constructed_truth, measure_truth

    shape = ctx.target.shape
    every = [f"L{layer}H{h}" for layer in range(shape.n_layers) for h in range(shape.n_heads)]
    if given:
        chosen = [h.strip() for h in given.split(",") if h.strip()]
        bad = [h for h in chosen if h not in every]
        if bad:
            raise SiteError(f"head '{bad[0]}' is not on {ctx.target.name} (heads L0H0..L{shape.n_layers - 1}H{shape.n_heads - 1})")
    if not model or model == SUITE_MODEL:  # the truth is how the model was built (the scans kept as a check)
        truth = constructed_truth(HeadsRecipe().roles, measure_truth(ctx))
        return (chosen if given else every), truth
    if given:
        return chosen, None
    truth = measure_truth(ctx)
    picked = []
    for kind in truth.scores:
        ranked = sorted(truth.scores[kind], key=lambda h: -truth.scores[kind][h])
        picked += ranked[:2]
    quiet = [h for h in every if h not in picked and all(h not in v for v in truth.heads.values())]
    picked += quiet[:: max(1, len(quiet) // 2)][:2]
    return list(dict.fromkeys(picked)), truth
