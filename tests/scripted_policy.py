"""A rule-based fake LLM policy for agent tests, served by FakeLLM over real HTTP.

It answers by the JSON schema the agent asks for. Its hypotheses come from the real
data in the prompt (the marked strongest token), and its judge marks a text as firing
when a quoted keyword of the description occurs in it, so scores follow the real
activations and the real description.
"""

from __future__ import annotations

import ast
import json
import re

MARK = re.compile(r"\[\[(.+?)\]\]")
QUOTED = re.compile(r"'([^']+)'")


def _texts(prompt: str) -> list[str]:
    return re.findall(r"^<<<DATA\n(.*?)\nDATA>>>", prompt, re.S | re.M)


def _description(prompt: str) -> str:
    m = re.search(r"<<<DATA description\n(.*?)\nDATA>>>", prompt, re.S)
    return m.group(1) if m else ""


def keywords(text: str) -> list[str]:
    return [k.strip().lower() for k in QUOTED.findall(text) if k.strip()]


def _fires(keys: list[str], text: str) -> bool:
    """A keyword in the text, or in its marked token where one is marked (a fuzzing-style question)."""
    marked = MARK.findall(text)
    return any(k in (marked[0] if marked else text).lower() for k in keys)


def investigator(request: dict) -> str | dict | None:
    fmt = request.get("response_format") or {}
    title = (fmt.get("schema") or {}).get("title")
    prompt = request["messages"][-1]["content"]
    if title == "Hypotheses":
        marked = MARK.findall("\n".join(re.findall(r"^<<<DATA[^\n]*\n(.*?)\nDATA>>>", prompt, re.S | re.M)))
        token = max(set(marked), key=marked.count).strip() if marked else "the"
        return {"hypotheses": [{"statement": f"fires on the token '{token}'", "rule": {"token_in": [token or "the"]}},
                               {"statement": "fires on 'zebra'", "rule": {"token_in": ["zebra"]}}]}
    if title == "RevisedRule":
        return revised_rule(prompt)
    if title == "ClassGuess":  # members no planted unit fires on: the class step measures them and keeps none
        return {"class_name": "words of one kind", "members": ["zebra", "quokka", "narwhal"]}
    if title == "TestTexts":
        keys = [k for k in keywords(prompt) if k != "zebra"] or ["the"]
        k = keys[0]
        return {"texts": [f"We saw {k} here.", f"{k} {k} again", "A zebra is yellow.", "Numbers 1 2 3 4.",
                          f"Then {k}, and more", "Nothing to see"]}
    if title == "ContrastTexts":
        return {"positive": ["On 12 May 2020 we met.", "Born 3 June 1999.", "Due 1 Jan 2001."],
                "negative": ["We met at noon.", "Born in a small town.", "Due soon."]}
    if title == "HeadKinds":
        return {"kinds": ["induction", "previous_token"], "reason": "repeated text links"}
    if title == "Counterfactual":
        return {"corrupt": "When Mary and John went to the store, Mary gave a drink to", "foil": "John",
                "paraphrase": "When Mary and John went to the park, John gave a ball to",
                "paraphrase_corrupt": "When Mary and John went to the park, Mary gave a ball to"}
    if title == "DescriptionDraft" and "Its attention rule: the head attends to" in prompt:
        attends = re.search(r"Its attention rule: the head attends to (.*?)\.\n", prompt).group(1)
        return {"description": f"Each token attends to {attends}.",
                "claims": [{"text": f"It ranks high on attention to {attends}", "basis": "head_scan"}]}
    if title == "AttentionChoices":
        return {"choices": attention_choices(prompt)}
    if title == "RelationChoice":
        return {"relation": head_relation(_description(prompt))}
    if title == "DescriptionDraft":
        rule = stated_rule(prompt)
        keys = rule.get("token_in") or [k for k in keywords(prompt) if k != "zebra"]
        if rule.get("token_in"):
            words = ", ".join(f"'{w}'" for w in keys)
            return {"description": f"Fires on the words {words}.",
                    "claims": [{"text": f"The rule fits the corpus windows: {words}", "basis": "top_examples"}]}
        key = keys[0] if keys else "the"
        return {"description": f"Fires on the token '{key}'.",
                "claims": [{"text": f"Top corpus examples peak on '{key}'", "basis": "top_examples"},
                           {"text": "Test texts confirm it", "basis": "test_texts"}]}
    if title == "Judgements":
        hypothesis = re.search(r"<<<DATA hypothesis\n(.*?)\nDATA>>>", prompt, re.S)
        keys = keywords(_description(prompt)) or (keywords(hypothesis.group(1)) if hypothesis else [])
        texts = [t for t in _texts(prompt)][-_count(prompt):]
        return {"answers": [_fires(keys, t) for t in texts]}
    if title == "SteeringPicks":
        return {"picks": steering_picks(keywords(_description(prompt)), _texts(prompt))}
    if title == "Reading":  # the read-back reader: the quoted words of the description, as a token_in rule
        words = _description(prompt)
        return {"statement": words, "rule": {"token_in": keywords(words) or ["nothing-quoted"]}}
    if title == "ClassMembers":  # the reader asked for a class's members: the quoted examples, none beyond
        return {"members": keywords(_description(prompt)) or ["nothing-quoted"]}
    if title == "TokenGuesses":
        keys = keywords(_description(prompt))
        lists = [json.loads(t) for t in _texts(prompt)]
        return {"tokens": [[t for t in toks if t.strip().lower() in keys] for toks in lists]}
    if title == "Action":
        layer, head = map(int, re.search(r"blocks\.(\d+)\.attn\.hook_z\[(\d+)\]", prompt).groups())
        if "could not run" not in prompt:  # first a call the target rejects (head out of range), then a valid one
            head = 99
        return {"call": {"tool": "attention_pattern", "args": {"layer": layer, "head": head, "texts": ["a b a b"]},
                         "reason": "look at the pattern on a repeat"}}
    if not fmt:
        return "The investigation found the findings listed above."
    return None


def steering_picks(keys: list[str], texts: list[str]) -> list[str]:
    """For each (prompt, A, B): the continuation with more of the description's quoted words; A on a tie."""
    def count(text):
        return sum(text.lower().count(k) for k in keys)
    return ["B" if count(b) > count(a) else "A" for _, a, b in zip(texts[0::3], texts[1::3], texts[2::3])]


def stated_rule(prompt: str) -> dict:
    m = re.search(r"^rule: <<<DATA\n(.*?)\nDATA>>>", prompt, re.S | re.M)
    return json.loads(m.group(1)) if m else {}


def _section(prompt: str, header: str) -> list[str]:
    """The marked tokens of the data blocks under a header line (up to the next header)."""
    m = re.search(header + r"[^\n]*\n(.*?)(?:\n[A-Z][^<\n]*:\n|\nA rule is)", prompt, re.S)
    return [t.strip().casefold() for t in MARK.findall(m.group(1))] if m else []


def revised_rule(prompt: str) -> dict:
    """Add the false negatives' words to a token_in rule and drop the false positives' words."""
    words = list(stated_rule(prompt).get("token_in", []))
    missed, wrong = _section(prompt, "Tokens where the component fires"), _section(prompt, "Tokens where the rule fires")
    words = [w for w in dict.fromkeys(words + missed) if w and w not in wrong] or ["the"]
    return {"statement": "fires on " + ", ".join(f"'{w}'" for w in words), "rule": {"token_in": words}}


def head_relation(description: str) -> str:
    """The position a head description's words name (the judge reads only the text)."""
    description = description.lower()
    if "after an earlier copy" in description or "induction" in description:
        return "after_previous_occurrence"
    if "earlier cop" in description:
        return "same_token_earlier"
    if "just before" in description or "previous" in description:
        return "previous_token"
    if "first token" in description:
        return "first_token"
    if "itself" in description:
        return "self"
    return "something_else"


RELATION_TAG = {"after_previous_occurrence": "right after an earlier copy", "same_token_earlier": "an earlier copy of",
                "previous_token": "just before the query", "first_token": "the first token", "self": "itself"}


def attention_choices(prompt: str) -> list[str]:
    """Apply the head description's words to each query's options."""
    relation = head_relation(_description(prompt))
    wanted = RELATION_TAG.get(relation, "itself")
    choices = []
    for block in re.findall(r"<<<DATA query\n(.*?)\nDATA>>>", prompt, re.S):
        options = re.findall(r"^([ABCD])\) .*?: (.*)$", block, re.M)
        hit = [letter for letter, tags in options if wanted in tags and
               not (relation == "same_token_earlier" and "right after" in tags)]
        choices.append(hit[0] if hit else "A")
    return choices


def _count(prompt: str) -> int:
    m = re.search(r"exactly (\d+) booleans", prompt)
    return int(m.group(1)) if m else 0


def evaluator(request: dict) -> str | dict | None:
    """The investigator plus the eval's own steps: one-shot descriptions, the predictor and the judge.
    Each follows what it reads: the marked tokens, the quoted words of a description."""
    fmt = request.get("response_format") or {}
    title = (fmt.get("schema") or {}).get("title")
    prompt = request["messages"][-1]["content"]
    if title == "OneShotDescription":
        marked = MARK.findall(prompt)
        token = max(set(marked), key=marked.count).strip() if marked else "the"
        return {"description": f"Fires on the token '{token}'.", "rule": {"token_in": [token]}}
    if title == "HeadDescription":
        return {"description": "Each token attends to the token immediately before it: a 'previous-token' head."}
    if title == "HeadChoice":
        labels = re.findall(r"\b(L\d+H\d+) (\d\.\d+)", prompt)
        return {"heads": [label for label, score in labels if float(score) >= 0.4][:4]}
    if title == "Choice":  # the option sharing more words with the description matches (both on a tie)
        description = _description(prompt)
        first, second = (re.search(rf"<<<DATA {name}\n(.*?)\nDATA>>>", prompt, re.S).group(1) for name in "AB")
        words = lambda text: {w.lower() for w in re.findall(r"[A-Za-z]{4,}", text)}  # noqa: E731
        shared = [len(words(description) & words(s)) for s in (first, second)]
        return {"a_matches": shared[0] >= shared[1], "b_matches": shared[1] >= shared[0]}
    if title == "TokenGuesses" and "listed once for each place" in prompt:
        keys = keywords(_description(prompt))
        lists = [json.loads(t) for t in _texts(prompt)]
        return {"tokens": [[t for t in toks if t.strip().lower() in keys] for toks in lists]}
    return investigator(request)


def labeler(request: dict) -> str | dict | None:
    """The investigator plus `sleuth label`'s explainer: it labels a unit by its most often marked token."""
    fmt = request.get("response_format") or {}
    title = (fmt.get("schema") or {}).get("title")
    prompt = request["messages"][-1]["content"]
    if title in ("LabelDraft", "LabelText"):
        marked = [m.strip().casefold() for m in MARK.findall(prompt) if m.strip()]
        token = max(set(marked), key=marked.count) if marked else "the"
        reply = {"label": f"Fires on the token '{token}'."}
        return {**reply, "rule": {"token_in": [token]}} if title == "LabelDraft" else reply
    return investigator(request)
