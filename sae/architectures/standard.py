"""standard: f = relu(hidden_pre), trained with an L1 penalty."""

from sleuth.sae.architectures import register
from sleuth.sae.architectures.base import Architecture


@register
class Standard(Architecture):
    name = "standard"
    default_sparsity = 5.0
    sparsity_penalty = "L1"

    def training_config(self, common: dict, k, sparsity: float):
        import sae_lens

        return sae_lens.StandardTrainingSAEConfig(l1_coefficient=sparsity, **common)
