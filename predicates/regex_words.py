"""Simple regexes said in plain words, and a check that words carry no rule syntax.

A person reads "a word made of a capital letter followed by one or more lower-case letters", not
`^[A-Z][a-z]+$`. `regex_in_words` renders the small regexes that rules use (anchors, literal runs,
letter/digit classes, quantifiers, an alternation of literal words); anything else gives None and
the caller decides. `has_rule_syntax` flags words that still carry a regex, JSON or a predicate key.
"""

from __future__ import annotations

import re

CLASSES = {"[A-Z]": ("a capital letter", "capital letters"), "[a-z]": ("a lower-case letter", "lower-case letters"),
           "[0-9]": ("a digit", "digits"), "\\d": ("a digit", "digits"), "[A-Za-z]": ("a letter", "letters"),
           "[a-zA-Z]": ("a letter", "letters"), "\\w": ("a letter, digit or underscore", "letters, digits or underscores"),
           "\\s": ("a space or line break", "spaces or line breaks"), ".": ("any character", "any characters"),
           "[^\\W\\d_]": ("a letter", "letters")}
NAMED = {"\n": ("a line break", "line breaks"), " ": ("a space", "spaces"), "\t": ("a tab", "tabs"),
         "_": ("an underscore", "underscores")}
_ATOM = re.compile(r"\((?:\?:)?[\w\-']+(?:\|[\w\-']+)*\)|\[\^?(?:\\.|[^\]\\])+\]|\\[dws]|\\.|\.|[^\\^$|()\[\]{}*+?]")
_QUANT = re.compile(r"\+|\*|\?|\{(\d+)(,(\d*))?\}")
_LITERAL_WORDS = re.compile(r"\^?(?:\(\?:)?(?P<words>[\w\-']+(?:\|[\w\-']+)+)\)?\$?")
# what a person does not write: a /pattern/ with regex operators, inline flags, escapes, JSON, predicate keys
RULE_SYNTAX = re.compile(r"/[^/\s]*[\\^$\[\](){}|*+?][^/]*/|\(\?[imsx:]|\\[bdwsSWDB]|\{\s*\"|\"\s*:\s*[\[{\"\d]"
                         r"|\b(?:token_in|previous_token_in|context_regex|divisible_by)\b")


def has_rule_syntax(words: str) -> bool:
    """True when words carry regex syntax, JSON or a predicate key (what a reader needs a manual for)."""
    return bool(RULE_SYNTAX.search(words or ""))


def _named(char: str) -> str:
    return NAMED[char][0] if char in NAMED else f"'{char}'"


def _quantified(atom: str, quant: str | None) -> str | None:
    """One atom and its quantifier, e.g. ('[a-z]', '+') -> 'one or more lower-case letters'."""
    if atom in CLASSES:
        one, many = CLASSES[atom]
    elif len(atom) == 1 or (len(atom) == 2 and atom[0] == "\\" and not atom[1].isalnum()):
        one = _named(atom[-1])
        many = f"{one} characters" if atom[-1] not in NAMED else NAMED[atom[-1]][1]
    elif atom.startswith("("):  # a group of literal alternatives: (un|re)
        words = atom.removeprefix("(").removeprefix("?:").removesuffix(")").split("|")
        one = " or ".join(f"'{w}'" for w in words)
        many = f"repeats of {one}"
    elif re.fullmatch(r"\[[^\]\\^-]+\]", atom):  # a set of literal characters: [aeiou]
        chars = ", ".join(_named(c) for c in atom[1:-2]) + f" or {_named(atom[-2])}"
        one, many = f"one of {chars}", f"characters among {chars}"
    else:
        return None
    if not quant:
        return one
    if quant == "+":
        return f"one or more {many}"
    if quant == "*":
        return f"any number of {many}"
    if quant == "?":
        return f"optionally {one}"
    low, comma, high = _QUANT.fullmatch(quant).group(1, 2, 3)
    if not comma:
        return f"exactly {low} {many}"
    return f"{low} or more {many}" if not high else f"{low} to {high} {many}"


def _pieces(body: str) -> list[str] | None:
    """The body (no anchors, no flags) as parts in words; literal runs kept together ('ing')."""
    parts, literal, i = [], "", 0
    while i < len(body):
        atom = _ATOM.match(body, i)
        if atom is None:
            return None
        i = atom.end()
        quant = _QUANT.match(body, i)
        q = quant.group(0) if quant else None
        if quant:
            i = quant.end()
        token = atom.group(0)
        plain = token[-1] if token.startswith("\\") and not token[1].isalnum() else token
        if q is None and len(plain) == 1 and token not in CLASSES:
            literal += plain
            continue
        if literal:
            parts.append(_literal(literal))
            literal = ""
        said = _quantified(token, q)
        if said is None:
            return None
        parts.append(said)
    if literal:
        parts.append(_literal(literal))
    return parts


def _literal(run: str) -> str:
    return _named(run) if run in NAMED else f"'{run}'"


def regex_in_words(pattern: str, noun: str = "word") -> str | None:
    """`pattern` as a phrase about a `noun` ("a word ending with 'ing'"), or None if it is not simple."""
    caseless = pattern.startswith("(?i)")
    body = pattern[4:] if caseless else pattern
    case = " (any case)" if caseless else ""
    listed = _LITERAL_WORDS.fullmatch(body.replace("(?:", "").replace(")", ""))
    if listed and not any(c in body.replace("(?:", "") for c in "[]\\.*+?{}"):
        words = listed["words"].split("|")
        said = ", ".join(f"'{w}'" for w in words[:-1]) + f" or '{words[-1]}'"
        start, end = body.startswith("^"), body.endswith("$")
        where = ("that is exactly" if start and end else "beginning with" if start else "ending with" if end else "containing")
        return f"a {noun} {where} {said}{case}"
    start, end = body.startswith("^"), body.endswith("$") and not body.endswith("\\$")
    core = body[1 if start else 0:len(body) - 1 if end else len(body)]
    whole = core.startswith("\\b") and core.endswith("\\b") and len(core) > 4
    parts = _pieces(core[2:-2] if whole else core)
    if not parts:
        return None
    seq = ("the whole word " if whole else "") + " followed by ".join(parts)
    where = ("made of" if start and end else "beginning with" if start else "ending with" if end else "containing")
    return f"a {noun} {where} {seq}{case}"
