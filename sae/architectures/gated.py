"""gated (Rajamanoharan et al. 2024): a gate decides which latents fire, a magnitude path (sharing W_enc,
rescaled by exp(r_mag)) how strongly; no b_enc. As SAE-Lens's GatedSAE:

    f = [x' @ W_enc + b_gate > 0] · relu(x' @ (W_enc · exp(r_mag)) + b_mag)
"""

from sleuth.sae.architectures import register
from sleuth.sae.architectures.base import Architecture
from sleuth.sae.errors import SaeError


@register
class Gated(Architecture):
    name = "gated"
    default_sparsity = 5.0
    sparsity_penalty = "L1"
    has_b_enc = False

    def extra_parameters(self, cfg):
        return {"b_gate": (cfg.d_sae,), "b_mag": (cfg.d_sae,), "r_mag": (cfg.d_sae,)}

    def check(self, cfg) -> None:
        if cfg.rescale_acts_by_decoder_norm:
            raise SaeError("a gated SAE cannot rescale activations by decoder norm")

    def encode(self, x, sae):
        gate = (x @ sae.W_enc + sae.b_gate > 0).to(x.dtype)
        return gate * (x @ (sae.W_enc * sae.r_mag.exp()) + sae.b_mag).relu()

    def training_config(self, common: dict, k, sparsity: float):
        import sae_lens

        return sae_lens.GatedTrainingSAEConfig(l1_coefficient=sparsity, **common)
