"""Small random-weight models built from a config, for every supported architecture.

No hub and no download: conformance tests and benchmarks use these.
"""

from __future__ import annotations

import torch

TINY_ARCHS = ("llama", "qwen2", "gemma3", "gpt2", "gpt_neox")


def tiny_config(arch: str, n_layers: int = 3, d_model: int = 64, n_heads: int = 4, vocab: int = 128):
    from transformers import GPT2Config, GPTNeoXConfig, LlamaConfig, Qwen2Config
    from transformers.models.gemma3 import Gemma3TextConfig

    common = dict(vocab_size=vocab, hidden_size=d_model, num_hidden_layers=n_layers,
                  num_attention_heads=n_heads, intermediate_size=d_model * 3 // 2, max_position_embeddings=256)
    if arch == "llama":
        return LlamaConfig(num_key_value_heads=n_heads // 2, **common)
    if arch == "qwen2":
        return Qwen2Config(num_key_value_heads=n_heads // 2, **common)
    if arch == "gemma3":
        return Gemma3TextConfig(num_key_value_heads=1, head_dim=d_model // n_heads, sliding_window=8, **common)
    if arch == "gpt_neox":
        return GPTNeoXConfig(**common)
    if arch == "gpt2":
        return GPT2Config(vocab_size=vocab, n_embd=d_model, n_layer=n_layers, n_head=n_heads, n_positions=256)
    raise ValueError(f"unknown tiny architecture '{arch}'; choose from {', '.join(TINY_ARCHS)}")


def tiny_model(arch: str, seed: int = 0, **shape):
    """A random-weight causal LM of `arch`, in eval mode, float32."""
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(tiny_config(arch, **shape), attn_implementation="eager")
    model.eval().requires_grad_(False)
    return model


def tiny_target(arch: str, seed: int = 0, **shape):
    from sleuth.target.model import Target

    return Target(f"tiny-{arch}", tiny_model(arch, seed, **shape), tokenizer=None, source="random init")
