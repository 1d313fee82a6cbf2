"""The registry of known dictionaries: a packaged YAML parsed once into pydantic entries."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sleuth.errors import SiteError
from sleuth.sae.architectures import get_architecture
from sleuth.sae.dictionary import SaeError
from sleuth.target.site import Site


class TrainRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    width: int = Field(gt=0)
    k: int = 32
    tokens: int = Field(gt=0)
    lr: float = 1e-3
    sparsity: float | None = None
    seed: int = 0


class SaeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    model: str
    site: str
    architecture: str  # a registered architecture (sleuth.sae.architectures)
    path: str | None = None
    repo: str | None = None
    neuronpedia_id: str | None = None
    default: bool = False
    description: str = ""
    train: TrainRecipe | None = None

    @model_validator(mode="after")
    def _check(self) -> "SaeEntry":
        if (self.path is None) == (self.repo is None):
            raise ValueError(f"SAE '{self.name}' needs exactly one of path or repo")
        Site.parse(self.site)
        get_architecture(self.architecture)
        return self

    def local_path(self, home: Path) -> Path | None:
        return Path(self.path.format(home=home)).expanduser() if self.path else None


class SaeRegistry:
    def __init__(self):
        self.entries: dict[str, SaeEntry] = {}

    def register(self, entry: SaeEntry) -> None:
        if entry.name in self.entries:
            raise SaeError(f"an SAE named '{entry.name}' is already registered")
        self.entries[entry.name] = entry

    def get(self, name: str) -> SaeEntry:
        if name not in self.entries:
            raise SaeError(f"no SAE named '{name}' is registered (known: {', '.join(self.entries)}); "
                           "or give the path of an SAE-Lens folder")
        return self.entries[name]

    def default_for(self, model: str) -> SaeEntry | None:
        return next((e for e in self.entries.values() if e.default and e.model == model), None)

    @classmethod
    def from_yaml(cls, text: str, source: str = "registry") -> "SaeRegistry":
        try:
            raw = yaml.safe_load(text) or []
        except yaml.YAMLError as exc:
            raise SaeError(f"malformed {source}: {str(exc).splitlines()[0]}") from None
        if not isinstance(raw, list):
            raise SaeError(f"malformed {source}: expected a list of SAE entries")
        registry = cls()
        for item in raw:
            try:
                registry.register(SaeEntry.model_validate(item))
            except ValidationError as exc:
                error = exc.errors()[0]
                where = ".".join(str(p) for p in error["loc"]) or "entry"
                raise SaeError(f"malformed {source}: {where}: {error['msg']}") from None
            except SiteError as exc:
                raise SaeError(f"malformed {source}: entry {item.get('name', '?')}: {exc}") from None
        return registry


@lru_cache(maxsize=1)
def known_saes() -> SaeRegistry:
    """The packaged registry (parsed once per process)."""
    text = resources.files("sleuth.sae").joinpath("known_saes.yaml").read_text()
    return SaeRegistry.from_yaml(text, "known_saes.yaml")
