"""The shape of a target model, read from its HF config by its adapter."""

from pydantic import BaseModel


class ModelShape(BaseModel):
    arch: str
    n_layers: int
    n_heads: int
    n_kv_heads: int
    d_head: int
    d_model: int
    d_mlp: int
    vocab_size: int
    parallel_residual: bool = False
