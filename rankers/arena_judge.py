"""An LM as an arena voter: each battle judged in both orders, with provenance.

Position bias is the best-known failure of LM judges (Zheng et al., MT-Bench, 2023): the same
pair is judged once with side ``a`` first and once with ``b`` first. A verdict counts only when
both orders agree on the winner; a judge that changes its mind when the sides swap gives a tie
(``consistent`` false), as MT-Bench's protocol does. Replies are read strictly: a reply must name
exactly one of ``1``, ``2`` or ``tie`` as a word of its own ("2", "The answer is 1.", "Tie");
one that names none, or more than one ("Response 1 is worse than 2"), is a failure, counted and
reported, never a vote. Every verdict carries the provenance of both replies (model, backend
fingerprint, prompt hashes, decoding parameters, the replies themselves), and the LM layer's
cache makes a rerun free and identical.

Battles between two rankings ask which result list better serves the query (an ``evidence``
verdict); battles with an answer ask which answer is better (an ``answer`` verdict).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rankers.lm import LMClient, Message, Reply

PROMPT_VERSION = "arena-v1"
MAX_TOKENS = 6
SIDE_CHARS = 2400
"""Characters of one side shown to the judge (answers and document texts are cut beyond)."""
DOC_CHARS = 300
_VERDICT = re.compile(r"(?<![\w.])(1|2|tie)(?![\w]|\.\d)", re.IGNORECASE)

SYSTEM = (
    "You are a careful assessor comparing two responses to a search query. Judge which response "
    "better satisfies the information need: relevant, correct, complete and clearly supported. "
    "Ignore the order in which the responses are shown and their length as such. Reply with "
    "exactly one of: 1 (the first is better), 2 (the second is better), tie."
)
TASK = {
    "evidence": "Which result list better serves the query?",
    "answer": "Which answer is better?",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judge's verdict on one battle (or why there is none).

    Attributes:
        battle_id: The battle.
        aspect: ``answer`` or ``evidence``.
        verdict: ``a``, ``b`` or ``tie``; None when a reply could not be read.
        consistent: Whether both orders named the same winner (or both a tie).
        replies: The two replies' texts (``a`` first, then ``b`` first).
        error: Why there is no verdict.
        provenance: Both replies' provenance and what the two orders said.
    """

    battle_id: int
    aspect: str
    verdict: str | None
    consistent: bool
    replies: tuple[str, str]
    error: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)


def _text(side: Mapping[str, Any]) -> str:
    if side.get("kind") == "answer":
        text = str(side.get("text", ""))
        passages = side.get("passages") or []
        if passages:
            text += "\nCited passages:\n" + "\n".join(
                f"[{p.get('id', i + 1)}] {str(p.get('text', ''))[:DOC_CHARS]}" for i, p in enumerate(passages)
            )
    else:
        lines = []
        for item in side.get("items") or []:
            body = " ".join(x for x in (str(item.get("title", "")), str(item.get("text", ""))) if x)
            lines.append(f"{item.get('rank')}. [{item.get('doc_id')}] {body[:DOC_CHARS]}".rstrip())
        text = "\n".join(lines)
    return text if len(text) <= SIDE_CHARS else text[:SIDE_CHARS] + " …"


def conversation(
    query: str, aspect: str, first: Mapping[str, Any], second: Mapping[str, Any]
) -> list[Message]:
    """The chat that asks for one order's verdict."""
    user = (
        f"Query: {query}\n\nResponse 1:\n{_text(first)}\n\nResponse 2:\n{_text(second)}\n\n"
        f"{TASK[aspect]} Reply with 1, 2 or tie."
    )
    return [Message(role="system", content=SYSTEM), Message(role="user", content=user)]


def parse(reply: str) -> str | None:
    """``first``, ``second`` or ``tie`` when the reply names exactly one of ``1``, ``2``, ``tie``
    (as words of their own); None otherwise."""
    named = {m.lower() for m in _VERDICT.findall(reply)}
    if len(named) != 1:
        return None
    return {"1": "first", "2": "second"}.get(named.pop(), "tie")


def combine(in_order: str, swapped: str) -> tuple[str, bool]:
    """The verdict of two orders: ``in_order`` saw ``a`` first, ``swapped`` saw ``b`` first.
    The same winner both times is that winner; anything else is a tie (``consistent`` False
    unless both said tie)."""
    first = {"first": "a", "second": "b", "tie": "tie"}[in_order]
    second = {"first": "b", "second": "a", "tie": "tie"}[swapped]
    if first == second:
        return first, True
    return "tie", False


def judge_key(client: LMClient) -> str:
    """A name for the judge (model, backend fingerprint, prompt version, decoding): its votes are
    filed under ``llm:<this>``, one vote per battle."""
    described = client.describe()
    digest = hashlib.sha256(
        repr((described, PROMPT_VERSION, SYSTEM, sorted(TASK.items()), MAX_TOKENS)).encode()
    ).hexdigest()[:12]
    model = str(described.get("model", "lm")).rstrip("/").rsplit("/", 1)[-1][:60]
    return f"{model}:{digest}"


def judge_battles(
    client: LMClient,
    battles: Sequence[Mapping[str, Any]],
    *,
    on_done: Callable[[int], None] | None = None,
) -> list[Verdict]:
    """Judge battles in both orders (module docstring).

    Args:
        client: The LM (any backend of :mod:`rankers.lm`).
        battles: ``{"id", "query", "aspect", "a", "b"}`` each: the sides as stored with the battle.
        on_done: Progress callback (conversations finished).

    Raises:
        EndpointError, LMError: the backend failed (after its retries).
    """
    conversations = []
    for battle in battles:
        aspect = battle["aspect"]
        conversations.append(conversation(battle["query"], aspect, battle["a"], battle["b"]))
        conversations.append(conversation(battle["query"], aspect, battle["b"], battle["a"]))
    replies = client.chat(conversations, max_tokens=MAX_TOKENS, on_done=on_done)
    out = []
    for n, battle in enumerate(battles):
        forward, backward = replies[2 * n], replies[2 * n + 1]
        out.append(_verdict(battle, forward, backward))
    return out


def _verdict(battle: Mapping[str, Any], forward: Reply, backward: Reply) -> Verdict:
    texts = (forward.text, backward.text)
    orders = (parse(forward.text), parse(backward.text))
    provenance: dict[str, Any] = {
        "judge": "arena",
        "prompt_version": PROMPT_VERSION,
        "orders": [
            {"shown_first": "a", "reply": forward.text, "read_as": orders[0], **forward.provenance.to_dict()},
            {
                "shown_first": "b",
                "reply": backward.text,
                "read_as": orders[1],
                **backward.provenance.to_dict(),
            },
        ],
    }
    if orders[0] is None or orders[1] is None:
        bad = texts[0] if orders[0] is None else texts[1]
        return Verdict(
            battle["id"],
            battle["aspect"],
            None,
            False,
            texts,
            error=f"reply {bad[:60]!r} does not name exactly one of 1, 2, tie",
            provenance=provenance,
        )
    verdict, consistent = combine(orders[0], orders[1])
    provenance["consistent"] = consistent
    return Verdict(battle["id"], battle["aspect"], verdict, consistent, texts, provenance=provenance)
