"""Deterministic parsing of a question: the components it names and its shape.

The LLM never has to copy a site string: "layer 4 head 5", "L4H5", "head 4.5",
"neuron 100 in layer 3", "MLP neuron 3.1021" and full site strings are read here,
and checked against the loaded target (out-of-range raises SiteError).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from sleuth.target import Site

_SYNTHETIC = re.compile(r"\bsynthetic\.[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*")
_SITE = re.compile(r"\b(?:blocks\.\d+\.[a-z][a-z0-9_.]*?|hook_embed|ln_final\.hook_normalized)"
                   r"(?:@[A-Za-z0-9_.\-]+)?(?:\[\d+\])?(?:~[A-Za-z0-9_.\-]+)?(?=[\s,;:?!)'\"]|\.(?:\s|$)|$)")
_SHORT = re.compile(r"\bL(\d+)\s*\.?\s*([HN])\s*(\d+)\b", re.IGNORECASE)
_LAYER_THEN = re.compile(r"\blayer\s+(\d+)(?:'s)?,?\s+(?:attention\s+)?(head|neuron|mlp neuron)\s+(\d+)", re.IGNORECASE)
_THEN_LAYER = re.compile(r"\b(?:attention\s+|mlp\s+)?(head|neuron)\s+(\d+)\s+(?:in|of|at)\s+layer\s+(\d+)", re.IGNORECASE)
_DOTTED = re.compile(r"\b(?:(mlp|attention)\s+)?(head|neuron)\s+(\d+)\.(\d+)\b", re.IGNORECASE)
_LAYER = re.compile(r"\blayer\s+(\d+)\b", re.IGNORECASE)
_LATENT = re.compile(r"\b(?:SAE\s+)?(?:latent|feature)\s+#?(\d+)\b", re.IGNORECASE)
_LATENT_WORDS = re.compile(r"\b(?:latents?|features?)\b", re.IGNORECASE)
_DOUBLE_QUOTED = re.compile(r"[\"“]([^\"”]+)[\"”]")
_SINGLE_QUOTED = re.compile(r"(?<![A-Za-z])['‘]([^'’]+)['’](?![A-Za-z])")
_HEAD_KINDS = {"induction": "induction", "previous token": "previous_token", "previous-token": "previous_token",
               "duplicate": "duplicate_token", "successor": "successor"}
_BEHAVIOUR_WORDS = ("answer", "predict", "output", "say", "complete", "choose")

QuestionKind = Literal["component", "search", "behaviour"]


class QuestionShape(BaseModel):
    kind: QuestionKind
    components: list[str] = []  # canonical site strings, in the order named
    unit: Literal["head", "neuron", "latent"] | None = None  # what a search looks for
    sae: str | None = None  # the loaded SAE a latent search ranks
    head_kind: str | None = None  # a head_scan kind named in the question
    layer: int | None = None  # a layer a search is restricted to
    concept: str | None = None  # what a neuron search looks for
    prompt: str | None = None  # behaviour: the prompt ...
    answer: str | None = None  # ... and the answer it produces


def _head(layer: int, head: int) -> Site:
    return Site(hook="attn.hook_z", layer=layer, index=head)


def _neuron(layer: int, neuron: int) -> Site:
    return Site(hook="mlp.hook_post", layer=layer, index=neuron)


def find_components(question: str, sae_site: Site | None = None) -> list[Site]:
    """Every component named in the question, in order of appearance, without repeats.
    With an SAE loaded (`sae_site` = its site@name), "latent 77" / "feature 77" name its latents."""
    found: list[tuple[int, Site]] = []
    if sae_site is not None:
        found += [(m.start(), sae_site.with_index(int(m.group(1)))) for m in _LATENT.finditer(question)]
    for m in _SITE.finditer(question):
        found.append((m.start(), Site.parse(m.group(0))))
    for m in _SYNTHETIC.finditer(question):
        found.append((m.start(), Site.parse(m.group(0))))
    for m in _SHORT.finditer(question):
        layer, kind, index = int(m.group(1)), m.group(2).upper(), int(m.group(3))
        found.append((m.start(), _head(layer, index) if kind == "H" else _neuron(layer, index)))
    for m in _LAYER_THEN.finditer(question):
        layer, kind, index = int(m.group(1)), m.group(2).lower(), int(m.group(3))
        found.append((m.start(), _head(layer, index) if kind == "head" else _neuron(layer, index)))
    for m in _THEN_LAYER.finditer(question):
        kind, index, layer = m.group(1).lower(), int(m.group(2)), int(m.group(3))
        found.append((m.start(), _head(layer, index) if kind == "head" else _neuron(layer, index)))
    for m in _DOTTED.finditer(question):
        kind, layer, index = m.group(2).lower(), int(m.group(3)), int(m.group(4))
        found.append((m.start(), _head(layer, index) if kind == "head" else _neuron(layer, index)))
    seen, ordered = set(), []
    for _, site in sorted(found, key=lambda x: x[0]):
        if site not in seen:
            seen.add(site)
            ordered.append(site)
    return ordered


def parse_question(question: str, target=None) -> QuestionShape:
    """The question's shape; components are validated against `target` when given."""
    sae = next(iter(target.saes), None) if target is not None else None
    sae_site = target.sae_sites[sae].model_copy(update={"sae": sae}) if sae else None
    sites = find_components(question, sae_site)
    if target is not None:
        sites = [target.check_site(s) for s in sites]
    if sites:
        return QuestionShape(kind="component", components=[str(s) for s in sites])
    lower = question.lower()
    prompt = next(iter(_DOUBLE_QUOTED.findall(question)), None)
    answer = next(iter(_SINGLE_QUOTED.findall(question)), None)
    if prompt and answer and any(w in lower for w in _BEHAVIOUR_WORDS):
        return QuestionShape(kind="behaviour", prompt=prompt, answer=answer)
    layer_match = _LAYER.search(question)
    layer = int(layer_match.group(1)) if layer_match else None
    if target is not None and layer is not None:
        target.check_site(Site(hook="mlp.hook_post", layer=layer))
    head_kind = next((v for k, v in _HEAD_KINDS.items() if k in lower), None)
    if "head" in lower or head_kind:
        return QuestionShape(kind="search", unit="head", head_kind=head_kind, layer=layer)
    concept = _concept(question)
    if sae and _LATENT_WORDS.search(question):
        return QuestionShape(kind="search", unit="latent", sae=sae, concept=concept)
    return QuestionShape(kind="search", unit="neuron", layer=layer, concept=concept)


def _concept(question: str) -> str:
    m = re.search(r"(?:responds? to|fires? on|detects?|encodes?|about|represents?)\s+(.+?)[?.!]*$", question,
                  re.IGNORECASE)
    return (m.group(1) if m else question).strip()
