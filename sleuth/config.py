"""Settings from environment variables and an optional sleuth.toml.

Precedence: environment > one config file ($SLEUTH_CONFIG, else ./sleuth.toml, else
~/.config/sleuth/sleuth.toml) > defaults. Keys are read from the environment only and are never
written anywhere; one is sent to a base_url named by ./sleuth.toml only over https or to this machine.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from sleuth.errors import ConfigError


class LLMSettings(BaseModel):
    base_url: str | None = None
    base_url_trusted: bool = True  # False when base_url came from ./sleuth.toml (keys go there only over https)
    model: str | None = None
    local_model: str = "qwen2.5-coder-1.5b"  # the embedded llama.cpp model when base_url is unset
    timeout_s: float = 120.0
    max_retries: int = 4


class AgentSettings(BaseModel):
    """Budgets, scorers and pass thresholds of the agent (sleuth.toml [agent])."""

    max_steps: int = Field(120, ge=1)  # graph nodes run per question (a neuron takes about 20)
    max_llm_tokens: int = Field(60_000, ge=100)
    max_seconds: float = Field(1800.0, gt=0)
    max_attempts: int = Field(2, ge=1, le=5)  # descriptions tried per component
    max_tool_failures: int = Field(3, ge=1)  # consecutive failed tool calls before stopping
    max_candidates: int = Field(2, ge=1, le=10)  # search candidates the LLM describes (bounds LLM work only)
    search_shortlist: int = Field(10, ge=1, le=32)  # head candidates re-measured by one batched confirmation
    head_score_min: float = Field(0.3, ge=0, le=1)  # a head is a candidate when its sweep score clears this
    head_top_share: float = Field(0.9, gt=0, le=1)  # a head behaviour holds at this standing among all heads ...
    head_min_score: float = Field(0.2, ge=0, le=1)  # ... and at this score or more (below it, rank 1 is noise)
    free_steps: int = Field(0, ge=0, le=10)  # LLM-chosen experiments after each protocol (strong endpoints)
    explain_windows: int = Field(512, ge=16)
    heldout_windows: int = Field(384, ge=16)
    # every configured scorer must score and pass for "validated"; the exact rule scorer runs first
    # read_back checks the words: an LLM restates them as a rule, scored on held-out windows (the embedded 1.5B
    # reads words this way well; as a true/false judge of texts it cannot: detection and words_match_rule are
    # available for a stronger endpoint); embedding: available, too weak on lexical units
    neuron_scorers: list[str] = ["rule", "read_back"]
    head_scorers: list[str] = ["replication", "attention_rule", "attention_simulation"]
    thresholds: dict[str, float] = {"rule": 0.5, "read_back": 0.5, "detection": 0.65, "words_match_rule": 0.7,
                                    "fuzzing": 0.65, "simulation": 0.3, "embedding": 0.6, "replication": 0.9,
                                    "attention_rule": 0.9, "attention_simulation": 0.5, "patch_recovery": 0.1,
                                    "intervention": 0.7}
    default_threshold: float = 0.5  # for a configured scorer with no entry in thresholds
    exact_first: bool = True  # a failed exact scorer (rule, replication, attention_rule) rejects before any LLM judge runs
    fire_fraction: float = Field(0.3, gt=0, lt=1)  # a unit fires at this fraction of its strongest explain activation
    rule_rounds: int = Field(2, ge=0, le=5)  # refinements of the best rule from its misses
    rule_target_f1: float = Field(0.9, gt=0, le=1)  # stop refining once the best rule fits this well
    induced_rules: int = Field(2, ge=0, le=5)  # rules found by code's search on the measured windows, added as hypotheses
    class_members: int = Field(16, ge=0, le=20)  # a listing rule's class: members the LLM proposes, measured by
    # substitution into the unit's own windows (agent.generalize); 0 turns the step off
    rule_supported_f1: float = 0.75  # hypothesis status from its rule's F1: supported at or above this,
    rule_refuted_f1: float = 0.3  # refuted below this, open between
    fresh_seed_offset: int = 1000  # re-measurements use the run's seed plus this: new prompts, same run


class Settings(BaseModel):
    home: Path = Field(default_factory=lambda: Path.home() / ".sleuth")
    model: str = "smollm2-135m"
    corpus: str = "embedded"
    chroma_url: str | None = None
    llm: LLMSettings = Field(default_factory=LLMSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)

    @property
    def corpus_dir(self) -> Path:
        return self.home / "corpus"


_ENV = {
    "SLEUTH_HOME": ("home",),
    "SLEUTH_MODEL": ("model",),
    "SLEUTH_CORPUS": ("corpus",),
    "SLEUTH_CHROMA_URL": ("chroma_url",),
    "SLEUTH_LLM_BASE_URL": ("llm", "base_url"),
    "SLEUTH_LLM_MODEL": ("llm", "model"),
    "SLEUTH_LLM_LOCAL_MODEL": ("llm", "local_model"),
}


USER_CONFIG = Path("~/.config/sleuth/sleuth.toml")


def _config_file() -> tuple[Path | None, bool]:
    """(the config file, whether it is the user's own: $SLEUTH_CONFIG or ~/.config/sleuth/sleuth.toml)."""
    explicit = os.environ.get("SLEUTH_CONFIG")
    if explicit:
        if not Path(explicit).is_file():
            raise ConfigError(f"SLEUTH_CONFIG points to '{explicit}', which is not a file")
        return Path(explicit), True
    local = Path("sleuth.toml")
    if local.is_file():
        return local, False
    user = USER_CONFIG.expanduser()
    return (user, True) if user.is_file() else (None, True)


def load_settings() -> Settings:
    data: dict = {}
    path, own = _config_file()
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    for var, keys in _ENV.items():
        value = os.environ.get(var)
        if value:
            node = data
            for key in keys[:-1]:
                node = node.setdefault(key, {})
            node[keys[-1]] = value
    if not own and (data.get("llm") or {}).get("base_url") and not os.environ.get("SLEUTH_LLM_BASE_URL"):
        data["llm"]["base_url_trusted"] = False  # named by a sleuth.toml in the working directory
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"configuration error at '{where}': {first['msg']}") from None
    settings.home = settings.home.expanduser()
    return settings
