"""`sleuth label`: batch auto-labeling of SAE latents, MLP neurons, heads and synthetic units.

collect (explain windows from the explain split, test windows from held-out documents only) ->
explain (a label and its rule) -> score (registry scorers on the test windows) -> refine (the
agent's rule refinement, bounded) -> finalize (validated / rejected / failed, to memory and DIR).
"""

from sleuth.label.spec import PRESETS, LabelSpec, Preset

__all__ = ["PRESETS", "LabelSpec", "Preset"]
