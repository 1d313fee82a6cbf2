"""The final answer. Each finding's status is stated by code exactly as stored; the LLM only
writes a short lead-in around those facts, and a lead-in that contradicts a finding is dropped."""

from __future__ import annotations

import functools
import re

from sleuth.agent.budget import metered
from sleuth.llm.errors import LLMError, LLMUnreachable
from sleuth.prompts import render

STATUS_WORDS = {"validated": "validated on held-out data", "rejected": "rejected by held-out validation",
                "failed": "not validated: validation could not run", "draft": "not validated"}
DENIES = re.compile(r"\b(not|never|n't|un)\s*(been\s+|yet\s+)?validated\b|\bno\b[^.]*\bvalidated\b", re.I)
AFFIRMS = re.compile(r"(?<!not )(?<!un)\bvalidated\b", re.I)
FAILS = re.compile(r"\b(rejected|failed)\b", re.I)
NAMED = re.compile(r"\bL\d+[HN]\d+\b")  # a head or neuron in the short notation


def fact(finding: dict) -> str:
    """One finding as a line: component, stored status (and why), description."""
    why = f" ({finding['reason']})" if finding.get("reason") and finding["status"] != "validated" else ""
    by = " (stated by code from its measurements)" if finding.get("written_by") == "code" else ""
    return f"- {finding['short']}: {STATUS_WORDS.get(finding['status'], finding['status'])}{why}{by}. {finding['text']}"


def left_over(shape: dict) -> str:
    """What a search did not re-measure (its shortlist is bounded)."""
    n = shape.get("unconfirmed") or 0
    return f"\n{n} more candidate{'s' if n != 1 else ''} cleared the first sweep but {'were' if n != 1 else 'was'} " \
           f"not re-measured, so {'they are' if n != 1 else 'it is'} not listed." if n else ""


def strongest_first(findings: list[dict]) -> list[dict]:
    """Validated findings first, each group strongest first (the fresh re-measurement, where there is one);
    the order is otherwise kept."""
    def key(item):
        i, f = item
        return (f["status"] != "validated", -(f.get("strength") or 0.0), i)

    return [f for _, f in sorted(enumerate(findings), key=key)]


NAMES_AT_MOST = 8  # a lead names at most this many components; beyond, it says it names the strongest


def names_line(findings: list[dict]) -> str:
    """Code's sentence naming the validated components, strongest first: all of them, or plainly the strongest
    N of M. Empty when fewer than two validated (the one finding's line says it)."""
    validated = [f["short"] for f in strongest_first(findings) if f["status"] == "validated"]
    if len(validated) < 2:
        return ""
    if len(validated) <= NAMES_AT_MOST:
        return f"Validated: {', '.join(validated)} (strongest first)."
    return (f"The {NAMES_AT_MOST} strongest of the {len(validated)} validated: "
            f"{', '.join(validated[:NAMES_AT_MOST])}.")


def disagrees(text: str, findings: list[dict]) -> str | None:
    """Why a lead-in disagrees with the findings, or None: it names a component with no validated finding
    (while some validated), leaves out the strongest, or uses an internal name (a tool or a setting)."""
    named = set(NAMED.findall(text))
    validated = [f["short"] for f in strongest_first(findings) if f["status"] == "validated"]
    if validated and named - set(validated):
        return f"it names {', '.join(sorted(named - set(validated)))}, which no validated finding supports"
    if len(validated) > 1 and named and validated[0] not in named:
        return f"it leaves out the strongest validated component, {validated[0]}"
    internal = internal_names().search(text)
    if internal:
        return f"it uses the internal name '{internal.group(0)}'"
    return None


@functools.cache
def internal_names() -> re.Pattern:
    """Tool and setting names: words of sleuth's own, never of a user's answer."""
    from sleuth.config import AgentSettings
    from sleuth.tools import load_all

    names = sorted({*load_all(), *AgentSettings.model_fields}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(map(re.escape, [n for n in names if "_" in n])) + r")\b")


def contradicts(text: str, findings: list[dict]) -> bool:
    """Does the lead-in say something about validation that the stored statuses do not, or name a
    head or neuron that has no finding (a small LLM writes L3H100 for L3N100)?"""
    if set(NAMED.findall(text)) - {f["short"] for f in findings}:
        return True
    statuses = {f["status"] for f in findings}
    denies = bool(DENIES.search(text)) or bool(FAILS.search(text))
    affirms = bool(AFFIRMS.search(DENIES.sub("", text)))
    return (denies and statuses == {"validated"}) or (affirms and "validated" not in statuses)


@metered
def answer(state: dict, deps) -> dict:
    findings, partial = state.get("findings", []), state.get("partial")
    if not findings:
        text = f"No finding{': ' + partial if partial else ''}."
        deps.on_event("answer_token", {"text": text})
        return {"answer": text, "status": "partial", "stage": "done", "messages": [{"role": "assistant", "content": text}]}
    lead = ""
    if deps.llm is not None:
        prompt = render("answer", question=state["question"], findings=findings, partial=partial,
                        notation="L{layer}H{head} / L{layer}N{neuron}")
        try:
            lead = deps.llm.chat([{"role": "user", "content": prompt}], max_tokens=120).strip()
        except LLMUnreachable:
            raise
        except LLMError as exc:
            deps.on_event("error", {"message": f"answer: {exc}"})
        why = (contradicts(lead, findings) and "it contradicts a stored status") or disagrees(lead, findings)
        if lead and why:
            deps.on_event("error", {"message": f"answer: the LLM's lead-in was dropped: {why}"})
            lead = ""
    named = set(NAMED.findall(lead))
    validated = {f["short"] for f in findings if f["status"] == "validated"}
    if len(validated) > 1 and len(named & validated) < len(validated):  # the prose read first names them all, or says so
        lead = names_line(findings) + (" " + lead if lead else "")
    facts = "\n".join(fact(f) for f in strongest_first(findings))
    stopped = f"\nThe investigation stopped early: {partial}." if partial else ""
    text = (lead + "\n" if lead else "") + facts + left_over(state.get("shape") or {}) + stopped
    deps.on_event("answer_token", {"text": text})
    return {"answer": text, "status": "partial" if partial else "done", "stage": "done",
            "messages": [{"role": "assistant", "content": text}]}
