"""Words that name the class, not the examples.

When the best rule lists words, the LLM names the class they belong to and proposes other members.
Code then runs a counterfactual experiment: in the unit's own strongest explain windows it puts each
proposed member in place of the word that fired, beside a control word from no class, and measures the
unit there. Members it fires on join the rule; a context where the control fires too says the context,
not the word, drives the unit, and counts for nothing. Nothing the LLM writes is run: its members are
words that code substitutes and measures.
"""

from __future__ import annotations

import re

from sleuth.predicates.tokens import TokenView

MIN_LISTED = 1  # one listed word may be one member of a class too: the substitutions decide
MAX_MEMBERS = 20  # proposed members measured (each in CONTEXTS windows)
CONTEXTS = 2  # strongest explain windows a member is put into
BEFORE, AFTER = 12, 4  # tokens kept around the substituted word
CONTROLS = ("kettle", "meadow")  # words of no class a unit is likely to name: a context firing on them proves nothing
MEMBER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")  # one whole word, as token_in matches it
WORD = re.compile(r"\w+")


def listed_words(rule: dict | None) -> list[str] | None:
    """The words a rule lists (a plain token_in of at least MIN_LISTED), else None."""
    words = (rule or {}).get("token_in") if isinstance(rule, dict) and len(rule) == 1 else None
    return list(words) if words and len(words) >= MIN_LISTED else None


def new_members(proposed: list[str], listed: list[str]) -> list[str]:
    """The proposed members worth measuring: single words, not listed already, each once, at most MAX_MEMBERS."""
    known, out = {w.casefold() for w in listed} | set(CONTROLS), []
    for word in (w.strip() for w in proposed):
        if MEMBER.match(word) and word.casefold() not in known:
            known.add(word.casefold())
            out.append(word)
    return out[:MAX_MEMBERS]


def _cased(member: str, original: str) -> str:
    """The member written as the word it replaces is written (Capitalized, UPPER), unless it has its own capitals."""
    if member != member.lower():
        return member
    if original.isupper() and len(original) > 1:
        return member.upper()
    return member.capitalize() if original[:1].isupper() else member


def contexts(windows: list[dict], threshold: float, listed: list[str], n: int = CONTEXTS) -> list[tuple[str, str, str]]:
    """Up to n (before, word, after) texts: the strongest windows whose peak token is in a listed word, cropped
    around it; distinct words first, so a member is tried beside different members."""
    listed_set = {w.casefold() for w in listed}
    found = []
    for w in sorted(windows, key=lambda w: -max(w["values"], default=0.0)):
        values, tokens = w["values"], w["tokens"]
        if not values or max(values) < threshold:
            continue
        p = max(range(len(values)), key=values.__getitem__)
        a, b = max(0, p - BEFORE), min(len(tokens), p + AFTER + 1)
        view = TokenView(tokens[a:b])
        if view.words[p - a] not in listed_set:
            continue
        start = sum(len(t) for t in tokens[a:p])
        end = start + len(tokens[p])
        match = next((m for m in WORD.finditer(view.text) if m.start() < end and start < m.end()), None)
        if match is not None:
            found.append((view.text[:match.start()], match.group(0), view.text[match.end():]))
    distinct = list({word.casefold(): (b, word, a) for b, word, a in reversed(found)}.values())[::-1]
    rest = [c for c in found if c not in distinct]
    return (distinct + rest)[:n]


def substitution_texts(places: list[tuple[str, str, str]], members: list[str]) -> list[dict]:
    """One text per (member or control, context): {text, member, context, control}."""
    out = []
    for i, (before, word, after) in enumerate(places):
        for member in [*members, *CONTROLS]:
            out.append({"text": before + _cased(member, word) + after, "member": member.casefold(), "context": i,
                        "control": member in CONTROLS})
    return out


def member_fired(tokens: list[str], values: list[float], member: str, threshold: float) -> bool:
    """The unit reached the threshold on a token of the substituted word."""
    view = TokenView(tokens)
    return any(v >= threshold for w, v in zip(view.words, values) if w == member)


def confirmed_members(texts: list[dict], rows: list[dict], threshold: float) -> tuple[list[str], list[str]]:
    """(members the unit fired on in a context whose control stayed quiet, members it did not), in proposal order."""
    fired = [member_fired(r["tokens"], r["values"], t["member"], threshold) for t, r in zip(texts, rows)]
    loud = {t["context"] for t, f in zip(texts, fired) if t["control"] and f}
    order = list(dict.fromkeys(t["member"] for t in texts if not t["control"]))
    yes = {t["member"] for t, f in zip(texts, fired) if f and not t["control"] and t["context"] not in loud}
    return [m for m in order if m in yes], [m for m in order if m not in yes]


def class_words(class_name: str, examples: list[str]) -> str:
    """Code's words for a class rule: the class, with a few members as examples."""
    shown = [repr(w) for w in examples[:6]]
    listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
    return f"Fires on {class_name.strip().rstrip('.')}, such as {listed} (any case)."
