"""transcoder: reads the MLP input and writes the MLP output; f = relu(hidden_pre), L1 weighted by decoder
norms. SAE-Lens has no transcoder trainer, so sleuth trains it (sleuth.sae.backends.TranscoderBackend)."""

from sleuth.sae.architectures import register
from sleuth.sae.architectures.base import Architecture
from sleuth.sae.errors import SaeError


@register
class Transcoder(Architecture):
    name = "transcoder"
    default_sparsity = 5.0
    sparsity_penalty = "L1"
    transcoder = True

    def check(self, cfg) -> None:
        if not cfg.d_out:
            raise SaeError("a transcoder needs d_out in cfg.json")
        if cfg.apply_b_dec_to_input:
            raise SaeError("a transcoder cannot apply b_dec to its input (apply_b_dec_to_input must be false)")
