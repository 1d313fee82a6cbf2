"""The head scans must find induction and previous-token heads planted in a small model's weights.

A 2-layer GPT-2 is wired by hand: layer-0 head 0 attends to the previous position and
writes the previous token into its own subspace; layer-1 head 2 matches the current
token against that subspace (an induction head). LayerNorms are made (almost) identity
with a huge epsilon and a matching gain, on vectors kept orthogonal to all-ones.
"""

import math

import pytest
import torch

from sleuth.target.model import Target
from sleuth.tools import ToolContext, run_tool

VOCAB, POSITIONS, D, HEADS = 32, 24, 128, 4
D_HEAD = D // HEADS
PREV_HEAD, INDUCTION_HEAD = 0, 2


def _planted_model():
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=VOCAB, n_embd=D, n_layer=2, n_head=HEADS, n_positions=POSITIONS,
                        layer_norm_epsilon=1e6, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(config).eval().requires_grad_(False)
    g = torch.Generator().manual_seed(0)
    ones = torch.ones(D, 1) / math.sqrt(D)
    basis = torch.linalg.qr(torch.cat([ones, torch.randn(D, D - 1, generator=g)], 1)).Q[:, 1:].T  # rows ⟂ ones
    tok, pos, prev = basis[:VOCAB], basis[VOCAB : VOCAB + POSITIONS], basis[VOCAB + POSITIONS : 2 * VOCAB + POSITIONS]
    for p in model.parameters():
        p.zero_()
    model.transformer.wte.weight[:] = tok
    model.transformer.wpe.weight[:] = pos
    for block in model.transformer.h:
        block.ln_1.weight.fill_(1000.0)
        block.ln_2.weight.fill_(1000.0)
    model.transformer.ln_f.weight.fill_(1000.0)
    alpha = 20 * math.sqrt(D_HEAD)

    def head_cols(kind: int, head: int) -> slice:
        start = kind * D + head * D_HEAD
        return slice(start, start + D_HEAD)

    attn0 = model.transformer.h[0].attn
    for i in range(1, POSITIONS):  # query at position i looks for the key of position i-1
        attn0.c_attn.weight[:, head_cols(0, PREV_HEAD)] += alpha * torch.outer(pos[i], torch.eye(D_HEAD)[i - 1])
    for j in range(POSITIONS - 1):
        attn0.c_attn.weight[:, head_cols(1, PREV_HEAD)] += torch.outer(pos[j], torch.eye(D_HEAD)[j])
    for t in range(VOCAB):  # copy the attended token into the "previous token" subspace
        attn0.c_attn.weight[:, head_cols(2, PREV_HEAD)] += torch.outer(tok[t], torch.eye(D_HEAD)[t])
        attn0.c_proj.weight[PREV_HEAD * D_HEAD + t] += prev[t]
    attn1 = model.transformer.h[1].attn
    for t in range(VOCAB):  # query: current token; key: the token before each position
        attn1.c_attn.weight[:, head_cols(0, INDUCTION_HEAD)] += alpha * torch.outer(tok[t], torch.eye(D_HEAD)[t])
        attn1.c_attn.weight[:, head_cols(1, INDUCTION_HEAD)] += torch.outer(prev[t], torch.eye(D_HEAD)[t])
    return model


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    target = Target("planted-induction", _planted_model(), tokenizer=None, source="planted weights")
    return ToolContext(target=target, home=tmp_path_factory.mktemp("home"))


def test_scans_find_the_planted_heads(ctx):
    args = {"n_sequences": 16, "length": POSITIONS // 2}
    induction = run_tool("head_scan", {"kind": "induction", **args}, ctx).data
    previous = run_tool("head_scan", {"kind": "previous_token", **args}, ctx).data
    top_induction = max(zip(induction["scores"], induction["labels"]))
    top_previous = max(zip(previous["scores"], previous["labels"]))
    assert top_previous[1] == f"L0H{PREV_HEAD}" and top_previous[0] > 0.9, top_previous
    assert top_induction[1] == f"L1H{INDUCTION_HEAD}" and top_induction[0] > 0.7, top_induction
    others = [s for s, lbl in zip(induction["scores"], induction["labels"]) if lbl != f"L1H{INDUCTION_HEAD}"]
    assert max(others) < 0.3, "only the planted head should score as an induction head"
