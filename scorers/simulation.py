"""simulation: correlation between predicted and real per-token activation, without logprobs.

The LLM lists, for each text, the tokens it expects the described component to fire on;
the prediction is 1 on those tokens and 0 elsewhere, correlated with the real values.
"""

from __future__ import annotations

from pydantic import Field, create_model

from sleuth.predicates.fit import correlation
from sleuth.prompts import render
from sleuth.scorers.examples import ScoringExample, balanced, batches
from sleuth.scorers.registry import ScorerError, ScoringInput, scorer

BATCH = 6


def guesses_model(n: int):
    return create_model("TokenGuesses", tokens=(list[list[str]], Field(min_length=n, max_length=n)))


def guesses_budget(n: int) -> int:
    """Reply tokens for n lists: room for ~18 listed tokens per text (a listed token costs about 4 in JSON).
    At 24 per text a number-heavy text cut the reply short, and the whole batch failed as invalid JSON."""
    return 32 + 72 * n


def predicted_vector(example: ScoringExample, guessed: list[str]) -> list[float]:
    wanted = {g.strip().lower() for g in guessed if g.strip()}
    return [1.0 if t.strip().lower() in wanted and t.strip() else 0.0 for t in example.tokens]


@scorer("simulation", "Correlation of predicted (from the description) and real per-token activation.",
        needs=("llm", "examples"), reads_words=True)
def simulation(inp: ScoringInput) -> tuple[float, int, dict]:
    description, llm = inp.description, inp.llm
    chosen = [e for _, e in balanced(inp.examples, inp.limit or 12, inp.seed)]
    predicted, real = [], []
    for group in batches(chosen, BATCH):
        prompt = render("simulation", description=description, texts=[e.tokens for e in group])
        reply = llm.structured([{"role": "user", "content": prompt}], guesses_model(len(group)),
                               max_tokens=guesses_budget(len(group)))
        for example, guessed in zip(group, reply.tokens):
            predicted += predicted_vector(example, guessed)
            real += example.values
    if len(set(predicted)) < 2 or len(set(real)) < 2:  # a correlation with a constant is undefined, not 0.0
        raise ScorerError("could not score: the prediction or the real activation is constant on these examples")
    return correlation(predicted, real), len(chosen), {"tokens": len(real)}
