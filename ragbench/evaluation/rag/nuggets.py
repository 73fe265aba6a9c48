"""Nuggets and the nugget scores of the TREC 2024 RAG track (the AutoNuggetizer protocol).

A topic's *nuggets* are short facts a good answer contains, each labelled ``vital`` (must be in
a good answer) or ``okay`` (good to have). Each nugget is *assigned* to an answer as
``support`` (the answer contains it), ``partial_support`` or ``not_support``. The track's scores
of one answer, with s = 1 for support, 0.5 for partial support and 0 otherwise (the *strict*
scores count only full support, s = 1 or 0):

- **All** (A) = mean of s over all nuggets; **All strict** (A_strict) the same with strict s;
- **Vital** (V) = mean of s over the vital nuggets; **Vital strict** (V_strict) likewise;
- **Weighted** (W) = (Σ_vital s + ½ Σ_okay s) / (|vital| + ½ |okay|).

Undefined cases are explicit, never a silent 0:

- a topic with **no vital nugget** has no Vital or Vital-strict score: the value is NaN, the topic
  is left out of those two means, and the evaluation says how many topics that was (every run is
  scored on the same nugget set, so every run leaves out the same topics and pairs stay aligned);
- a topic with **no nugget at all** has no nugget score of any kind (same rule);
- an answer whose **assignment failed** (the judge's reply could not be read for some nugget)
  gets NaN on every nugget score and is counted as failed; the run's mean is over the answers
  that were assessed, and the failure count is reported beside it;
- a topic the run **does not answer** scores 0 on every defined score (the validator warns).

Nugget sets are JSON (:meth:`NuggetSet.to_json`, :meth:`NuggetSet.from_json`): versioned by the
store, written by an LM (with provenance) or by people (``source: human``), editable by admins.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragbench.errors import FormatError, InputError

IMPORTANCE = ("vital", "okay")
ASSIGNMENTS = ("support", "partial_support", "not_support")
ASSIGNMENT_SCORE = {"support": 1.0, "partial_support": 0.5, "not_support": 0.0}
STRICT_SCORE = {"support": 1.0, "partial_support": 0.0, "not_support": 0.0}
NUGGET_SCORES = ("NuggetAll", "NuggetAllStrict", "NuggetVital", "NuggetVitalStrict", "NuggetWeighted")
FORMAT = "ragbench-nuggets"
MAX_NUGGET_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Nugget:
    """One nugget: its text, importance (``vital``/``okay``), who wrote it (``llm``/``human``)
    and, for an LM-made one, the provenance of its text and of its importance label."""

    text: str
    importance: str = "okay"
    source: str = "human"
    provenance: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text, "importance": self.importance, "source": self.source}
        if self.provenance:
            data["provenance"] = dict(self.provenance)
        return data


@dataclass(frozen=True)
class NuggetSet:
    """Nuggets per topic (topics in order), with where they came from.

    Attributes:
        topics: ``{topic_id: (nugget, ...)}``.
        queries: ``{topic_id: query text}`` (what the nuggets answer).
        meta: free-form facts about how the set was made (model, min grade, documents used).
    """

    topics: dict[str, tuple[Nugget, ...]]
    queries: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """``llm``, ``human`` or ``mixed``: who wrote the nuggets."""
        kinds = {n.source for nuggets in self.topics.values() for n in nuggets}
        return kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "human")

    @property
    def count(self) -> int:
        return sum(len(n) for n in self.topics.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "meta": self.meta,
            "topics": {
                t: {"query": self.queries.get(t, ""), "nuggets": [n.to_dict() for n in nuggets]}
                for t, nuggets in self.topics.items()
            },
        }

    def to_json(self) -> bytes:
        """The set as JSON (UTF-8, keys in a stable order): what export writes and import reads."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1).encode("utf-8")

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode("utf-8")).hexdigest()

    @classmethod
    def from_json(cls, data: bytes | str, name: str = "nuggets.json") -> NuggetSet:
        """Read a nugget set (what :meth:`to_json` writes; ``topics`` may also map a topic to a
        plain list of nuggets, and a nugget may be a plain string, meaning ``okay``, ``human``).

        Raises:
            FormatError: not JSON, or a malformed topic or nugget (each named).
        """
        from ragbench.formats.problems import Problem

        try:
            raw = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise FormatError([Problem(name, getattr(exc, "lineno", 0), f"not JSON: {exc}")]) from None
        problems: list[Problem] = []

        def bad(message: str) -> None:
            problems.append(Problem(name, 0, message))

        if not isinstance(raw, dict) or not isinstance(raw.get("topics"), dict):
            raise FormatError([Problem(name, 0, 'a nugget set is an object with "topics": {topic_id: ...}')])
        topics: dict[str, tuple[Nugget, ...]] = {}
        queries: dict[str, str] = {}
        for topic_id, entry in raw["topics"].items():
            if isinstance(entry, list):
                entry = {"nuggets": entry}
            if not isinstance(entry, dict) or not isinstance(entry.get("nuggets"), list):
                bad(f"topic {topic_id!r}: expected {{'query': ..., 'nuggets': [...]}}")
                continue
            if isinstance(entry.get("query"), str):
                queries[topic_id] = entry["query"]
            nuggets = []
            for i, item in enumerate(entry["nuggets"]):
                nugget = _nugget(item, f"topic {topic_id!r} nugget {i}", bad)
                if nugget is not None:
                    nuggets.append(nugget)
            topics[str(topic_id)] = tuple(nuggets)
        if problems:
            raise FormatError(problems)
        meta = raw.get("meta") if isinstance(raw.get("meta"), dict) else {}
        return cls(topics, queries, dict(meta or {}))


def _nugget(item: Any, where: str, bad: Any) -> Nugget | None:
    if isinstance(item, str):
        item = {"text": item}
    if not isinstance(item, dict):
        bad(f"{where}: expected an object with text and importance")
        return None
    text = item.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_NUGGET_CHARS:
        bad(f"{where}: text must be 1 to {MAX_NUGGET_CHARS} characters")
        return None
    importance = item.get("importance", "okay")
    if importance not in IMPORTANCE:
        bad(f"{where}: importance {importance!r} is not one of {', '.join(IMPORTANCE)}")
        return None
    source = item.get("source", "human")
    if source not in ("human", "llm"):
        bad(f"{where}: source {source!r} is not human or llm")
        return None
    provenance = item.get("provenance")
    if provenance is not None and not isinstance(provenance, dict):
        bad(f"{where}: provenance must be an object")
        return None
    return Nugget(" ".join(text.split()), importance, source, provenance)


def nugget_scores(importance: Sequence[str], labels: Sequence[str] | None) -> dict[str, float]:
    """The five nugget scores of one answer (see the module docstring for the definitions).

    Args:
        importance: each nugget's importance (``vital`` or ``okay``).
        labels: each nugget's assignment (``support``, ``partial_support``, ``not_support``), in
            the same order; None when the assignment failed (every score NaN).

    Raises:
        InputError: lengths differ, or an unknown label or importance.
    """
    nan = float("nan")
    if labels is None:
        return dict.fromkeys(NUGGET_SCORES, nan)
    if len(importance) != len(labels):
        raise InputError(f"{len(importance)} nuggets but {len(labels)} assignment labels")
    for value in importance:
        if value not in IMPORTANCE:
            raise InputError(f"importance {value!r} is not one of {', '.join(IMPORTANCE)}")
    for value in labels:
        if value not in ASSIGNMENT_SCORE:
            raise InputError(f"assignment {value!r} is not one of {', '.join(ASSIGNMENTS)}")
    s = [ASSIGNMENT_SCORE[v] for v in labels]
    strict = [STRICT_SCORE[v] for v in labels]
    vital = [i for i, imp in enumerate(importance) if imp == "vital"]
    okay = [i for i, imp in enumerate(importance) if imp == "okay"]

    def mean(values: list[float]) -> float:
        return math.fsum(values) / len(values) if values else nan

    weight = len(vital) + 0.5 * len(okay)
    return {
        "NuggetAll": mean(s),
        "NuggetAllStrict": mean(strict),
        "NuggetVital": mean([s[i] for i in vital]),
        "NuggetVitalStrict": mean([strict[i] for i in vital]),
        "NuggetWeighted": (
            (math.fsum(s[i] for i in vital) + 0.5 * math.fsum(s[i] for i in okay)) / weight if weight else nan
        ),
    }


SUPPORT_SCORE = {"full": 1.0, "partial": 0.5, "no": 0.0}
SUPPORT_LABELS = tuple(SUPPORT_SCORE)


def support_scores(labels: Sequence[Sequence[str]] | None) -> dict[str, float]:
    """Weighted support precision and recall of one answer (TREC 2024 RAG support assessment).

    Each (sentence, citation) pair is labelled ``full`` (1), ``partial`` (0.5) or ``no`` (0)
    support of the sentence by the cited segment; every citation of a sentence is judged.

    - **SupportPrecision** = mean weight over all citations of the answer (0 when the answer
      cites nothing: uncited text is unsupported, by definition here, not by omission);
    - **SupportRecall** = mean over sentences of the best weight among the sentence's citations
      (a sentence without a citation counts 0); an empty answer scores 0 on both.

    Args:
        labels: per sentence, one label per citation (in citation order); None: the judgments
            failed (both NaN).
    """
    nan = float("nan")
    if labels is None:
        return {"SupportPrecision": nan, "SupportRecall": nan}
    weights = [[SUPPORT_SCORE[label] for label in row] for row in labels]
    flat = [w for row in weights for w in row]
    precision = math.fsum(flat) / len(flat) if flat else 0.0
    recall = math.fsum(max(row) if row else 0.0 for row in weights) / len(weights) if weights else 0.0
    return {"SupportPrecision": precision, "SupportRecall": recall}


def claim_scores(
    response_entailed: Sequence[bool] | None, reference_entailed: Sequence[bool] | None
) -> dict[str, float]:
    """RAGChecker's claim-level scores of one answer against a reference answer.

    - **ClaimPrecision**: share of the response's claims that the reference answer entails;
    - **ClaimRecall**: share of the reference answer's claims that the response entails;
    - **ClaimF1**: their harmonic mean (0 when both are 0).

    A side with no claim gives 0 for its share when the other side has claims (an empty response
    recalls nothing; a response with no checkable claim is precise in nothing); None: the claim
    extraction or checking failed (NaN).
    """
    nan = float("nan")
    if response_entailed is None or reference_entailed is None:
        return {"ClaimPrecision": nan, "ClaimRecall": nan, "ClaimF1": nan}
    precision = sum(map(bool, response_entailed)) / len(response_entailed) if response_entailed else 0.0
    recall = sum(map(bool, reference_entailed)) / len(reference_entailed) if reference_entailed else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"ClaimPrecision": precision, "ClaimRecall": recall, "ClaimF1": f1}
