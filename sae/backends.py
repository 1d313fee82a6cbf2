"""Training backends: SAE-Lens's SAETrainer for SAEs, a small own loop for transcoders.

SAE-Lens trains standard (L1), TopK and JumpReLU SAEs through `SAETrainer.step`,
its public seam for outside coordinators; sleuth feeds it activations and owns
the progress bar and the checkpoints. SAE-Lens has no transcoder trainer (its
transcoders are inference-only), and a TopK transcoder from eai-sparsify has no
SAE-Lens format to be saved in, so transcoders are trained here: a ReLU encoder
on the MLP input, a decoder onto the MLP output, MSE + L1·‖W_dec‖ as in SAE-Lens.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from sleuth.sae.dictionary import SaeConfig, SparseDictionary
from sleuth.sae.format import load_dictionary


@dataclass
class StepStats:
    loss: float
    fvu: float
    l0: float
    dead: int


def _fvu(x: torch.Tensor, recon: torch.Tensor) -> float:
    return float((recon - x).pow(2).sum() / (x - x.mean(0)).pow(2).sum().clamp(min=1e-12))


class SaeLensBackend:
    """Every architecture with an SAE-Lens training config (standard, topk, jumprelu, gated) through SAETrainer."""

    def __init__(self, arch, d_in: int, width: int, k: int | None, sparsity: float, lr: float,
                 batch: int, total_tokens: int, seed: int, dead_window_tokens: int):
        import sae_lens
        from sae_lens.config import SAETrainerConfig

        torch.manual_seed(seed)
        common = dict(d_in=d_in, d_sae=width, dtype="float32", device="cpu",
                      normalize_activations="expected_average_only_in")
        cfg = arch.training_config(common, k, sparsity)  # arch: a sleuth.sae.architectures.Architecture
        self.sae = sae_lens.TrainingSAE.from_dict(cfg.to_dict())
        trainer_cfg = SAETrainerConfig(
            total_training_samples=total_tokens, train_batch_size_samples=batch, lr=lr, lr_end=lr / 10,
            lr_warm_up_steps=max(1, total_tokens // batch // 20), lr_decay_steps=max(1, total_tokens // batch // 5), lr_scheduler_name="constant",
            dead_feature_window=max(1, dead_window_tokens // batch), feature_sampling_window=10**9, device="cpu")
        self.trainer = sae_lens.SAETrainer(trainer_cfg, self.sae, data_provider=iter(()))

    @property
    def samples(self) -> int:
        return self.trainer.n_training_samples

    def step(self, x: torch.Tensor, y: torch.Tensor | None) -> StepStats:
        scaler = self.trainer.activation_scaler
        if scaler.scaling_factor is None:  # inputs scaled to norm √d_in; folded into the weights on export
            scaler.scaling_factor = float(self.sae.cfg.d_in ** 0.5 / x.norm(dim=-1).mean())
            with torch.no_grad():  # start the decoder bias at the data mean, as SAE-Lens's runner does
                self.sae.b_dec.copy_(x.mean(0) * scaler.scaling_factor)
        out = self.trainer.step(x)
        self.trainer.n_training_steps += 1
        with torch.no_grad():
            l0 = float(out.feature_acts.bool().float().sum(-1).mean())
            dead = int(self.trainer.dead_neurons.sum())
            return StepStats(float(out.loss), _fvu(out.sae_in, out.sae_out), l0, dead)

    def save(self, path: Path) -> None:
        self.sae.save_model(str(path))
        self.trainer.save_trainer_state(path)

    def load(self, path: Path) -> None:
        self.sae.load_weights_from_checkpoint(path)
        self.trainer.load_trainer_state(path)

    def export(self) -> SparseDictionary:
        """The inference SAE, written by SAE-Lens itself and read back by sleuth."""
        scaler = self.trainer.activation_scaler
        if scaler.scaling_factor is not None:
            self.sae.fold_activation_norm_scaling_factor(scaler.scaling_factor)
            scaler.scaling_factor = None
        with tempfile.TemporaryDirectory() as tmp:
            self.sae.save_inference_model(tmp)
            return load_dictionary(tmp)


class TranscoderBackend:
    """ReLU transcoder: MLP input -> MLP output, Adam, MSE + L1 weighted by decoder norms."""

    def __init__(self, d_in: int, d_out: int, width: int, sparsity: float, lr: float, batch: int,
                 total_tokens: int, seed: int, dead_window_tokens: int):
        torch.manual_seed(seed)
        cfg = SaeConfig(architecture="transcoder", d_in=d_in, d_sae=width, d_out=d_out, apply_b_dec_to_input=False)
        self.sae = SparseDictionary(cfg)
        with torch.no_grad():
            self.sae.W_dec.copy_(torch.randn(width, d_out) * (0.1 / math.sqrt(d_out)))
            self.sae.W_enc.copy_(self.sae.W_dec.T.clone() * (d_out / d_in) ** 0.5)
        self.sae.train().requires_grad_(True)
        self.sparsity = sparsity
        self.optimizer = torch.optim.Adam(self.sae.parameters(), lr=lr)
        steps = max(1, total_tokens // batch)
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: min(1.0, (s + 1) / max(1, steps // 20)) * min(1.0, (steps - s) / max(1, steps // 5)))
        self.since_fired = torch.zeros(width)
        self.dead_window = max(1, dead_window_tokens)
        self.n_samples = 0

    @property
    def samples(self) -> int:
        return self.n_samples

    def step(self, x: torch.Tensor, y: torch.Tensor | None) -> StepStats:
        acts = self.sae.encode(x)
        recon = self.sae.decode(acts)
        mse = (recon - y).pow(2).sum(-1).mean()
        l1 = (acts * self.sae.W_dec.norm(dim=-1)).sum(-1).mean()
        loss = mse + self.sparsity * l1
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.sae.parameters(), 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.schedule.step()
        self.n_samples += len(x)
        with torch.no_grad():
            fired = (acts > 0).any(0)
            self.since_fired += len(x)
            self.since_fired[fired] = 0
            return StepStats(float(loss), _fvu(y, recon), float((acts > 0).float().sum(-1).mean()),
                             int((self.since_fired > self.dead_window).sum()))

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        torch.save({"sae": self.sae.state_dict(), "optimizer": self.optimizer.state_dict(),
                    "schedule": self.schedule.state_dict(), "since_fired": self.since_fired,
                    "n_samples": self.n_samples}, path / "transcoder_state.pt")

    def load(self, path: Path) -> None:
        state = torch.load(path / "transcoder_state.pt")
        self.sae.load_state_dict(state["sae"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        self.since_fired = state["since_fired"]
        self.n_samples = state["n_samples"]

    def export(self) -> SparseDictionary:
        self.sae.eval().requires_grad_(False)
        return self.sae
