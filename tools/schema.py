"""JSON schemas for tools, specialised to a loaded target.

Fields named layer/head/neuron get bounds; fields named site get a pattern
that only admits hook points that exist on the model (and SAEs that are loaded);
fields named sae become an enum of the loaded SAEs.
"""

from __future__ import annotations

import copy
import re

from sleuth.target import Target

_SITE_BOUNDED = {"layer": "n_layers", "layers": "n_layers", "head": "n_heads", "heads": "n_heads",
                 "neuron": "d_mlp", "neurons": "d_mlp"}


def site_pattern(target: Target) -> str:
    layers = "|".join(str(i) for i in range(target.shape.n_layers))
    block = "|".join(re.escape(h) for h in target.adapter.block_hooks)
    saes = "|".join(re.escape(name) for name in target.saes)
    sae = rf"(@({saes}))?" if saes else ""
    planted = "|".join(re.escape(f"synthetic.{name}") for name in target.synthetic)
    synthetic = rf"|^({planted})$" if planted else ""
    return (rf"^(hook_embed|ln_final\.hook_normalized|logits|blocks\.({layers})\.({block}))"
            rf"{sae}(\[\d+\])?(~[A-Za-z0-9_.\-]+)?$|^L\d+[HN]\d+${synthetic}")


def _bound(node: dict, limit: int) -> None:
    target = node["items"] if node.get("type") == "array" and "items" in node else node
    for option in target.get("anyOf", [target]):
        if option.get("type") == "integer":
            option["minimum"] = 0
            option["maximum"] = limit - 1


def specialise(schema: dict, target: Target) -> dict:
    schema = copy.deepcopy(schema)
    pattern = site_pattern(target)

    def walk(node):
        if isinstance(node, dict):
            for name, prop in node.get("properties", {}).items():
                if name in _SITE_BOUNDED:
                    _bound(prop, getattr(target.shape, _SITE_BOUNDED[name]))
                elif name == "sae" and prop.get("type") == "string" and target.saes:
                    prop["enum"] = sorted(target.saes)
                elif name in ("site", "sites", "components"):
                    holder = prop["items"] if prop.get("type") == "array" else prop
                    if holder.get("type") == "string":
                        holder["pattern"] = pattern
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def tool_schema(spec, target: Target | None = None) -> dict:
    schema = spec.input_model.model_json_schema()
    return specialise(schema, target) if target is not None else schema
