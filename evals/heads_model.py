"""The heads suite's model: a 2-layer attention-only transformer trained until induction heads form.

The induction-formation setting (Olsson et al. 2022): sequences of random tokens repeated once;
the loss is on the repeated half, which only an induction circuit (a previous-token head feeding
an induction head) can predict. GPT-2 blocks with their MLPs zeroed and frozen make it
attention-only while every sleuth site and tool works on it unchanged. Seeded; cached under
SLEUTH_HOME with a manifest, written atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import torch
from pydantic import BaseModel

RECIPE_VERSION = 1


class HeadsRecipe(BaseModel):
    n_layers: int = 2
    n_heads: int = 4
    d_model: int = 64
    steps: int = 900
    batch: int = 32
    min_len: int = 8
    max_len: int = 32
    lr: float = 1e-3
    seed: int = 0
    low_token: int = 1000  # the token range head_scan samples from

    def key(self) -> str:
        return f"v{RECIPE_VERSION}-" + "-".join(f"{v}" for v in self.model_dump().values())


def _attention_only(model) -> None:
    for block in model.transformer.h:
        for linear in (block.mlp.c_fc, block.mlp.c_proj):
            linear.weight.data.zero_()
            linear.bias.data.zero_()
            linear.requires_grad_(False)


def _batch(recipe: HeadsRecipe, vocab: int, g: torch.Generator) -> tuple[torch.Tensor, int]:
    length = int(torch.randint(recipe.min_len, recipe.max_len + 1, (1,), generator=g))
    half = torch.randint(recipe.low_token, vocab - 1, (recipe.batch, length), generator=g)
    return torch.cat([half, half], dim=1), length


def train(recipe: HeadsRecipe, vocab: int, progress: Callable[[int, int, float], None] | None = None):
    """A freshly trained attention-only GPT-2 (eval mode, frozen)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(recipe.seed)
    config = GPT2Config(vocab_size=vocab, n_embd=recipe.d_model, n_layer=recipe.n_layers, n_head=recipe.n_heads,
                        n_positions=2 * recipe.max_len + 8, attn_implementation="eager")
    model = GPT2LMHeadModel(config)
    _attention_only(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(params, lr=recipe.lr)
    g = torch.Generator().manual_seed(recipe.seed)
    model.train()
    for step in range(recipe.steps):
        tokens, length = _batch(recipe, vocab, g)
        hidden = model.transformer(input_ids=tokens).last_hidden_state[:, length:-1]  # repeated half only
        logits = model.lm_head(hidden)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), tokens[:, length + 1:].reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if progress:
            progress(step + 1, recipe.steps, float(loss))
    return model.eval().requires_grad_(False)


def load_or_train(home: Path, recipe: HeadsRecipe, vocab: int, progress=None):
    """The cached model for this recipe, trained once per machine (about 2-3 minutes on 2 cores)."""
    from transformers import GPT2LMHeadModel

    folder = home / "evals" / f"heads-model-{recipe.key()}"
    manifest = folder / "manifest.json"
    if manifest.is_file():
        try:
            return GPT2LMHeadModel.from_pretrained(folder, attn_implementation="eager").eval().requires_grad_(False), \
                json.loads(manifest.read_text())
        except (OSError, ValueError):
            shutil.rmtree(folder, ignore_errors=True)  # unreadable: rebuilt below
    start = time.perf_counter()
    model = train(recipe, vocab, progress)
    staging = folder.with_name(f".{folder.name}.{os.getpid()}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    info = {"recipe": recipe.model_dump(), "train_seconds": round(time.perf_counter() - start, 1)}
    (staging / "manifest.json").write_text(json.dumps(info, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)
    return model, info
