"""topk: f = relu(the k largest of hidden_pre), the rest 0; no sparsity penalty."""

from sleuth.sae.architectures import register
from sleuth.sae.architectures.base import Architecture
from sleuth.sae.errors import SaeError


@register
class TopK(Architecture):
    name = "topk"
    default_lr = 4e-3

    def check(self, cfg) -> None:
        if not cfg.k:
            raise SaeError("a topk SAE needs k in cfg.json")
        if cfg.k > cfg.d_sae:
            raise SaeError(f"k ({cfg.k}) cannot exceed the width ({cfg.d_sae})")

    def activate(self, pre, sae):
        import torch

        values, indices = pre.topk(sae.cfg.k, dim=-1, sorted=False)
        return torch.zeros_like(pre).scatter(-1, indices, values.relu())

    def training_config(self, common: dict, k, sparsity: float):
        import sae_lens

        return sae_lens.TopKTrainingSAEConfig(k=k, **common)
