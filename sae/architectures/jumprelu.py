"""jumprelu: f = relu(hidden_pre) · [hidden_pre > threshold], a learned threshold per latent; an L0 penalty."""

from sleuth.sae.architectures import register
from sleuth.sae.architectures.base import Architecture


@register
class JumpReLU(Architecture):
    name = "jumprelu"
    default_sparsity = 1.0
    sparsity_penalty = "L0"

    def extra_parameters(self, cfg):
        return {"threshold": (cfg.d_sae,)}

    def activate(self, pre, sae):
        return pre.relu() * (pre > sae.threshold).to(pre.dtype)

    def training_config(self, common: dict, k, sparsity: float):
        import sae_lens

        return sae_lens.JumpReLUTrainingSAEConfig(l0_coefficient=sparsity, **common)
