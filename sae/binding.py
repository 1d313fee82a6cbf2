"""Binding a dictionary to a loaded target: which site it reads, and does it fit."""

from __future__ import annotations

import hashlib

from sleuth.errors import SiteError
from sleuth.sae.dictionary import SaeError, SparseDictionary
from sleuth.target.site import Site

# The MLP output a transcoder of layer L writes, by the input site it reads.
TRANSCODER_INPUTS = ("ln2.hook_normalized", "hook_resid_mid")


def sae_site(sae: SparseDictionary) -> Site:
    """The whole site named by the dictionary's `metadata.hook_name`."""
    hook_name = sae.cfg.hook_name
    if not hook_name:
        raise SaeError("the SAE's cfg.json has no metadata.hook_name, so sleuth cannot tell which site it reads")
    try:
        site = Site.parse(hook_name)
    except SiteError as exc:
        raise SaeError(f"the SAE's hook_name '{hook_name}' is not a sleuth site: {exc}") from None
    if site.index is not None or site.sae is not None or site.direction is not None:
        raise SaeError(f"the SAE's hook_name '{hook_name}' must be a whole site")
    return site


def bind_site(target, name: str, sae: SparseDictionary) -> Site:
    """Check `sae` against `target` and return the site it reads."""
    site = target.check_site(sae_site(sae))
    if site.hook == "attn.hook_pattern":
        raise SaeError("an SAE cannot read attn.hook_pattern")
    width = target.site_width(site)
    if sae.cfg.d_in != width:
        raise SaeError(f"SAE '{name}' has d_in {sae.cfg.d_in} but {site} on {target.name} is {width} wide")
    if sae.is_transcoder:
        if site.hook not in TRANSCODER_INPUTS:
            raise SaeError(f"transcoder '{name}' must read an MLP input ({', '.join(TRANSCODER_INPUTS)}), not {site.hook}")
        if sae.cfg.width_out != target.shape.d_model:
            raise SaeError(f"transcoder '{name}' has d_out {sae.cfg.width_out}; the MLP output is {target.shape.d_model} wide")
    return site


def attach(target, name: str, sae: SparseDictionary) -> Site:
    """Check `sae` against `target` (site, widths) and make it addressable as `<its site>@name[latent]`."""
    return target.register_sae(name, sae, bind_site(target, name, sae), fingerprint(sae))


def fingerprint(sae: SparseDictionary) -> str:
    digest = hashlib.sha256()
    for param in (sae.W_enc, sae.b_enc, sae.W_dec):
        digest.update(param.detach().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def attached(target, name: str) -> tuple[SparseDictionary, Site]:
    """A loaded SAE and the site it reads; SiteError naming the loaded ones otherwise."""
    if name not in target.saes:
        known = ", ".join(target.saes) or "none; load one with --sae"
        raise SiteError(f"no SAE named '{name}' is loaded (loaded: {known})")
    return target.saes[name], target.sae_sites[name]
