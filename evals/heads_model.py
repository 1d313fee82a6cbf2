"""The heads suite's model: a 2-layer attention-only transformer trained until induction heads form.

The induction-formation setting (Olsson et al. 2022): sequences of random tokens repeated once;
the loss is on the repeated half, which only an induction circuit (a previous-token head feeding
an induction head) can predict. Llama blocks (rotary positions, which make offset attention easy
to learn) with their MLPs zeroed and frozen make it attention-only while every sleuth site and
tool works on it unchanged. Its tokenizer is a small
byte-level BPE trained on the corpus, so real text works and every token was seen in training.
Seeded; cached under SLEUTH_HOME with a manifest, written atomically.
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

RECIPE_VERSION = 2  # 2: tokens from the whole vocabulary, d_model 128


class HeadsRecipe(BaseModel):
    n_layers: int = 2
    n_heads: int = 4
    d_model: int = 128  # 64 formed previous-token heads that are right on only half of natural text's tokens
    vocab: int = 2048
    steps: int = 2000
    batch: int = 32
    seq_len: int = 64
    min_len: int = 2  # short copies rule out induction through a longer offset than one token
    max_len: int = 24
    max_start: int = 16
    lr: float = 2e-3
    seed: int = 0

    def key(self) -> str:
        return f"v{RECIPE_VERSION}-" + "-".join(f"{v}" for v in self.model_dump().values())


def _attention_only(model) -> None:
    """Zero and freeze every MLP: its output is then exactly 0, so the blocks are attention-only."""
    for layer in model.model.layers:
        for linear in (layer.mlp.gate_proj, layer.mlp.up_proj, layer.mlp.down_proj):
            linear.weight.data.zero_()
            linear.requires_grad_(False)


def _batch(recipe: HeadsRecipe, vocab: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random tokens holding a segment and, right after it, its copy, at a random start and length; the
    loss covers the copy. The random start and length leave token matching as the only solution.
    Tokens come from the whole vocabulary but the end-of-text token 0: trained only on the upper ids (as
    `head_scan` draws), the heads met natural text's common tokens (two thirds of it) with untrained
    embeddings, and the induction heads were right on 3 % of those."""
    n, width = recipe.batch, recipe.seq_len
    tokens = torch.randint(1, vocab - 1, (n, width), generator=g)
    mask = torch.zeros(n, width - 1, dtype=torch.bool)
    for row in range(n):
        length = int(torch.randint(recipe.min_len, recipe.max_len + 1, (1,), generator=g))
        src = int(torch.randint(0, min(recipe.max_start, width - 2 * length) + 1, (1,), generator=g))
        dst = src + length
        tokens[row, dst:dst + length] = tokens[row, src:src + length]
        mask[row, dst:dst + length - 1] = True  # position p predicts token p + 1
    return tokens, mask


def train_tokenizer(texts, vocab: int):
    """A byte-level BPE of `vocab` tokens trained on `texts` (deterministic for the same texts)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>")


def train(recipe: HeadsRecipe, vocab: int, progress: Callable[[int, int, float], None] | None = None):
    """A freshly trained attention-only GPT-2 (eval mode, frozen)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(recipe.seed)
    config = LlamaConfig(vocab_size=vocab, hidden_size=recipe.d_model, num_hidden_layers=recipe.n_layers,
                         num_attention_heads=recipe.n_heads, num_key_value_heads=recipe.n_heads, intermediate_size=8,
                         max_position_embeddings=256, tie_word_embeddings=True, bos_token_id=0, eos_token_id=0,
                         pad_token_id=0, attn_implementation="eager")
    model = LlamaForCausalLM(config)
    _attention_only(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(params, lr=recipe.lr)
    g = torch.Generator().manual_seed(recipe.seed)
    model.train()
    for step in range(recipe.steps):
        tokens, mask = _batch(recipe, vocab, g)
        logits = model(input_ids=tokens).logits[:, :-1]
        loss = torch.nn.functional.cross_entropy(logits[mask], tokens[:, 1:][mask])
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        if progress:
            progress(step + 1, recipe.steps, float(loss.detach()))
    return model.eval().requires_grad_(False)


def load_or_train(home: Path, recipe: HeadsRecipe, texts: Callable[[], list[str]], progress=None):
    """(model, tokenizer, manifest) for this recipe, trained once per machine and cached.
    `texts` gives the corpus text the tokenizer is trained on (called only when training)."""
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

    folder = home / "models" / f"heads-attn-only-{recipe.key()}"
    manifest = folder / "manifest.json"
    if manifest.is_file():
        try:
            model = LlamaForCausalLM.from_pretrained(folder, attn_implementation="eager").eval().requires_grad_(False)
            return model, PreTrainedTokenizerFast.from_pretrained(folder), json.loads(manifest.read_text())
        except (OSError, ValueError):
            shutil.rmtree(folder, ignore_errors=True)  # unreadable: rebuilt below
    start = time.perf_counter()
    tokenizer = train_tokenizer(texts(), recipe.vocab)
    model = train(recipe, len(tokenizer), progress)
    staging = folder.with_name(f".{folder.name}.{os.getpid()}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    info = {"recipe": recipe.model_dump(), "train_seconds": round(time.perf_counter() - start, 1)}
    (staging / "manifest.json").write_text(json.dumps(info, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)
    return model, tokenizer, info
