"""The prompts of the RAG generator and judges, and the parsers of their replies.

Every judge asks for one word out of a fixed set and reads the reply with a parser that either
finds exactly one of the allowed words or gives up: an unreadable reply is a counted failure,
never a default label. The prompts follow the TREC 2024 RAG track's AutoNuggetizer and support
assessment prompts in spirit, shortened for small models.
"""

from __future__ import annotations

import re

SYSTEM = "You are a careful assistant that follows the instructions exactly."

ANSWER = (
    "Answer the question using only the numbered passages below. Write short sentences and end "
    "each sentence with the number of the passage that supports it in brackets, like [1] or [2]. "
    "Use at most {max_words} words.\n\n{passages}\n\nQuestion: {query}\nAnswer:"
)
NUGGETS = (
    "Question: {query}\n\nPassages:\n{passages}\n\nList up to {count} short facts (nuggets) from the "
    "passages that a good answer to the question must contain. Write one fact per line, each line "
    "starting with '- '."
)
IMPORTANCE = (
    "Question: {query}\nFact: {nugget}\n\nIs this fact vital (a good answer must contain it) or okay "
    "(good to have but not necessary)? Reply with one word: vital or okay."
)
ASSIGN = (
    "Question: {query}\nAnswer: {answer}\nFact: {nugget}\n\nDoes the answer contain the fact? Reply "
    "with one word: support (fully contained), partial (partly contained) or not (not contained)."
)
SUPPORT = (
    "Passage: {passage}\nSentence: {sentence}\n\nDoes the passage support the sentence? Reply with one "
    "word: full, partial or no."
)
CLAIMS = (
    "Text: {text}\n\nList the factual claims the text makes, as short standalone sentences, one per "
    "line, each line starting with '- '. List at most {count}."
)
CHECK = (
    "Reference: {reference}\nClaim: {claim}\n\nDoes the reference state or imply the claim? Reply yes or no."
)

_WORD = re.compile(r"[a-z_]+")
_CITE = re.compile(r"\[(\d{1,3})\]")
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s*")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def parse_importance(reply: str) -> str | None:
    found = {w for w in words(reply)[:5]} & {"vital", "okay", "ok"}
    if found == {"vital"}:
        return "vital"
    if found and "vital" not in found:
        return "okay"
    return None


def parse_assignment(reply: str) -> str | None:
    head = words(reply)[:5]
    if not head:
        return None
    known = ("support", "supported", "partial", "partially", "not", "no", "partial_support", "not_support",
             "full", "fully", "yes")  # fmt: skip
    hits = [w for w in head if w in known]
    if not hits:
        return None
    first = hits[0]
    if first.startswith("partial"):
        return "partial_support"
    if first in ("not", "no", "not_support"):
        return "not_support"
    return "support"


def parse_support(reply: str) -> str | None:
    head = words(reply)[:5]
    for w in head:
        if w in ("full", "fully", "yes", "supports", "support"):
            return "full"
        if w.startswith("partial"):
            return "partial"
        if w in ("no", "not", "none"):
            return "no"
    return None


def parse_yes_no(reply: str) -> bool | None:
    for w in words(reply)[:5]:
        if w in ("yes", "true", "entailed", "correct"):
            return True
        if w in ("no", "false", "not", "incorrect"):
            return False
    return None


def parse_list(reply: str, limit: int) -> list[str]:
    """Bullet (or numbered) lines of a reply, cleaned, each once, at most ``limit``."""
    found: list[str] = []
    for line in reply.splitlines():
        if not _BULLET.match(line) and found:
            continue
        text = " ".join(_BULLET.sub("", line).split()).strip(" -")
        if len(text.split()) >= 2 and text.lower() not in {f.lower() for f in found}:
            found.append(text)
        if len(found) >= limit:
            break
    return found


def parse_cited_answer(reply: str, k: int, max_words: int) -> tuple[list[tuple[str, tuple[int, ...]]], int]:
    """An answer's sentences with their citations (0-based), cut at ``max_words``; and the number of
    citation markers dropped because they name no passage given."""
    from ragbench.formats.rag import split_sentences

    sentences: list[tuple[str, tuple[int, ...]]] = []
    dropped = 0
    total = 0
    for raw in split_sentences(" ".join(reply.split())):
        cites: list[int] = []
        for number in _CITE.findall(raw):
            index = int(number) - 1
            if 0 <= index < k and index not in cites:
                cites.append(index)
            elif not 0 <= index < k:
                dropped += 1
        text = " ".join(_CITE.sub("", raw).split())
        if not text or not any(c.isalnum() for c in text):
            continue
        size = len(text.split())
        if total + size > max_words:
            break
        total += size
        sentences.append((text, tuple(cites)))
    return sentences, dropped
