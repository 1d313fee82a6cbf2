"""`sleuth eval find`: describe planted units (FIND-style) and score the words against the truth.

Each suite component is attached to the target as an opaque synthetic site
(`synthetic.eval.uNN`, in a seeded order), so neither the agent nor the one-shot describer
learns anything from its name. Descriptions are scored on held-out texts they never saw.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from sleuth.atomic_files import write_atomically
from sleuth.evals import find_run
from sleuth.evals.describers import DESCRIBERS, DescribeEnv, Described
from sleuth.evals.heldout import heldout_pool, texts_for
from sleuth.evals.metrics import judge_choice, predictive_agreement, read_back_agreement, rule_agreement
from sleuth.evals.scoreboard import Manifest, Row
from sleuth.llm.errors import LLMError, LLMUnreachable
from sleuth.predicates import PredicateError, SuiteComponent
from sleuth.predicates.regex_words import has_rule_syntax
from sleuth.tools import ToolError

REPORT_VERSION = 1
DEFAULT_SUITE = Path(__file__).parent / "find"
REFERENCE = "reference"  # the mode whose "description" is the component's true words


class ComponentResult(BaseModel):
    name: str
    category: str
    site: str
    mode: str
    description: str | None
    status: str
    reason: str | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    balanced_accuracy: float | None = None
    rule_f1: float | None = None  # the description's own rule against the true function, by code (no LLM)
    rule: dict | None = None
    written_by: str | None = None  # who wrote the words: llm, code (a rule said in words) or human (the suite's truth)
    rule_syntax: bool | None = None  # the words carry a regex, JSON or a predicate key (a reader needs a manual)
    split: str | None = None  # the suite's dev/test split of this component (None: the suite has none)
    read_back_f1: float | None = None  # the rule an LLM reads out of the words alone, against the true function
    read_back_rule: dict | None = None
    unseen_rule_f1: float | None = None  # a unit with unseen members: the rule on tokens that are not seen members ...
    unseen_read_back_f1: float | None = None  # ... and the read-back rule there (generalization to members never shown)
    judge_choice: float | None = None  # true words vs a decoy, each said to match or not: 1 truth alone, 0.5 tie
    judge_picks: list[str] | None = None  # "truth"/"decoy"/"tie" per ask (one with each order of the two, seeded)
    decoy: str | None = None  # the decoy's words (another category's component)
    judge: str | None = None  # legacy, reports before judge_choice: match / partial / miss against the true words
    judge_score: float | None = None  # legacy
    decoy_score: float | None = None  # legacy: the absolute judge against the decoy
    scoring_failures: list[str] = Field(default_factory=list)  # "<scorer>: <reason>" for each scorer that failed
    rescored: list[str] = Field(default_factory=list)  # --rescore: the scorers run again on the stored words ...
    rescored_from: str | None = None  # ... and the run those words came from
    llm_tokens: int = 0  # describer tokens
    seconds: float = 0.0


SCORERS = find_run.SCORERS
# each LLM scorer's fields on a result, its headline figure first (None there: the scorer did not score)
SCORED_FIELDS = {"listing": ("f1", "precision", "recall", "balanced_accuracy"), "read_back": ("read_back_f1", "read_back_rule", "unseen_read_back_f1"),
                 "judge": ("judge_choice", "judge_picks", "decoy", "judge", "judge_score", "decoy_score")}


def unscored(result: ComponentResult) -> list[str]:
    """The LLM scorers with no figure on this result (all of them when there is no description)."""
    return [name for name in SCORERS if getattr(result, SCORED_FIELDS[name][0]) is None]


class Summary(BaseModel):
    n: int
    failed: int
    scoring_failed: int = 0  # items whose description a scorer could not score (left out of that scorer's mean)
    f1: float
    precision: float
    recall: float
    judge_choice: float | None = None  # true words vs a decoy side by side: chance is 0.5
    judge_match: float | None = None  # legacy absolute judge (reports before judge_choice)
    decoy_match: float | None = None
    rule_f1: float | None  # a description without a rule counts 0; None for the reference (the truth has no rule to score)
    read_back_f1: float | None = None  # None only in reports written before read-back existed
    validated: int = 0  # descriptions sleuth itself marked validated (agent mode) ...
    validated_read_back_f1: float | None = None  # ... and how well their words read back against the truth
    validated_rule_f1: float | None = None  # ... and their rules
    read_back_by_author: dict[str, float] = Field(default_factory=dict)  # read-back F1 per written_by
    by_author: dict[str, int] = Field(default_factory=dict)  # how many descriptions each author wrote
    rule_syntax: int = 0  # descriptions whose words carry rule syntax
    unseen_units: int = 0  # units with unseen members (a generalization split) ...
    unseen_read_back_f1: float | None = None  # ... read-back F1 on their members never shown
    unseen_rule_f1: float | None = None  # ... and the describer's rule there (None for the reference)
    llm_tokens: int
    seconds: float


class ModeReport(BaseModel):
    mode: str
    overall: Summary
    per_category: dict[str, Summary]
    per_split: dict[str, Summary] = Field(default_factory=dict)  # the suite's dev and test splits, where it has them
    read_back_vs_reference: float | None = None  # read-back F1 / the true words' on the same units (both modes run)


class FindReport(BaseModel):
    version: int = REPORT_VERSION
    suite: str
    suite_checksum: str
    model: str
    llm: str
    judge_llm: str
    seed: int
    texts_per_component: int
    modes: list[ModeReport] = Field(default_factory=list)
    components: list[ComponentResult] = Field(default_factory=list)
    corpus_checksum: str = ""  # the corpus whose eval split the texts were cut from
    seconds: float = 0.0
    complete: bool = True  # False: a run's report.json while it runs (the components scored so far)
    manifest: Manifest | None = None  # what the run ran on (written with the final report)


def suite_checksum(components: list[SuiteComponent]) -> str:
    text = "|".join(c.model_dump_json() for c in components)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def attach(target, components: list[SuiteComponent], seed: int) -> dict[str, str]:
    """Register every component under an opaque name; returns component name -> site."""
    order = list(range(len(components)))
    random.Random(seed).shuffle(order)
    sites = {}
    for slot, i in enumerate(order):
        sites[components[i].name] = str(target.attach_synthetic(f"eval.u{slot:02d}", components[i]))
    return sites


def summarize(results: list[ComponentResult]) -> Summary:
    def mean(values):
        values = list(values)
        return round(sum(values) / len(values), 4) if values else 0.0

    def legacy(values):  # the absolute judge's figures, only where results written before judge_choice carry them
        values = [v for v in values if v is not None]
        return mean(values) if values else None

    def scored(field, among=None):
        """A describer's failure scores 0 (it produced no usable description); a scorer's failure on words that
        exist is left out of that scorer's mean and counted in scoring_failed (it says nothing of the words)."""
        return [getattr(r, field) or 0.0 for r in (results if among is None else among)
                if not r.description or getattr(r, field) is not None]

    reference = bool(results) and all(r.mode == REFERENCE for r in results)  # the true words carry no rule of their own
    novel = [r for r in results if r.unseen_rule_f1 is not None]  # set on every result of a unit with unseen members
    validated = [r for r in results if r.status == "validated"]
    authors = sorted({r.written_by for r in results if r.description and r.written_by})
    # failed: an item with no description, or with a scorer that could not score it
    return Summary(n=len(results), failed=sum(bool(unscored(r)) for r in results),
                   scoring_failed=sum(bool(r.description and unscored(r)) for r in results),
                   f1=mean(scored("f1")), precision=mean(scored("precision")), recall=mean(scored("recall")),
                   judge_choice=mean(scored("judge_choice")),
                   judge_match=legacy(r.judge_score for r in results), decoy_match=legacy(r.decoy_score for r in results),
                   rule_f1=None if reference else mean(r.rule_f1 or 0.0 for r in results),
                   read_back_f1=mean(scored("read_back_f1")),
                   validated=len(validated),
                   validated_read_back_f1=mean(scored("read_back_f1", validated)) if validated else None,
                   validated_rule_f1=mean(r.rule_f1 or 0.0 for r in validated) if validated else None,
                   read_back_by_author={a: mean(scored("read_back_f1", [r for r in results if r.written_by == a]))
                                        for a in authors},
                   by_author={a: sum(r.written_by == a for r in results if r.description) for a in authors},
                   rule_syntax=sum(bool(r.rule_syntax) for r in results),
                   unseen_units=len(novel),
                   unseen_read_back_f1=mean(scored("unseen_read_back_f1", novel)) if novel else None,
                   unseen_rule_f1=None if reference or not novel else mean(r.unseen_rule_f1 or 0.0 for r in novel),
                   llm_tokens=sum(r.llm_tokens for r in results),
                   seconds=round(sum(r.seconds for r in results), 1))


def mode_report(mode: str, results: list[ComponentResult], reference: list[ComponentResult] | None = None) -> ModeReport:
    categories = sorted({r.category for r in results})
    splits = sorted({r.split for r in results if r.split})
    return ModeReport(mode=mode, overall=summarize(results),
                      per_category={c: summarize([r for r in results if r.category == c]) for c in categories},
                      per_split={s: summarize([r for r in results if r.split == s]) for s in splits},
                      read_back_vs_reference=_vs_reference(results, reference) if mode != REFERENCE else None)


def _vs_reference(results: list[ComponentResult], reference: list[ComponentResult] | None) -> float | None:
    """This mode's read-back F1 over the true words', on the units both have a read-back for. Above 1 by more
    than noise means the reader favours this mode's phrasing over plain true words: a reader bias, not a result."""
    truth = {r.name: r.read_back_f1 for r in reference or [] if r.read_back_f1 is not None}
    pairs = [(r.read_back_f1 or 0.0, truth[r.name]) for r in results
             if r.name in truth and (not r.description or r.read_back_f1 is not None)]
    total = sum(t for _, t in pairs)
    return round(sum(v for v, _ in pairs) / total, 3) if pairs and total > 0 else None


def score_one(component: SuiteComponent, site: str, mode: str, env: DescribeEnv, judge_llm, held, decoy: str,
              seed: int) -> ComponentResult:
    start, before = time.perf_counter(), env.llm.ledger.tokens()
    result = ComponentResult(name=component.name, category=component.category, site=site, mode=mode,
                             description=None, status="failed", split=component.split)
    try:
        # the reference is the true words, scored as a description: what the predictor and judge make of the
        # truth itself. Only this branch sees the component; the describers see the opaque site alone.
        described = (Described(text=component.description, status="reference", written_by="human") if mode == REFERENCE
                     else DESCRIBERS[mode](site, env))
        result.description, result.status, result.reason = described.text, described.status, described.reason
        result.written_by = described.written_by
        result.rule_syntax = has_rule_syntax(described.text) if described.text else None
    except LLMUnreachable:
        raise
    except (LLMError, ToolError) as exc:  # recorded as failed, with its reason; the suite goes on
        result.status, result.reason = "failed", str(exc)
        described = None
    result.llm_tokens = env.llm.ledger.tokens() - before  # the describer's tokens, not the scoring's
    if described is not None:
        result.rule = described.rule
        score_words(result, component, judge_llm, held, decoy, seed, SCORERS)
    elif held.scores_unseen:  # no words generalize: 0 on the members never shown
        result.unseen_rule_f1 = 0.0
    result.seconds = round(time.perf_counter() - start, 1)
    return result


def score_words(result: ComponentResult, component: SuiteComponent, judge_llm, held, decoy: str, seed: int,
                scorers: tuple[str, ...]) -> None:
    """Score result's words (and its rule, by code) in place. Each LLM scorer runs on its own: one that fails
    (garbage after retries, an error reply) is recorded in `scoring_failures` with its reason and leaves its
    figures empty, and the others still score."""
    result.rule_f1 = rule_agreement(result.rule, held).f1 if result.rule else None
    generalizes = held.scores_unseen  # a unit with unseen members: also scored on those alone
    result.unseen_rule_f1 = (rule_agreement(result.rule, held, unseen=True).f1 if result.rule else 0.0) if generalizes \
        else None
    if not result.description:
        return

    def listing():
        agreement = predictive_agreement(judge_llm, result.description, held, seed)
        result.precision, result.recall, result.f1 = agreement.precision, agreement.recall, agreement.f1
        result.balanced_accuracy = agreement.balanced_accuracy

    def read_back():
        reading, result.read_back_rule = read_back_agreement(judge_llm, result.description, held)
        result.read_back_f1 = reading.f1
        if generalizes:
            result.unseen_read_back_f1 = rule_agreement(result.read_back_rule, held, unseen=True).f1

    def matched():
        chosen = judge_choice(judge_llm, result.description, component.description, decoy, f"{seed}:{component.name}")
        result.judge_choice, result.judge_picks, result.decoy = chosen.score, list(chosen.picks), decoy
        result.judge = result.judge_score = result.decoy_score = None  # a rescore replaces the legacy judge

    runs = {"listing": listing, "read_back": read_back, "judge": matched}
    for name in scorers:  # each run sets every field of its scorer, so a rescore leaves no stale figure
        result.scoring_failures = [f for f in result.scoring_failures if not f.startswith(f"{name}:")]
        try:
            runs[name]()
        except LLMUnreachable:
            raise
        except LLMError as exc:  # the describer's status stands; the missing figure keeps its reason
            for field in SCORED_FIELDS[name]:  # nothing half-set (the judge may have answered once)
                setattr(result, field, None)
            result.scoring_failures.append(f"{name}: {exc}")


def rescore_one(component: SuiteComponent, prior: ComponentResult, judge_llm, held, decoy: str, seed: int,
                scorers: tuple[str, ...], source: str) -> ComponentResult:
    """A stored description scored again (no describer call): the scorers named, and any that had failed."""
    start = time.perf_counter()
    result = prior.model_copy(deep=True)
    if result.reason and "scoring failed: " in result.reason:  # results written before scoring_failures existed
        result.reason = result.reason.split("scoring failed: ")[0].rstrip("; ") or None
    failed_before = unscored(result) if result.description else []
    again = tuple(name for name in SCORERS if name in scorers or name in failed_before)
    score_words(result, component, judge_llm, held, decoy, seed, again)
    result.rescored, result.rescored_from = list(again), source
    result.seconds = round(prior.seconds + time.perf_counter() - start, 1)
    return result


def firing_set(component: SuiteComponent, pool) -> frozenset[tuple[int, int]]:
    """(text, token) pairs of the pool where the component's clean function fires."""
    return frozenset((i, j) for i, view in enumerate(pool) for j, v in enumerate(component.unit.clean(view)) if v > 0)


def overlapping(a: frozenset, b: frozenset, share: float = 0.1) -> bool:
    """Two components fire together on more than `share` of the smaller one's tokens (or both never fire)."""
    if not a or not b:
        return not a and not b
    return len(a & b) / min(len(a), len(b)) > share


def pick_decoy(component: SuiteComponent, pool: list[SuiteComponent], rng: random.Random,
               firing: dict[str, frozenset] | None = None) -> SuiteComponent:
    """The judge's wrong option: a component of another category whose words differ and whose firing does not
    overlap this one's on the scoring texts (noisy_quotes and inside_quotes fire alike, with the same words).
    With no such component, any other with different words; a lone component has none."""
    def stem(c):
        return c.name.removeprefix("noisy_")

    def apart(o):
        if o.category == component.category or stem(o) == stem(component) or o.description == component.description:
            return False
        return firing is None or not overlapping(firing.get(o.name, frozenset()), firing.get(component.name, frozenset()))

    others = [o for o in pool if apart(o)] or [o for o in pool if o.description != component.description]
    if not others:
        raise PredicateError("the judge needs a decoy: the suite has no other component with different words")
    return rng.choice(others)


def run_find(components: list[SuiteComponent], env: DescribeEnv, judge_llm, modes: list[str], suite: str,
             seed: int = 0, texts: int = 12, progress: Callable[[str], None] | None = None,
             done: Callable[[], None] | None = None, out: Path | None = None, rescore: Path | None = None,
             scorers: tuple[str, ...] = SCORERS, decoy_pool: list[SuiteComponent] | None = None) -> FindReport:
    """Describe every component in every mode and score each description on held-out texts.
    With `out`, each result is kept there as soon as it is scored, results already there (a resumed
    run with the same settings) are not scored again, and report.json holds the figures so far.
    With `rescore` (another run's folder), nothing is described: that run's descriptions are scored
    again with `scorers` (and any scorer that had failed on them); that folder is only read."""
    start = time.perf_counter()
    target = env.ctx.target
    sites = attach(target, components, seed)
    pool = heldout_pool(env.ctx, seed)
    report = FindReport(suite=suite, suite_checksum=suite_checksum(components), model=target.name,
                        llm=env.llm.model, judge_llm=judge_llm.model, seed=seed, texts_per_component=texts,
                        corpus_checksum=env.ctx.corpus.checksum)
    kept, reused = {}, {}
    spec = find_run.FindRunSpec(suite_checksum=report.suite_checksum, components=[c.name for c in components],
                                model=report.model, llm=report.llm, judge_llm=report.judge_llm, seed=seed, texts=texts)
    if rescore is not None:  # the words are the other run's: its describer, this judge
        described, reused = find_run.descriptions_to_rescore(rescore, spec, modes, ComponentResult)
        spec = spec.model_copy(update={"llm": described.llm, "rescored_from": str(rescore),
                                       "rescored": sorted(scorers)})
        report = report.model_copy(update={"llm": spec.llm})
    if out is not None:
        find_run.start(out, spec)
        kept = find_run.finished(out, ComponentResult)
    rng = random.Random(seed)
    # units with unseen members draw from every eval window: their unseen members are often rare in `pool`
    whole = heldout_pool(env.ctx, seed, n_windows=len(env.ctx.windows)) if any(c.unseen for c in components) else pool
    held = {c.name: texts_for(c, whole if c.unseen else pool, texts, seed + i)  # the same texts in every mode
            for i, c in enumerate(components)}
    firing = {c.name: firing_set(c, pool) for c in decoy_pool or components}
    decoys = {c.name: pick_decoy(c, decoy_pool or components, rng, firing).description for c in components}
    results = {mode: [] for mode in modes}
    for component in components:  # component by component, so a run stopped part-way has every mode of each
        for mode in modes:
            if progress:
                progress(f"{mode}: {component.name}")
            result = kept.get((mode, component.name))
            if result is None:
                result = (rescore_one(component, reused[(mode, component.name)], judge_llm, held[component.name],
                                      decoys[component.name], seed, scorers, str(rescore))
                          if (mode, component.name) in reused  # the true words need no earlier run: scored anew
                          else score_one(component, sites[component.name], mode, env, judge_llm, held[component.name],
                                         decoys[component.name], seed))
                if out is not None:
                    write_atomically(find_run.result_path(out, mode, component.name), result.model_dump_json(indent=1))
            results[mode].append(result)
            if done:
                done()
        if out is not None:  # the figures so far, readable while a long run goes on (or after it stopped)
            so_far = _summarized(report, results, time.perf_counter() - start)
            write_atomically(out / "report.json", so_far.model_copy(update={"complete": False}).model_dump_json(indent=1))
    return _summarized(report, results, time.perf_counter() - start)


def _summarized(report: FindReport, results: dict[str, list[ComponentResult]], seconds: float) -> FindReport:
    """The report with these results, summarized per mode (modes with no result yet are left out)."""
    done = {mode: found for mode, found in results.items() if found}
    return report.model_copy(update={"components": [r for found in done.values() for r in found],
                                     "modes": [mode_report(mode, found, done.get(REFERENCE)) for mode, found in done.items()],
                                     "seconds": round(seconds, 1)})


def select(components: list[SuiteComponent], limit: int | None = None, only: str | None = None,
           split: str = "all") -> list[SuiteComponent]:
    """--only names, or the first `limit` components taken round-robin over categories (every category early);
    with `split` (dev or test), only that split's components (a suite without splits has none in either)."""
    if split != "all":
        components = [c for c in components if c.split == split]
        if not components:
            raise PredicateError(f"the suite has no component in the '{split}' split (mark them with 'split: {split}')")
    if only:
        names = [n.strip() for n in only.split(",") if n.strip()]
        known = {c.name: c for c in components}
        missing = [n for n in names if n not in known]
        if missing:
            raise PredicateError(f"no component named '{missing[0]}' in the suite (known: {', '.join(known)})")
        return [known[n] for n in names]
    by_category: dict[str, list[SuiteComponent]] = {}
    for c in components:
        by_category.setdefault(c.category, []).append(c)
    spread = [c for group in _round_robin(list(by_category.values())) for c in group]
    return spread[:limit] if limit else components


def _round_robin(groups: list[list]) -> list[list]:
    return [[g[i] for g in groups if i < len(g)] for i in range(max(map(len, groups), default=0))]


def find_rows(report: FindReport) -> list[Row]:
    """One row per mode over every component run, and one per mode and suite split (dev, test) where it has them."""
    def row(mode: ModeReport, summary: Summary, split: str = "") -> Row:
        return Row(suite=f"find:{report.suite}", split=split, mode=mode.mode, n=summary.n, failed=summary.failed,
                   scoring_failed=summary.scoring_failed, f1=summary.f1, judge_choice=summary.judge_choice,
                   judge_match=summary.judge_match, decoy_match=summary.decoy_match, rule_f1=summary.rule_f1,
                   read_back_f1=summary.read_back_f1,
                   read_back_vs_reference=mode.read_back_vs_reference if not split else None,
                   read_back_by_author=summary.read_back_by_author, by_author=summary.by_author,
                   rule_syntax=summary.rule_syntax,
                   llm_tokens=summary.llm_tokens, seconds=summary.seconds, llm=report.llm)

    def unseen(mode: ModeReport) -> list[Row]:
        """Units with unseen members, scored on those members alone: split "unseen" (read-back and rule F1 there)."""
        s = mode.overall
        if not s.unseen_units:
            return []
        return [Row(suite=f"find:{report.suite}", split="unseen", mode=mode.mode, n=s.unseen_units,
                    read_back_f1=s.unseen_read_back_f1, rule_f1=s.unseen_rule_f1, llm=report.llm)]

    return [r for m in report.modes
            for r in [row(m, m.overall), *(row(m, s, name) for name, s in m.per_split.items()), *unseen(m)]]
