"""The heads suite's model: a 2-layer attention-only transformer whose heads' functions are set by training.

The induction-formation setting (Olsson et al. 2022): sequences of random tokens repeated once;
the loss is on the repeated half, which only an induction circuit (a previous-token head feeding
an induction head) can predict. Each head is also given a role (`HeadsRecipe.roles`) and a loss on
its attention pattern that forces it: previous token, induction (the token after the current token's
earlier occurrence), the current token itself, or the first token. The suite's truth is written from
those roles, not measured by sleuth's own scans (which the agent re-runs to validate). Llama blocks (rotary positions, which make offset attention easy
to learn) with their MLPs zeroed and frozen make it attention-only while every sleuth site and
tool works on it unchanged. Its tokenizer is a small
byte-level BPE trained on the corpus, so real text works and every token was seen in training.
Seeded; cached under SLEUTH_HOME with a manifest, written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import torch
from pydantic import BaseModel

from sleuth.quiet import quiet_transformers

RECIPE_VERSION = 3  # 2: tokens from the whole vocabulary, d_model 128; 3: every head's pattern forced by its role
ROLES = ("previous_token", "induction", "self", "first")
# an induction head needs a previous-token head before it, so it is in layer 1; layer 0 has no first-token head
# (with rotary positions and no special first token it cannot find position 0: trained to it, it reached 0.52)
DEFAULT_ROLES = {"L0H0": "self", "L0H1": "self", "L0H2": "previous_token", "L0H3": "previous_token",
                 "L1H0": "induction", "L1H1": "induction", "L1H2": "self", "L1H3": "first"}


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
    roles: dict[str, str] = DEFAULT_ROLES  # head -> what its attention is trained to do
    pattern_weight: float = 1.0  # the attention-pattern loss beside the next-token loss

    def key(self) -> str:
        plain = [f"{v}" for k, v in self.model_dump().items() if k != "roles"]
        roles = hashlib.sha256(json.dumps(self.roles, sort_keys=True).encode()).hexdigest()[:8]
        return f"v{RECIPE_VERSION}-" + "-".join([*plain, roles])


def _attention_only(model) -> None:
    """Zero and freeze every MLP: its output is then exactly 0, so the blocks are attention-only."""
    for layer in model.model.layers:
        for linear in (layer.mlp.gate_proj, layer.mlp.up_proj, layer.mlp.down_proj):
            linear.weight.data.zero_()
            linear.requires_grad_(False)


def _targets(role: str, width: int, copies: list[tuple[int, int]]) -> torch.Tensor:
    """[batch, width] the key position each query of a head with `role` must attend to. An induction head's
    query in a copy attends to the token after that token's earlier occurrence; elsewhere, to the first token."""
    positions = torch.arange(width)
    if role == "previous_token":
        return (positions - 1).clamp(min=0).expand(len(copies), width)
    if role == "self":
        return positions.expand(len(copies), width)
    rows = torch.zeros(len(copies), width, dtype=torch.long)
    if role == "induction":
        for row, (dst, length) in enumerate(copies):
            rows[row, dst:dst + length] = positions[dst:dst + length] - length + 1
    return rows


def pattern_loss(attentions, roles: dict[str, str], copies: list[tuple[int, int]]) -> torch.Tensor:
    """Mean negative log attention on each role's target, over every forced head and query (the first query,
    which can only attend to itself, left out)."""
    losses = []
    for head, role in roles.items():
        layer, index = (int(x) for x in head[1:].split("H"))
        probs = attentions[layer][:, index]  # [batch, query, key]
        target = _targets(role, probs.shape[-1], copies)
        picked = probs.gather(-1, target.unsqueeze(-1)).squeeze(-1)[:, 1:]
        losses.append(-(picked + 1e-9).log().mean())
    return torch.stack(losses).mean()


def _batch(recipe: HeadsRecipe, vocab: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, list]:
    """Random tokens holding a segment and, right after it, its copy, at a random start and length; the
    loss covers the copy. The random start and length leave token matching as the only solution.
    Tokens come from the whole vocabulary but the end-of-text token 0: trained only on the upper ids (as
    `head_scan` draws), the heads met natural text's common tokens (two thirds of it) with untrained
    embeddings, and the induction heads were right on 3 % of those."""
    n, width = recipe.batch, recipe.seq_len
    tokens = torch.randint(1, vocab - 1, (n, width), generator=g)
    mask = torch.zeros(n, width - 1, dtype=torch.bool)
    copies = []
    for row in range(n):
        length = int(torch.randint(recipe.min_len, recipe.max_len + 1, (1,), generator=g))
        src = int(torch.randint(0, min(recipe.max_start, width - 2 * length) + 1, (1,), generator=g))
        dst = src + length
        tokens[row, dst:dst + length] = tokens[row, src:src + length]
        mask[row, dst:dst + length - 1] = True  # position p predicts token p + 1
        copies.append((dst, length))
    return tokens, mask, copies


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
    """A freshly trained attention-only Llama (eval mode, frozen), each head trained to its role."""
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
        tokens, mask, copies = _batch(recipe, vocab, g)
        out = model(input_ids=tokens, output_attentions=bool(recipe.roles))
        logits = out.logits[:, :-1]
        loss = torch.nn.functional.cross_entropy(logits[mask], tokens[:, 1:][mask])
        if recipe.roles:
            loss = loss + recipe.pattern_weight * pattern_loss(out.attentions, recipe.roles, copies)
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

    quiet_transformers()
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
