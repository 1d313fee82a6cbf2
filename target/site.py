"""Site: one TransformerLens-style name for every mediator, on any architecture.

Canonical text forms (parse and print round-trip exactly):

    hook_embed                          blocks.3.hook_resid_post
    blocks.3.attn.hook_z[5]             head 5 of layer 3
    blocks.3.mlp.hook_post[1021]        neuron 1021 of layer 3
    blocks.3.hook_resid_post[12]        residual dimension 12
    blocks.6.hook_resid_post@res-6[77]  latent 77 of SAE "res-6"
    blocks.6.ln2.hook_normalized@tc-6[3]  latent 3 of transcoder "tc-6" (reads the MLP input)
    blocks.6.hook_resid_post~my-probe   a named direction
    ln_final.hook_normalized            logits
    synthetic.find.u07                  a synthetic (planted) component registered on the target

Shorthands accepted by `Site.parse`: L4H5 (head), L3N100 (MLP neuron).
"""

from __future__ import annotations

import re
from enum import Enum

from pydantic import BaseModel, ConfigDict, model_validator

from sleuth.errors import SiteError


class IndexKind(str, Enum):
    head = "head"
    neuron = "neuron"
    unit = "unit"  # one dimension of the residual stream or of a logit vector


# hook name -> what an index into it selects (None: not indexable)
BLOCK_HOOKS: dict[str, IndexKind | None] = {
    "hook_resid_pre": IndexKind.unit,
    "attn.hook_q": IndexKind.head,
    "attn.hook_k": IndexKind.head,
    "attn.hook_v": IndexKind.head,
    "attn.hook_z": IndexKind.head,
    "attn.hook_pattern": IndexKind.head,
    "attn.hook_attn_out": IndexKind.unit,
    "hook_resid_mid": IndexKind.unit,
    "ln2.hook_normalized": IndexKind.unit,  # the MLP's (normalised) input, what transcoders read
    "mlp.hook_pre": IndexKind.neuron,
    "mlp.hook_post": IndexKind.neuron,
    "mlp.hook_mlp_out": IndexKind.unit,
    "hook_resid_post": IndexKind.unit,
}
SYNTHETIC = "synthetic"  # hook of synthetic components: their values come from a rule, not from the model
GLOBAL_HOOKS: dict[str, IndexKind | None] = {
    "hook_embed": IndexKind.unit,
    "ln_final.hook_normalized": IndexKind.unit,
    "logits": IndexKind.unit,
}
# Execution order inside a block; global hooks sort before or after every block.
BLOCK_ORDER = {name: i for i, name in enumerate(BLOCK_HOOKS)}
GLOBAL_ORDER = {"hook_embed": (-1, 0), "ln_final.hook_normalized": (10**9, 0), "logits": (10**9, 1)}

_NAME = r"[A-Za-z0-9_.\-]+"
_SITE_RE = re.compile(
    rf"^(?:blocks\.(?P<layer>0|[1-9]\d*)\.)?(?P<hook>[a-z][a-z0-9_.]*?)"
    rf"(?:@(?P<sae>{_NAME}))?(?:\[(?P<index>0|[1-9]\d*)\])?(?:~(?P<direction>{_NAME}))?$"
)
_SYNTHETIC_RE = re.compile(rf"^synthetic\.(?P<name>[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*)$")
_SHORT_RE = re.compile(r"^L(?P<layer>\d+)(?P<kind>[HN])(?P<index>\d+)$")


class Site(BaseModel):
    """A hook point plus, optionally, one component inside it."""

    model_config = ConfigDict(frozen=True)

    hook: str
    layer: int | None = None
    index: int | None = None  # head, neuron, unit or SAE latent
    sae: str | None = None
    direction: str | None = None
    name: str | None = None  # a synthetic component's name (hook "synthetic")

    @model_validator(mode="after")
    def _check(self) -> "Site":
        if self.hook == SYNTHETIC:
            if not self.name or any(v is not None for v in (self.layer, self.index, self.sae, self.direction)):
                raise SiteError("a synthetic site is synthetic.<suite>.<name>, with no layer, index, SAE or direction")
            return self
        if self.name is not None:
            raise SiteError(f"only synthetic sites have a name, not '{self.hook}'")
        if self.hook in BLOCK_HOOKS:
            if self.layer is None:
                raise SiteError(f"site '{self.hook}' needs a layer: blocks.L.{self.hook}")
        elif self.hook in GLOBAL_HOOKS:
            if self.layer is not None:
                raise SiteError(f"site '{self.hook}' is not inside a block; drop 'blocks.{self.layer}.'")
        else:
            known = ", ".join([*GLOBAL_HOOKS, *(f"blocks.L.{h}" for h in BLOCK_HOOKS)])
            raise SiteError(f"unknown hook '{self.hook}'; known hooks: {known}")
        if self.layer is not None and self.layer < 0:
            raise SiteError(f"layer must be >= 0, got {self.layer}")
        if self.index is not None and self.index < 0:
            raise SiteError(f"index must be >= 0, got {self.index}")
        if self.direction is not None and (self.index is not None or self.sae is not None):
            raise SiteError("a direction site takes no [index] and no @sae")
        if self.sae is not None and self.hook == "attn.hook_pattern":
            raise SiteError("an SAE cannot be attached to attn.hook_pattern")
        return self

    # ---- text form -------------------------------------------------------
    @classmethod
    def parse(cls, text: str) -> "Site":
        text = text.strip()
        synthetic = _SYNTHETIC_RE.match(text)
        if synthetic:
            return cls(hook=SYNTHETIC, name=synthetic["name"])
        if text.startswith("synthetic."):
            raise SiteError(f"malformed synthetic site '{text}'; expected synthetic.<suite>.<name>")
        short = _SHORT_RE.match(text)
        if short:
            hook = "attn.hook_z" if short["kind"] == "H" else "mlp.hook_post"
            return cls(hook=hook, layer=int(short["layer"]), index=int(short["index"]))
        match = _SITE_RE.match(text)
        parts = text.split(".")
        if len(parts) > 2 and parts[0] == "blocks" and not parts[1].isdigit():
            raise SiteError(f"malformed site '{text}': layer '{parts[1]}' must be an integer")
        if not match:
            raise SiteError(
                f"malformed site '{text}'; expected e.g. blocks.3.mlp.hook_post[1021], "
                "blocks.3.attn.hook_z[5], hook_embed, L4H5 or L3N100"
            )
        layer = match["layer"]
        index = match["index"]
        return cls(
            hook=match["hook"],
            layer=int(layer) if layer is not None else None,
            index=int(index) if index is not None else None,
            sae=match["sae"],
            direction=match["direction"],
        )

    def __str__(self) -> str:
        if self.hook == SYNTHETIC:
            return f"synthetic.{self.name}"
        text = self.hook if self.layer is None else f"blocks.{self.layer}.{self.hook}"
        if self.sae is not None:
            text += f"@{self.sae}"
        if self.index is not None:
            text += f"[{self.index}]"
        if self.direction is not None:
            text += f"~{self.direction}"
        return text

    # ---- structure -------------------------------------------------------
    @property
    def index_kind(self) -> str | None:
        """What `index` selects: head, neuron, unit or latent."""
        if self.sae is not None:
            return "latent"
        if self.hook == SYNTHETIC:
            return "synthetic"
        kind = BLOCK_HOOKS.get(self.hook) or GLOBAL_HOOKS.get(self.hook)
        return kind.value if kind else None

    @property
    def is_component(self) -> bool:
        """One scalar component (a neuron, head, unit, latent, direction or synthetic unit), not a whole site."""
        return self.index is not None or self.direction is not None or self.hook == SYNTHETIC

    @property
    def base(self) -> "Site":
        """The whole hook point, with no component selected (a synthetic site is its own base)."""
        if self.hook == SYNTHETIC:
            return self
        return Site(hook=self.hook, layer=self.layer)

    @property
    def order(self) -> tuple[int, int]:
        """Execution order key: sites that run earlier sort first."""
        if self.hook == SYNTHETIC:
            return (-2, 0)
        if self.layer is None:
            return GLOBAL_ORDER[self.hook]
        return (self.layer, BLOCK_ORDER[self.hook])

    @property
    def short(self) -> str:
        """L4H5 for a head of hook_z, L3N100 for an MLP neuron; else the full name."""
        if self.sae is None and self.direction is None and self.index is not None:
            if self.hook == "attn.hook_z":
                return f"L{self.layer}H{self.index}"
            if self.hook == "mlp.hook_post":
                return f"L{self.layer}N{self.index}"
        return str(self)

    def with_index(self, index: int | None) -> "Site":
        return self.model_copy(update={"index": index})
