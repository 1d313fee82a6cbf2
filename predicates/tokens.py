"""TokenView: what predicates read of a tokenized text, computed once per text.

Tokens are the target tokenizer's pieces as text (SmolLM2: " word"). Their
concatenation is the text; each token knows its character span, its whole word
(the run of word characters it overlaps), the number it is part of, and whether it
lies inside quotes, brackets or backticks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

WORD = re.compile(r"\w+")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
OPEN, CLOSE = "([", ")]"


@dataclass
class TokenView:
    tokens: list[str]
    _spans: list[tuple[int, int]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._spans, start = [], 0
        for token in self.tokens:
            self._spans.append((start, start + len(token)))
            start += len(token)

    def __len__(self) -> int:
        return len(self.tokens)

    @cached_property
    def text(self) -> str:
        return "".join(self.tokens)

    @cached_property
    def stripped(self) -> list[str]:
        """Each token stripped of whitespace and case-folded."""
        return [t.strip().casefold() for t in self.tokens]

    def _overlapping(self, pattern: re.Pattern) -> list[re.Match | None]:
        """Per token: the first match of `pattern` in the text that overlaps the token's non-space chars."""
        matches = list(pattern.finditer(self.text))
        out, j = [], 0
        for start, end in self._spans:
            token = self.text[start:end]
            lead = len(token) - len(token.lstrip())
            start, end = start + lead, end - (len(token) - len(token.rstrip()) if token.strip() else 0)
            while j < len(matches) and matches[j].end() <= start:
                j += 1
            hit = matches[j] if j < len(matches) and matches[j].start() < end and start < end else None
            out.append(hit)
        return out

    @cached_property
    def words(self) -> list[str]:
        """Per token: the whole word containing it (case-folded), or the stripped token when none."""
        return [m.group(0).casefold() if m else s for m, s in zip(self._overlapping(WORD), self.stripped)]

    @cached_property
    def raw_words(self) -> list[str]:
        """Per token: the whole word containing it, case kept (for case-sensitive regexes)."""
        return [m.group(0) if m else t.strip() for m, t in zip(self._overlapping(WORD), self.tokens)]

    @cached_property
    def numbers(self) -> list[float | None]:
        """Per token: the value of the whole number it is part of, or None."""
        return [float(m.group(0)) if m else None for m in self._overlapping(NUMBER)]

    @cached_property
    def integer_numbers(self) -> list[bool]:
        return [bool(m) and "." not in m.group(0) for m in self._overlapping(NUMBER)]

    def inside(self, kind: str) -> list[bool]:
        return self._inside[kind]

    @cached_property
    def _inside(self) -> dict[str, list[bool]]:
        chars = {"quotes": _toggled(self.text, '"'), "code": _toggled(self.text, "`", runs=True),
                 "brackets": _nested(self.text)}
        return {kind: [any(flags[i] for i in range(s, e) if not self.text[i].isspace()) for s, e in self._spans]
                for kind, flags in chars.items()}


def _toggled(text: str, mark: str, runs: bool = False) -> list[bool]:
    """Per char: strictly between an opening and a closing `mark` (the marks themselves are outside).
    With `runs`, a run of marks counts as one (``code`` as well as `code`)."""
    flags, on = [], False
    for i, ch in enumerate(text):
        if ch == mark:
            if not (runs and i and text[i - 1] == mark):
                on = not on
            flags.append(False)
        else:
            flags.append(on)
    return flags


def _nested(text: str) -> list[bool]:
    flags, depth = [], 0
    for ch in text:
        if ch in OPEN:
            depth += 1
            flags.append(False)
        elif ch in CLOSE:
            depth = max(0, depth - 1)
            flags.append(False)
        else:
            flags.append(depth > 0)
    return flags
