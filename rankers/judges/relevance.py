"""Grading (query, passage) pairs 0-3 with an LM, strictly, with provenance.

For each pair and each sample, the judge sends the prompt (the passage cut to ``doc_words``
words) through an :mod:`rankers.lm` client and parses the reply with
:func:`rankers.judges.prompts.parse_grade`. A reply that cannot be parsed is retried ``retries``
times as a follow-up turn (the reply, then "reply with exactly one line: Grade: N"); a pair whose
every sample stays unparseable is a *failure*: it gets no label, and its last reply is kept to be
listed. Never a silent 0.

With ``samples`` > 1 (at a temperature > 0; sample ``i`` uses seed ``seed + i``) the label is the
mode of the samples' grades; a tie goes to the lowest of the tied grades (LLM judges tend to grade
too high, so a split vote is read conservatively). Unparseable samples do not vote.

``method="logprobs"`` instead reads the grade from the model's probabilities: the log-probability
of each of ``0 1 2 3`` as the reply's first token (:meth:`rankers.lm.LMClient.score_options`), the
label the most probable one. One forward pass per pair, no parsing, so never a failure on a
backend that gives log-probabilities; an endpoint that gives none is an error saying so, and a
pair whose options none of the endpoint's top log-probabilities spell is a failure.

Everything goes through the client's cache, so an interrupted run resumes where it stopped and a
rerun makes no model call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ragbench.errors import InputError
from rankers.judges.prompts import REPAIR, JudgePrompt, parse_grade
from rankers.lm import LMClient, Message, Reply, one_turn

Pair = tuple[str, str, str, str]
"""``(query_id, query text, doc_id, passage text)``."""
DEFAULT_MAX_TOKENS = 96
METHODS = ("generate", "logprobs")
OPTIONS = ("0", "1", "2", "3")
REPAIR_TOKENS = 8


@dataclass(frozen=True)
class Judgment:
    """The judge's verdict on one pair: a label, or a failure (never both)."""

    query_id: str
    doc_id: str
    label: int | None
    failure: str | None
    provenance: dict[str, Any]


def mode_grade(grades: Sequence[int | None]) -> int | None:
    """The most frequent grade of ``grades`` (``None`` entries ignored), the lowest among equals;
    ``None`` when there is none."""
    counts = Counter(g for g in grades if g is not None)
    if not counts:
        return None
    top = max(counts.values())
    return min(g for g, c in counts.items() if c == top)


def cut_words(text: str, words: int) -> str:
    return " ".join(text.split()[:words])


class RelevanceJudge:
    """Grades pairs through ``client`` with ``prompt``; see the module docstring."""

    def __init__(
        self,
        client: LMClient,
        prompt: JudgePrompt,
        *,
        samples: int = 1,
        temperature: float | None = None,
        retries: int = 1,
        max_tokens: int | None = None,
        doc_words: int = 300,
        method: str = "generate",
    ) -> None:
        if method not in METHODS:
            raise InputError(f"--method {method!r}: use {' or '.join(METHODS)}")
        if method == "logprobs" and samples > 1:
            raise InputError("--method logprobs is deterministic: one sample")
        if samples < 1:
            raise InputError(f"--samples {samples}: at least 1")
        temp = client.config.temperature if temperature is None else temperature
        if samples > 1 and temp == 0.0:
            raise InputError(
                f"--samples {samples} at temperature 0 would repeat one reply {samples} times: "
                "give --temperature (e.g. 0.7)"
            )
        if retries < 0 or doc_words < 1:
            raise InputError("--retries must be >= 0 and --doc-words >= 1")
        self.client = client
        self.prompt = prompt
        self.samples = samples
        self.temperature = float(temp)
        self.retries = retries
        self.max_tokens = max_tokens or DEFAULT_MAX_TOKENS
        self.doc_words = doc_words
        self.method = method

    @property
    def name(self) -> str:
        """The judge as the judge leaderboard names it: model + prompt."""
        return f"{self.client.model_name} + {self.prompt.name}"

    def describe(self) -> dict[str, Any]:
        return {
            "judge": self.name,
            "model": self.client.model_name,
            "backend": self.client.backend,
            "fingerprint": self.client.fingerprint,
            "prompt": self.prompt.name,
            "prompt_sha256": self.prompt.sha256,
            "samples": self.samples,
            "temperature": self.temperature,
            "seed": self.client.config.seed,
            "max_tokens": self.max_tokens,
            "retries": self.retries,
            "doc_words": self.doc_words,
            "method": self.method,
            "tie_rule": "mode of the samples; a tie goes to the lowest tied grade",
        }

    def conversation(self, query: str, passage: str) -> list[Message]:
        return one_turn(self.prompt.render(query, cut_words(passage, self.doc_words)))

    def judge_pairs(
        self, pairs: Sequence[Pair], on_done: Callable[[int], None] | None = None
    ) -> list[Judgment]:
        """A judgment per pair, in order (``on_done(n)`` as pairs x samples finish)."""
        convs = [self.conversation(query, passage) for _, query, _, passage in pairs]
        if self.method == "logprobs":
            return self._by_logprobs(pairs, convs, on_done)
        grades: list[list[int | None]] = [[] for _ in pairs]
        attempts: list[list[int]] = [[] for _ in pairs]
        last: list[Reply | None] = [None] * len(pairs)
        first: list[Reply | None] = [None] * len(pairs)
        for sample in range(self.samples):
            replies = self.client.chat(
                convs,
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                sample=sample,
                on_done=on_done,
            )
            values = [parse_grade(r.text) for r in replies]
            tries = [1] * len(pairs)
            current = list(replies)
            for _ in range(self.retries):
                bad = [i for i, v in enumerate(values) if v is None]
                if not bad:
                    break
                repairs: list[list[Message]] = [
                    [
                        *convs[i],
                        {"role": "assistant", "content": current[i].text},
                        {"role": "user", "content": REPAIR},
                    ]
                    for i in bad
                ]
                fixed = self.client.chat(
                    repairs, max_tokens=REPAIR_TOKENS, temperature=self.temperature, sample=sample
                )
                for i, reply in zip(bad, fixed, strict=True):
                    current[i] = reply
                    tries[i] += 1
                    values[i] = parse_grade(reply.text)
            for i in range(len(pairs)):
                grades[i].append(values[i])
                attempts[i].append(tries[i])
                last[i] = current[i]
                if first[i] is None:
                    first[i] = replies[i]
        out = []
        for i, (query_id, _, doc_id, _) in enumerate(pairs):
            label = mode_grade(grades[i])
            reply0, reply_last = first[i], last[i]
            assert reply0 is not None and reply_last is not None
            provenance = {
                **{k: v for k, v in self.describe().items() if k != "tie_rule"},
                "prompt_hash": reply0.provenance.prompt_hash,
                "grades": grades[i],
                "attempts": attempts[i],
                "created": reply_last.provenance.created,
                "cached": reply0.provenance.cached and reply_last.provenance.cached,
            }
            failure = None
            if label is None:
                made = sum(attempts[i])
                failure = (
                    f"no grade could be read from {made} repl{'y' if made == 1 else 'ies'}; "
                    f"last: {reply_last.text[:200]!r}"
                )
            out.append(Judgment(query_id, doc_id, label, failure, provenance))
        return out

    def _by_logprobs(
        self, pairs: Sequence[Pair], convs: list[list[Message]], on_done: Callable[[int], None] | None
    ) -> list[Judgment]:
        scores = self.client.score_options(convs, OPTIONS, on_done=on_done)
        out = []
        for (query_id, _, doc_id, _), found in zip(pairs, scores, strict=True):
            best = found.best
            label = None if best is None else int(best)
            provenance = {
                **{k: v for k, v in self.describe().items() if k != "tie_rule"},
                "prompt_hash": found.provenance.prompt_hash,
                "logprobs": list(found.logprobs),
                "exact": found.exact,
                "grades": [label],
                "created": found.provenance.created,
                "cached": found.provenance.cached,
            }
            failure = (
                None if label is not None else "none of 0 1 2 3 among the endpoint's top log-probabilities"
            )
            out.append(Judgment(query_id, doc_id, label, failure, provenance))
        return out

    def judge(self, queries: Mapping[str, str], items: Mapping[str, Any]) -> dict[str, Any]:
        """The ``judge`` stage method: ``items`` is ``{query_id: {doc_id: passage}}``; returns
        ``{query_id: {doc_id: {"label", "failure", "provenance"}}}``."""
        pairs = [(q, queries[q], d, text) for q, docs in items.items() for d, text in docs.items()]
        found: dict[str, Any] = {}
        for j in self.judge_pairs(pairs):
            found.setdefault(j.query_id, {})[j.doc_id] = {
                "label": j.label,
                "failure": j.failure,
                "provenance": j.provenance,
            }
        return found

    def pop_stats(self) -> dict[str, dict[str, float]]:
        return {}
