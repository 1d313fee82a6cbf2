"""Suites: folders of YAML files, each with a `components:` list. New cases need no Python.

    category: numeric            # optional; defaults to the file's name
    components:
      - name: even_numbers
        description: Fires on even numbers.
        fn: {numeric: even}
        value: 1.0               # optional
        split: test              # optional: dev (tune on it) or test (reported, never tuned on)
        noise: {p_drop: 0.1, p_spurious: 0.01, seed: 1}   # optional
        unseen: [w, ...]         # optional, token_in only: members whose windows no describer or check reads;
                                 # eval scores them apart (read-back on members never shown)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sleuth.predicates.component import SyntheticComponent
from sleuth.predicates.errors import PredicateError
from sleuth.predicates.forms import FORMS, describe_error

NAME = r"^[A-Za-z0-9_\-]+$"


class SuiteComponent(BaseModel):
    """One entry of a suite: a synthetic component with its name, category and ground-truth words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME)
    description: str = Field(min_length=1)
    category: str
    split: Literal["dev", "test"] | None = None  # None: the suite has no dev/test split for it
    unit: SyntheticComponent
    source: str  # the file it came from

    @property
    def fingerprint(self) -> str:
        return self.unit.fingerprint

    def activations(self, tokens: list[str]) -> list[float]:
        return self.unit.activations(tokens)

    @property
    def unseen(self) -> list[str] | None:
        return self.unit.unseen

    def withheld(self, tokens: list[str]) -> bool:
        return self.unit.withheld(tokens)


def _component(entry, category: str, path: Path, index: int) -> SuiteComponent:
    if not isinstance(entry, dict):
        raise PredicateError(f"{path}: component #{index + 1} is not a mapping")
    name = entry.get("name") or f"#{index + 1}"
    where = f"{path}: component '{name}'"
    unknown = sorted(set(entry) - {"name", "description", "category", "split", "fn", "value", "noise", "unseen"})
    if unknown:
        raise PredicateError(f"{where}: unknown key '{unknown[0]}' (known: name, description, category, split, fn, "
                             "value, noise, unseen)")
    fn = entry.get("fn")
    if isinstance(fn, dict) and len(fn) == 1 and next(iter(fn)) not in FORMS:
        raise PredicateError(f"{where}: unknown predicate key '{next(iter(fn))}'; known: {', '.join(FORMS)}")
    try:
        unit = SyntheticComponent.model_validate({k: entry[k] for k in ("fn", "value", "noise", "unseen") if k in entry})
        return SuiteComponent(name=entry.get("name"), description=entry.get("description"),
                              category=str(entry.get("category") or category), split=entry.get("split"), unit=unit,
                              source=str(path))
    except ValidationError as exc:
        raise PredicateError(f"{where}: {describe_error(exc)}") from None


def load_file(path: Path) -> list[SuiteComponent]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PredicateError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        raise PredicateError(f"{path}: expected a top-level 'components:' list")
    category = str(data.get("category") or path.stem)
    return [_component(e, category, path, i) for i, e in enumerate(data["components"])]


def load_suite(folder: Path | str) -> list[SuiteComponent]:
    """Every component of every *.yaml / *.yml file in `folder` (sorted by file), names unique."""
    folder = Path(folder)
    if folder.is_file():
        files = [folder]
    elif folder.is_dir():
        files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    else:
        raise PredicateError(f"suite '{folder}' is not a folder or a YAML file")
    if not files:
        raise PredicateError(f"suite '{folder}' has no .yaml files")
    components, seen = [], {}
    for path in files:
        for component in load_file(path):
            if component.name in seen:
                raise PredicateError(f"{path}: component '{component.name}' is already defined in {seen[component.name]}")
            seen[component.name] = path
            components.append(component)
    if not components:
        raise PredicateError(f"suite '{folder}' has no components")
    return components


def suite_name(folder: Path | str) -> str:
    """The name a suite's components live under: synthetic.<suite name>.<component name>."""
    path = Path(folder)
    return path.stem if path.is_file() else path.name


def attach_suite(target, folder: Path | str) -> list[str]:
    """Register every component of a suite on `target` as synthetic.<suite>.<name>; returns the sites."""
    name = suite_name(folder)
    return [str(target.attach_synthetic(f"{name}.{c.name}", c)) for c in load_suite(folder)]
