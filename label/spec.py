"""What a label run is: the units, the preset (how many examples of which kind), scorers and limits.

A run's settings are fingerprinted; `--resume` continues only a run with the same fingerprint.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, Field


class Preset(BaseModel):
    """Example counts and scorers; `sleuth` is the cheap default, `delphi` reproduces Delphi's defaults."""

    explain_top: int = Field(ge=1, le=100)  # top-activating explain windows shown to the explainer
    explain_quantile: int = Field(0, ge=0, le=100)  # explain windows sampled across activation quantiles
    explain_quiet: int = Field(3, ge=0, le=50)  # non-activating explain windows shown
    explain_tokens: int = Field(ge=8, le=64)  # tokens per explain example, around the peak
    test_top: int = Field(ge=0, le=100)  # held-out top-activating test windows
    test_quantile: int = Field(ge=0, le=100)  # held-out activating windows across quantiles
    quantiles: int = Field(ge=1, le=20)
    test_random: int = Field(ge=2, le=200)  # held-out non-activating windows
    test_tokens: int = Field(ge=8, le=64)
    scorer_batch: int = Field(ge=1, le=20)  # examples per judge prompt
    scorers: list[str]
    rules: bool = True  # the explainer also writes an executable rule (predicate language)
    induce: bool = False  # code's rule search on the explain windows first (predicates.induce); needs rules
    # the intervention scorer: held-out quiet windows' first tokens continued with and without the unit pushed up
    steer_prompts: int = Field(8, ge=2, le=64)
    steer_prompt_tokens: int = Field(12, ge=2, le=64)
    steer_tokens: int = Field(10, ge=1, le=32)  # greedy tokens generated per continuation
    steer_factor: float = Field(2.0, gt=0)  # the push: this many times the unit's strongest explain activation (4: gibberish)


PRESETS: dict[str, Preset] = {
    "sleuth": Preset(explain_top=10, explain_quantile=2, explain_quiet=3, explain_tokens=24, test_top=8,
                     test_quantile=8, quantiles=4, test_random=16, test_tokens=24, scorer_batch=8,
                     scorers=["rule", "read_back"], induce=True),
    # Delphi's defaults: 40 explain examples of 32 tokens; 50 activating test examples from 10 quantiles
    # and 50 random non-activating; detection and fuzzing, 5 examples per prompt; no rule
    "delphi": Preset(explain_top=40, explain_quantile=0, explain_quiet=0, explain_tokens=32, test_top=0,
                     test_quantile=50, quantiles=10, test_random=50, test_tokens=32, scorer_batch=5,
                     scorers=["detection", "fuzzing"], rules=False),
}


class LabelSpec(BaseModel):
    model: str
    source: str  # an SAE name/folder, or a whole site (blocks.3.mlp.hook_post, blocks.18.attn.hook_z, synthetic.x.y)
    source_kind: str  # "sae" or "site"
    units: list[int]
    preset_name: str = "sleuth"
    preset: Preset
    thresholds: dict[str, float]
    default_threshold: float = 0.5
    refine: bool = True
    refine_rounds: int = Field(1, ge=0, le=5)
    # a failed rule rejects before any LLM judge reads the label (the judges are stored unscored, with why)
    exact_first: bool = False
    fire_fraction: float = 0.3  # a unit fires at this fraction of its strongest explain activation
    explain_windows: int = Field(512, ge=16)
    heldout_windows: int = Field(384, ge=16)
    max_tokens_per_item: int = Field(6000, ge=500)  # the LLM token budget of one item, refinement included
    llm: str = ""  # the labeling LLM's model name, recorded with each label
    seed: int = 0

    def fingerprint(self) -> str:
        """What must match for --resume (everything but the concurrency and the output folder)."""
        fields = self.model_dump()
        if not self.exact_first:
            del fields["exact_first"]  # runs written before the option existed still resume
        if not self.preset.induce:
            del fields["preset"]["induce"]  # likewise
        blob = json.dumps(fields, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def choose_preset(preset: str, scorers: list[str] | None = None, induce: bool | None = None) -> Preset:
    """A preset by name, its scorers optionally replaced (one must read the label's words) and code's rule
    search optionally switched (it needs a preset whose labels carry rules)."""
    from sleuth.label.items import LabelInputError
    from sleuth.scorers.registry import get_scorer

    if preset not in PRESETS:
        raise LabelInputError(f"unknown --preset '{preset}'; available: {', '.join(PRESETS)}")
    chosen = PRESETS[preset]
    if scorers:
        for name in scorers:
            get_scorer(name)  # an unknown scorer: one line, exit 2
        if not any(get_scorer(n).reads_words for n in scorers):
            raise LabelInputError("--scorers must include one that reads the label's words (read_back, detection, "
                                  "fuzzing, simulation, embedding or words_match_rule): validated means the words "
                                  "were checked")
        chosen = chosen.model_copy(update={"scorers": list(scorers)})
    if induce is not None:
        if induce and not chosen.rules:
            raise LabelInputError(f"--induce needs a preset whose labels carry rules; '{preset}' has none (use sleuth)")
        chosen = chosen.model_copy(update={"induce": induce})
    return chosen


def build_spec(model: str, source: str, source_kind: str, units: list[int], preset_name: str, preset: Preset,
               agent, refine: bool, rounds: int, llm: str, exact_first: bool = False) -> LabelSpec:
    """A run's spec from the agent settings (`sleuth.config.AgentSettings`): thresholds, windows, firing level."""
    return LabelSpec(model=model, source=source, source_kind=source_kind, units=units, preset_name=preset_name,
                     preset=preset, thresholds=agent.thresholds, default_threshold=agent.default_threshold,
                     refine=refine, refine_rounds=rounds, exact_first=exact_first, fire_fraction=agent.fire_fraction,
                     explain_windows=agent.explain_windows, heldout_windows=agent.heldout_windows, llm=llm)
