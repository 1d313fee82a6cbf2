"""Scorers: validation of descriptions, chosen by registry name (detection, fuzzing, simulation, embedding, intervention)."""

from sleuth.scorers.examples import ScoringExample
from sleuth.scorers.registry import SCORERS, Score, ScorerError, ScoringInput, get_scorer, load_all, scorer

__all__ = ["SCORERS", "Score", "ScorerError", "ScoringExample", "ScoringInput", "get_scorer", "load_all", "scorer"]
