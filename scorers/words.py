"""words_match_rule: do the words say what the rule says?

The detection judge reads only the text of a description; its answers on the held-out texts
are compared with the description's own rule on the same texts (fires anywhere or not; on the
marked token, where the judge was shown one). A
text whose judge disagrees with its rule is rejected as "words do not match the rule", even
when the rule itself fits: the words are what a reader uses.
"""

from __future__ import annotations

from sleuth.predicates.fit import rule_values, text_fires
from sleuth.scorers.examples import ScoringExample
from sleuth.scorers.registry import ScoringInput, scorer
from sleuth.scorers.rule import stored_rule


@scorer("words_match_rule", "Share of held-out texts where a judge reading only the words agrees with the rule.",
        needs=("rule", "judged", "examples"), reads_words=True)
def words_match_rule(inp: ScoringInput) -> tuple[float, int, dict]:
    predicate, judged, examples = stored_rule(inp.rule), inp.judged, inp.examples
    # a judge of whole texts says whether the text fires; a judge of a marked token, whether that token does
    by_rule = [rule_values(predicate, examples[j["example"]].tokens)[j["marked"]] > 0 if "marked" in j
               else text_fires(predicate, examples[j["example"]].tokens) for j in judged]
    agree = [j["answer"] == r for j, r in zip(judged, by_rule)]
    disagreed = [j["text"][:80] for j, a in zip(judged, agree) if not a][:4]
    return sum(agree) / len(agree), len(agree), {"rule_says": by_rule, "disagreed": disagreed}
