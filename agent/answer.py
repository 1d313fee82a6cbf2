"""The final answer. Each finding's status is stated by code exactly as stored; the LLM only
writes a short lead-in around those facts, and a lead-in that contradicts a finding is dropped."""

from __future__ import annotations

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
    return f"\n{n} more candidate{'s' if n != 1 else ''} cleared the sweep's line but {'were' if n != 1 else 'was'} " \
           f"left unconfirmed (search_shortlist bounds the batch)." if n else ""


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
        if lead and contradicts(lead, findings):
            deps.on_event("error", {"message": "answer: the LLM's lead-in contradicted a stored finding; dropped"})
            lead = ""
    facts = "\n".join(fact(f) for f in findings)
    stopped = f"\nThe investigation stopped early: {partial}." if partial else ""
    text = (lead + "\n" if lead else "") + facts + left_over(state.get("shape") or {}) + stopped
    deps.on_event("answer_token", {"text": text})
    return {"answer": text, "status": "partial" if partial else "done", "stage": "done",
            "messages": [{"role": "assistant", "content": text}]}
