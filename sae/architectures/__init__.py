"""SAE architectures, one per file, registered by name (SAELens's `register_sae_class` style).

Each class carries how it encodes, which parameters it adds, its training defaults and how it trains.
The dictionary, the SAE-Lens format reader, the trainer and the CLI look an architecture up here; adding
one is adding one file to this folder.
"""

from __future__ import annotations

import importlib
import pkgutil

from sleuth.sae.architectures.base import Architecture
from sleuth.sae.errors import SaeError

_REGISTRY: dict[str, Architecture] = {}


def register(cls: type[Architecture]) -> type[Architecture]:
    if cls.name in _REGISTRY:
        raise ValueError(f"SAE architecture '{cls.name}' registered twice")
    _REGISTRY[cls.name] = cls()
    return cls


def _discover() -> dict[str, Architecture]:
    if not _REGISTRY:
        for module in pkgutil.iter_modules(__path__):
            if module.name != "base":
                importlib.import_module(f"{__name__}.{module.name}")
    return _REGISTRY


def architecture_names() -> list[str]:
    return sorted(_discover())


def get_architecture(name: str) -> Architecture:
    found = _discover().get(name)
    if found is None:
        raise SaeError(f"unknown SAE architecture '{name}'; sleuth knows {', '.join(architecture_names())}")
    return found


__all__ = ["Architecture", "architecture_names", "get_architecture", "register"]
