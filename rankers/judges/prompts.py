"""Relevance prompts: ``umbrela`` (UMBRELA's 0-3 criteria, in our own words), ``basic``, or a file.

A prompt is a template with the placeholders ``{query}`` and ``{passage}`` (each exactly where the
text goes; ``{{`` and ``}}`` are literal braces). The judge asks for a reply that ends with a line
``Grade: N``; the parser (:func:`parse_grade`) is strict about it. UMBRELA (Upadhyay et al. 2024)
follows Thomas et al.'s prompt of the Bing study: the judge first considers what the searcher wants
and how well and how trustworthily the passage meets it, then gives one overall grade on the TREC
0-3 scale; the wording below is ours.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from pathlib import Path

from ragbench.errors import InputError

PLACEHOLDERS = ("query", "passage")
GRADES = (0, 1, 2, 3)

UMBRELA = """You are judging how useful a search result is to the person who searched.

The search was:
{query}

The result is this passage:
{passage}

Grade the passage on this scale:
3 = the passage is devoted to the search and contains the exact answer or information wanted;
2 = the passage answers the search, but the answer is partial, unclear, or buried in other text;
1 = the passage is on a related subject but does not answer the search;
0 = the passage has nothing to do with the search.

Think briefly about what the searcher wants, then how well the passage matches that need and how
trustworthy it is. Then give one overall grade. End your reply with a line of exactly this form:
Grade: N
where N is 0, 1, 2 or 3."""

BASIC = """Search query: {query}

Passage: {passage}

How relevant is the passage to the search query? 0 = not relevant, 1 = related but not
answering, 2 = relevant, 3 = perfectly relevant. Reply with one line only: Grade: N"""

BUILTIN = {"umbrela": UMBRELA, "basic": BASIC}

REPAIR = (
    "Your reply did not end with a grade in the required form. Reply with exactly one line: "
    "Grade: N, where N is 0, 1, 2 or 3."
)
"""The follow-up turn after a reply that cannot be parsed (one retry by default)."""


@dataclass(frozen=True)
class JudgePrompt:
    """A relevance prompt: its name (``umbrela``, ``basic`` or the file's path), template and hash."""

    name: str
    template: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.template.encode("utf-8")).hexdigest()

    def render(self, query: str, passage: str) -> str:
        """The template with the query and passage filled in (one pass: text containing braces
        or a placeholder's name is inserted as it is)."""
        values = {"query": query, "passage": passage}
        return _FIELD.sub(lambda m: values[m.group(1)] if m.group(1) else m.group(0)[0], self.template)


_FIELD = re.compile(r"\{(query|passage)\}|\{\{|\}\}")


def load_prompt(name_or_file: str) -> JudgePrompt:
    """``umbrela``, ``basic``, or a prompt file (UTF-8 text with ``{query}`` and ``{passage}``).

    Raises:
        InputError: no such file, or the template lacks a placeholder or has an unknown one
            (naming the file and the placeholder).
    """
    if name_or_file in BUILTIN:
        return JudgePrompt(name_or_file, BUILTIN[name_or_file])
    path = Path(name_or_file).expanduser()
    if not path.is_file():
        raise InputError(
            f"--prompt {name_or_file}: neither {' nor '.join(BUILTIN)} nor a prompt file that exists"
        )
    try:
        template = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the prompt: {exc}") from None
    check_template(template, str(path))
    return JudgePrompt(str(path), template)


def check_template(template: str, name: str) -> None:
    """Raise InputError unless ``template`` has ``{query}`` and ``{passage}`` and no other field."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise InputError(
            f"{name}: not a prompt template ({exc}); write literal braces as {{{{ and }}}}"
        ) from None
    missing = [p for p in PLACEHOLDERS if p not in fields]
    if missing:
        raise InputError(
            f"{name}: the prompt must contain the placeholders {{query}} and {{passage}}; "
            f"{', '.join('{' + m + '}' for m in missing)} missing"
        )
    unknown = sorted(fields - set(PLACEHOLDERS))
    if unknown:
        raise InputError(
            f"{name}: unknown placeholder {', '.join('{' + u + '}' for u in unknown)} "
            "(use {query} and {passage}; literal braces as {{ and }})"
        )


_GRADE_LINE = re.compile(r"^\W*(?:final\s+)?(?:grade|score|relevance)\W*[:=]\s*\W*(\d+)\W*$", re.IGNORECASE)
_BARE = re.compile(r"^\W*(\d+)\W*$")


def parse_grade(reply: str) -> int | None:
    """The grade in a judge's reply, or ``None`` when it has none that can be trusted.

    Accepted: a reply that is only a grade (``2``, ``"2."``), or a reply whose grade lines
    (``Grade: 2``, ``Final score = 2``, ``**Grade:** 2``) all give the same value. Refused: no such
    line, a value outside 0-3, grade lines that disagree. A number elsewhere in the text is never
    taken for a grade (the reference tools turn anything they cannot read into 0).
    """
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    if not lines:
        return None
    if len(lines) == 1 and (bare := _BARE.match(lines[0])):
        value = int(bare.group(1))
        return value if value in GRADES else None
    found = {int(m.group(1)) for line in lines if (m := _GRADE_LINE.match(line))}
    if len(found) != 1:
        return None
    value = found.pop()
    return value if value in GRADES else None
