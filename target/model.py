"""Target: a loaded model with its tokenizer, adapter, shape and sites."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from sleuth.errors import SiteError
from sleuth.target.adapters import adapter_for
from sleuth.target.interventions import Edit
from sleuth.target.runner import RunOutput, run_traced
from sleuth.target.site import BLOCK_HOOKS, SYNTHETIC, Site
from sleuth.target.synthetic import SyntheticUnit, synthetic_values


@dataclass
class Batch:
    input_ids: torch.Tensor  # [batch, pos], right-padded
    attention_mask: torch.Tensor  # [batch, pos], 1 for real tokens

    @property
    def lengths(self) -> torch.Tensor:
        return self.attention_mask.sum(dim=1)

    def __len__(self) -> int:
        return self.input_ids.shape[0]


NNSIGHT_SETTINGS = Path(__file__).with_name("nnsight.yaml")


def _nnsight():
    """nnsight's NNsight class, imported without its `.save` mount on every object (target/nnsight.yaml): the mount
    breaks classes defined after it ("Attribute 'save' is missing its type annotation" from anyio, which
    inspect-ai's log writer and async HTTP use; in Ray workers too). sleuth calls nnsight.save(value)."""
    os.environ.setdefault("NNSIGHT_CONFIG", str(NNSIGHT_SETTINGS))
    from nnsight import NNsight

    return NNsight


class Target:
    def __init__(self, name: str, model, tokenizer, source: str = "", load_seconds: float = 0.0):
        NNsight = _nnsight()

        self.name = name
        self.model = model
        self.tokenizer = tokenizer
        self.source = source
        self.load_seconds = load_seconds
        if getattr(model.config, "_attn_implementation", "eager") != "eager":
            model.set_attn_implementation("eager")  # exposes attention patterns; same numerics for every run
        self.adapter = adapter_for(model)
        self.shape = self.adapter.shape
        self.nn = NNsight(model)
        self.directions: dict[str, torch.Tensor] = {}
        self.saes: dict = {}  # name -> SparseDictionary
        self.sae_sites: dict[str, Site] = {}  # name -> the whole site it reads
        self.sae_fingerprints: dict[str, str] = {}  # name -> weights hash (keys cached scans)
        self.sae_sources: dict[str, str] = {}  # name -> how it was asked for (registry name or folder)
        self.synthetic: dict[str, SyntheticUnit] = {}  # name -> a planted unit (values from a rule, not the model)
        self._pieces: dict[int, str] = {}  # token id -> its text (synthetic units read tokens as text)

    # ---- sites -----------------------------------------------------------
    def hook_sites(self) -> list[Site]:
        """Every hook point of this model, in execution order."""
        sites = [Site(hook="hook_embed")]
        for layer in range(self.shape.n_layers):
            sites += [Site(hook=h, layer=layer) for h in BLOCK_HOOKS if h in self.adapter.block_hooks]
        return sites + [Site(hook="ln_final.hook_normalized"), Site(hook="logits")]

    def index_range(self, site: Site) -> int:
        """How many components an index can select at this site."""
        s = self.shape
        kind = site.index_kind
        if kind == "head":
            return s.n_kv_heads if site.hook in ("attn.hook_k", "attn.hook_v") else s.n_heads
        if kind == "neuron":
            return s.d_mlp
        return s.vocab_size if site.hook == "logits" else s.d_model

    def check_site(self, site: Site | str) -> Site:
        """Parse and validate a site against this model; raise SiteError with the valid range."""
        site = Site.parse(site) if isinstance(site, str) else site
        if site.hook == SYNTHETIC:
            if site.name not in self.synthetic:
                known = ", ".join(f"synthetic.{n}" for n in self.synthetic) or "none"
                raise SiteError(f"no synthetic component '{site}' is registered on {self.name} (registered: {known})")
            return site
        s = self.shape
        if site.layer is not None and not 0 <= site.layer < s.n_layers:
            raise SiteError(f"layer {site.layer} out of range in '{site}': {self.name} has layers 0..{s.n_layers - 1}")
        if site.hook in BLOCK_HOOKS and site.hook not in self.adapter.block_hooks:
            raise SiteError(f"site '{site.base}' does not exist on {s.arch} models (parallel residual)")
        if site.sae is not None:
            self._check_sae_site(site)
        if site.direction is not None and site.direction not in self.directions:
            known = ", ".join(self.directions) or "none"
            raise SiteError(f"no direction named '{site.direction}' is registered (known: {known})")
        if site.index is not None and site.sae is None:
            limit = self.index_range(site)
            if site.index >= limit:
                raise SiteError(f"{site.index_kind} {site.index} out of range in '{site}': valid {site.index_kind}s are 0..{limit - 1}")
        return site

    def _check_sae_site(self, site: Site) -> None:
        sae = self.saes.get(site.sae)
        if sae is None:
            known = ", ".join(self.saes) or "none; load one with --sae"
            raise SiteError(f"no SAE named '{site.sae}' is loaded for {self.name} (loaded: {known})")
        home = self.sae_sites[site.sae]
        if site.base != home:
            raise SiteError(f"SAE '{site.sae}' reads {home}, not {site.base}; use {home}@{site.sae}[latent]")
        if site.index is not None and site.index >= sae.d_sae:
            raise SiteError(f"latent {site.index} out of range in '{site}': valid latents are 0..{sae.d_sae - 1}")

    def site_width(self, site: Site) -> int:
        """Width of the flattened vector at a whole site (heads·d_head for q/k/v/z)."""
        s = self.shape
        if site.hook in ("attn.hook_q", "attn.hook_z"):
            return s.n_heads * s.d_head
        if site.hook in ("attn.hook_k", "attn.hook_v"):
            return s.n_kv_heads * s.d_head
        if site.hook in ("mlp.hook_pre", "mlp.hook_post"):
            return s.d_mlp
        return s.vocab_size if site.hook == "logits" else s.d_model

    def register_sae(self, name: str, sae, site: Site, fingerprint: str) -> Site:
        """Make `sae` addressable as `<site>@name[latent]` (sleuth.sae.binding.attach checks it first)."""
        self.saes[name] = sae
        self.sae_sites[name] = site
        self.sae_fingerprints[name] = fingerprint
        return site

    def attach_synthetic(self, name: str, unit: SyntheticUnit) -> Site:
        """Register a synthetic component, addressable as `synthetic.<name>` like any neuron."""
        site = Site(hook=SYNTHETIC, name=name)
        self.synthetic[name] = unit
        return site

    def zero_heads(self, heads: list[str]) -> None:
        """Edit this copy's weights: each head (L16H0 or blocks.16.attn.hook_z[0]) stops attending and writing.
        The target's name records the edit, so its caches and evidence never mix with the original's."""
        sites = [self.check_site(h) for h in heads]
        for site in sites:
            if site.hook != "attn.hook_z" or site.index is None:
                raise SiteError(f"'{site}' is not a head; zero_heads takes heads such as L16H0")
        for site in sites:
            self.adapter.zero_head(site.layer, site.index)
        self.name = f"{self.name}+zero({','.join(s.short for s in sites)})"

    def add_direction(self, name: str, vector: torch.Tensor) -> None:
        """Register a named direction (unit-normalised) usable as `site~name`."""
        vector = torch.as_tensor(vector, dtype=torch.float32).flatten()
        if vector.numel() != self.shape.d_model:
            raise SiteError(f"direction '{name}' has {vector.numel()} dims; d_model is {self.shape.d_model}")
        self.directions[name] = vector / vector.norm().clamp(min=1e-12)

    # ---- tokens ----------------------------------------------------------
    def tokenize(self, texts: list[str], max_length: int | None = None, prepend_bos: bool = False) -> Batch:
        if isinstance(texts, str):
            texts = [texts]
        if not texts:
            raise ValueError("no texts to tokenize")
        ids = [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        bos = self.tokenizer.bos_token_id
        if prepend_bos and bos is not None:
            ids = [[bos, *x] for x in ids]
        if max_length is not None:
            ids = [x[:max_length] for x in ids]
        return self.pad(ids)

    def pad(self, ids: list[list[int]]) -> Batch:
        width = max(1, max(len(x) for x in ids))
        pad = self.tokenizer.pad_token_id or 0
        input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for i, x in enumerate(ids):
            input_ids[i, : len(x)] = torch.tensor(x, dtype=torch.long)
            mask[i, : len(x)] = 1
        return Batch(input_ids, mask)

    def str_tokens(self, ids) -> list[str]:
        pieces = self._pieces
        out = []
        for i in map(int, ids):
            if i not in pieces:
                pieces[i] = self.tokenizer.decode([i])
            out.append(pieces[i])
        return out

    def token_id(self, text: str) -> int:
        """The single token id of `text` (the first token if it splits)."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if not ids:
            raise ValueError(f"'{text}' tokenizes to nothing")
        return ids[0]

    # ---- running ---------------------------------------------------------
    def as_batch(self, inputs) -> Batch:
        if isinstance(inputs, Batch):
            return inputs
        if isinstance(inputs, torch.Tensor):
            return Batch(inputs, torch.ones_like(inputs))
        return self.tokenize(list(inputs) if not isinstance(inputs, str) else [inputs])

    def run(self, inputs, reads=(), edits=(), grad: bool = False, last_only: bool = False,
            logits: bool = True) -> RunOutput:
        """One forward pass that caches `reads` and applies `edits` (see Edit).

        last_only: compute logits only at each example's last real token (out.last_logits).
        logits=False: only the reads are wanted; the pass stops after the last of them (no logits).
        """
        batch = self.as_batch(inputs)
        reads = [self.check_site(s) for s in reads]
        edits = [e if isinstance(e, Edit) else Edit(**e) for e in edits]
        for edit in edits:
            self.check_site(edit.site)
            if edit.site.hook == SYNTHETIC:
                raise SiteError(f"{edit.site} is a synthetic component with no causal path through the model; "
                                "patching, ablation and steering cannot edit it (read it with activations or top_activations)")
            if edit.site.hook == "attn.hook_pattern":
                raise SiteError("attn.hook_pattern is read-only; edit attn.hook_z or attn.hook_q/k instead")
            if edit.site.sae is not None and self.saes[edit.site.sae].is_transcoder:
                raise SiteError(f"transcoder latents are read-only here ({edit.site}); "
                                "read them with activations, top_activations or sae_encode")
        planted = [s for s in reads if s.hook == SYNTHETIC]
        reads = [s for s in reads if s.hook != SYNTHETIC]
        if planted and not reads and not edits and not (grad or last_only):
            out = RunOutput(logits=torch.empty(0))  # nothing to run the model for
        else:
            with torch.set_grad_enabled(grad):
                out = run_traced(self.nn, self.adapter, batch.input_ids, batch.attention_mask,
                                 reads, edits, self.directions, last_only, self.saes, logits=logits)
        for site in planted:
            out.cache[site] = synthetic_values(self.synthetic[site.name], batch, self.str_tokens)
        return out

    def forward(self, inputs) -> torch.Tensor:
        """Plain HF forward (no hooks): logits [batch, pos, vocab]."""
        batch = self.as_batch(inputs)
        with torch.no_grad():
            return self.raw_logits(batch.input_ids, batch.attention_mask)

    def raw_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, keep: torch.Tensor | None = None):
        """The model's own forward under whatever raw hooks are installed (target.hooks' fast path), with the
        caller's grad mode; `keep`: only these positions' logits ([batch, len(keep), vocab])."""
        extra = {} if keep is None else {"logits_to_keep": keep}
        return self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).logits


def load_target(spec: str, home: Path) -> Target:
    """Load a target model by embedded name, path, .gguf file or HF id; `home` (SLEUTH_HOME) holds the
    dequantized-weights cache. The caller passes both: the target layer reads no settings."""
    from sleuth.target.loader import load_hf

    model, tokenizer, source, seconds = load_hf(spec, home)
    return Target(spec, model, tokenizer, source, seconds)
