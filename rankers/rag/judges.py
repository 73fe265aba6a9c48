"""LM judges of RAG answers: nugget creation and importance, nugget assignment, citation support,
claim extraction and checking (all through the LM layer: cache, provenance, accounting).

Each judgment is one short greedy generation read by a strict parser (:mod:`rankers.rag.prompts`);
an unreadable reply makes that part of that answer *failed* (recorded with the reply), never a
default label. Calls are batched over every answer of a run, so a local model runs them in
batches and an endpoint with bounded concurrency. Every label keeps its provenance record
(model, backend, fingerprint, prompt hash, parameters, whether it came from the cache).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ragbench.evaluation.rag import AnswerJudgments, Nugget, NuggetSet
from ragbench.formats.rag import RagAnswer, RagRun
from rankers.rag import prompts

LABEL_TOKENS = 8
LIST_TOKENS = 160
Progress = Callable[[str, int, int], None] | None


def _cut(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def _record(reply: Any, task: str, **where: Any) -> dict[str, Any]:
    return {"task": task, **where, "reply": reply.text, "provenance": reply.provenance.to_dict()}


class RagJudge:
    """The judges over one LM client.

    Args:
        client: a :mod:`rankers.lm` client.
        doc_words: words of each passage shown to the LM.
        answer_words: words of an answer shown to the LM when assigning nuggets.
        max_nuggets: most nuggets per topic.
        max_claims: most claims extracted from a text.
        docs_per_prompt: relevant documents read per nugget-creation prompt.
        list_tokens: most tokens of a list reply (nuggets, claims).
    """

    def __init__(
        self,
        client: Any,
        *,
        doc_words: int = 120,
        answer_words: int = 300,
        max_nuggets: int = 10,
        max_claims: int = 8,
        docs_per_prompt: int = 3,
        list_tokens: int = LIST_TOKENS,
        progress: Progress = None,
    ) -> None:
        self.client = client
        self.doc_words = doc_words
        self.answer_words = answer_words
        self.max_nuggets = max_nuggets
        self.max_claims = max_claims
        self.docs_per_prompt = docs_per_prompt
        self.list_tokens = list_tokens
        self.progress = progress

    def _ask(self, label: str, texts: Sequence[str], max_tokens: int) -> list[Any]:
        if not texts:
            return []
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if self.progress is not None:
                self.progress(label, done, len(texts))

        return list(
            self.client.generate(list(texts), system=prompts.SYSTEM, max_tokens=max_tokens, on_done=tick)
        )

    # -- nuggets ----------------------------------------------------------------------------
    def create_nuggets(
        self,
        queries: Mapping[str, str],
        documents: Mapping[str, Sequence[str]],
        meta: Mapping[str, Any] | None = None,
    ) -> NuggetSet:
        """Nuggets per topic from its relevant documents' texts, then their importance.

        A nugget whose importance reply cannot be read is left out and counted in ``meta``
        (``importance_failures``); a topic whose documents gave no nugget has none (its nugget
        scores are then undefined, not 0).
        """
        asks: list[tuple[str, str]] = []
        for topic, texts in documents.items():
            for start in range(0, len(texts), self.docs_per_prompt):
                chunk = texts[start : start + self.docs_per_prompt]
                passages = "\n".join(f"- {_cut(t, self.doc_words)}" for t in chunk)
                asks.append(
                    (
                        topic,
                        prompts.NUGGETS.format(
                            query=queries[topic], passages=passages, count=self.max_nuggets
                        ),
                    )
                )
        replies = self._ask("nuggets: create", [p for _, p in asks], self.list_tokens)
        found: dict[str, list[tuple[str, Any]]] = {t: [] for t in documents}
        for (topic, _), reply in zip(asks, replies, strict=True):
            seen = {text.lower() for text, _ in found[topic]}
            for text in prompts.parse_list(reply.text, self.max_nuggets):
                if text.lower() not in seen and len(found[topic]) < self.max_nuggets:
                    found[topic].append((text, reply.provenance.to_dict()))
                    seen.add(text.lower())
        flat = [(topic, text, prov) for topic, items in found.items() for text, prov in items]
        labels = self._ask(
            "nuggets: importance",
            [prompts.IMPORTANCE.format(query=queries[t], nugget=text) for t, text, _ in flat],
            LABEL_TOKENS,
        )
        topics: dict[str, list[Nugget]] = {t: [] for t in documents}
        failures = 0
        for (topic, text, prov), reply in zip(flat, labels, strict=True):
            importance = prompts.parse_importance(reply.text)
            if importance is None:
                failures += 1
                continue
            provenance = {
                "text": prov,
                "importance": reply.provenance.to_dict(),
                "importance_reply": reply.text,
            }
            topics[topic].append(Nugget(text, importance, "llm", provenance))
        info = {
            **(meta or {}),
            "model": self.client.describe() if hasattr(self.client, "describe") else None,
            "importance_failures": failures,
            "topics_without_nuggets": [t for t, n in topics.items() if not n],
        }
        return NuggetSet({t: tuple(n) for t, n in topics.items()}, {t: queries[t] for t in documents}, info)

    # -- answers ------------------------------------------------------------------------------
    def judge(
        self,
        run: RagRun,
        *,
        nuggets: NuggetSet | None = None,
        passages: Mapping[str, str] | None = None,
        parts: Sequence[str] = ("nuggets", "support"),
    ) -> dict[str, AnswerJudgments]:
        """Judge every answer of ``run``: ``nuggets`` (assignment), ``support`` (every citation of
        every sentence, against ``passages`` by segment id), ``claims`` (against ``gt_answer``)."""
        answers = list(run.answers.values())
        out: dict[str, dict[str, Any]] = {a.topic_id: {"errors": {}, "records": []} for a in answers}
        if "nuggets" in parts and nuggets is not None:
            self._assign(answers, nuggets, out)
        if "support" in parts:
            self._support(answers, passages or {}, out)
        if "claims" in parts:
            self._claims(answers, out)
        return {
            topic: AnswerJudgments(
                nuggets=found.get("nuggets"),
                support=found.get("support"),
                response_claims=found.get("response_claims"),
                reference_claims=found.get("reference_claims"),
                errors=found["errors"],
                records=tuple(found["records"]),
            )
            for topic, found in out.items()
        }

    def _assign(self, answers: list[RagAnswer], nuggets: NuggetSet, out: dict[str, dict[str, Any]]) -> None:
        asks = [
            (a.topic_id, i, prompts.ASSIGN.format(query=a.topic or nuggets.queries.get(a.topic_id, ""),
                                                  answer=_cut(a.text, self.answer_words), nugget=n.text))
            for a in answers
            for i, n in enumerate(nuggets.topics.get(a.topic_id, ()))
        ]  # fmt: skip
        replies = self._ask("judge: nuggets", [p for *_, p in asks], LABEL_TOKENS)
        labels: dict[str, list[str | None]] = {
            a.topic_id: [None] * len(nuggets.topics.get(a.topic_id, ())) for a in answers
        }
        for (topic, i, _), reply in zip(asks, replies, strict=True):
            label = prompts.parse_assignment(reply.text)
            labels[topic][i] = label
            out[topic]["records"].append(_record(reply, "assign", nugget=i, label=label))
        for topic, found in labels.items():
            bad = [i for i, v in enumerate(found) if v is None]
            if bad:
                out[topic]["errors"]["nuggets"] = f"unreadable assignment replies for nugget(s) {bad}"
            else:
                out[topic]["nuggets"] = tuple(v for v in found if v is not None)

    def _support(
        self, answers: list[RagAnswer], passages: Mapping[str, str], out: dict[str, dict[str, Any]]
    ) -> None:
        asks = []
        for a in answers:
            for si, sentence in enumerate(a.sentences):
                for ci, cite in enumerate(sentence.citations):
                    ref = a.references[cite]
                    text = passages.get(ref)
                    if text is None:
                        out[a.topic_id]["errors"]["support"] = f"no text for the cited segment {ref!r}"
                        continue
                    asks.append(
                        (
                            a.topic_id,
                            si,
                            ci,
                            prompts.SUPPORT.format(
                                passage=_cut(text, self.doc_words), sentence=sentence.text
                            ),
                        )
                    )
        replies = self._ask("judge: support", [p for *_, p in asks], LABEL_TOKENS)
        grid: dict[str, list[list[str | None]]] = {
            a.topic_id: [[None] * len(s.citations) for s in a.sentences] for a in answers
        }
        for (topic, si, ci, _), reply in zip(asks, replies, strict=True):
            label = prompts.parse_support(reply.text)
            grid[topic][si][ci] = label
            out[topic]["records"].append(_record(reply, "support", sentence=si, citation=ci, label=label))
        for topic, rows in grid.items():
            if "support" in out[topic]["errors"]:
                continue
            bad = [(si, ci) for si, row in enumerate(rows) for ci, v in enumerate(row) if v is None]
            if bad:
                out[topic]["errors"]["support"] = (
                    f"unreadable support replies for (sentence, citation) {bad[:5]}"
                )
            else:
                out[topic]["support"] = tuple(tuple(row) for row in rows)

    def extract_claims(
        self, texts: Sequence[str], label: str = "claims: extract"
    ) -> list[tuple[list[str], Any]]:
        replies = self._ask(
            label,
            [prompts.CLAIMS.format(text=_cut(t, self.answer_words), count=self.max_claims) for t in texts],
            self.list_tokens,
        )
        return [(prompts.parse_list(r.text, self.max_claims), r) for r in replies]

    def check_claims(
        self, pairs: Sequence[tuple[str, str]], label: str = "claims: check"
    ) -> list[tuple[bool | None, Any]]:
        replies = self._ask(
            label,
            [prompts.CHECK.format(reference=_cut(ref, self.answer_words), claim=c) for ref, c in pairs],
            LABEL_TOKENS,
        )
        return [(prompts.parse_yes_no(r.text), r) for r in replies]

    def _claims(self, answers: list[RagAnswer], out: dict[str, dict[str, Any]]) -> None:
        usable = [a for a in answers if a.gt_answer]
        for a in answers:
            if not a.gt_answer:
                out[a.topic_id]["errors"]["claims"] = "no reference answer (gt_answer)"
        extracted = self.extract_claims([a.text for a in usable] + [a.gt_answer or "" for a in usable])
        n = len(usable)
        checks: list[tuple[str, str, int, str, str]] = []  # topic, side, index, reference, claim
        for i, a in enumerate(usable):
            mine, theirs = extracted[i][0], extracted[n + i][0]
            out[a.topic_id]["records"] += [
                _record(extracted[i][1], "claims: answer"),
                _record(extracted[n + i][1], "claims: reference"),
            ]
            if not theirs:
                out[a.topic_id]["errors"]["claims"] = "no claim could be read from the reference answer"
                continue
            checks += [(a.topic_id, "response_claims", j, a.gt_answer or "", c) for j, c in enumerate(mine)]
            checks += [(a.topic_id, "reference_claims", j, a.text, c) for j, c in enumerate(theirs)]
            out[a.topic_id]["response_claims"] = [None] * len(mine)
            out[a.topic_id]["reference_claims"] = [None] * len(theirs)
        verdicts = self.check_claims([(ref, claim) for *_, ref, claim in checks])
        for (topic, side, j, _, _), (verdict, reply) in zip(checks, verdicts, strict=True):
            out[topic][side][j] = verdict
            out[topic]["records"].append(_record(reply, f"check: {side}", claim=j, label=verdict))
        for a in usable:
            found = out[a.topic_id]
            if "claims" in found["errors"]:
                found.pop("response_claims", None)
                found.pop("reference_claims", None)
                continue
            sides = (found["response_claims"], found["reference_claims"])
            if any(v is None for side in sides for v in side):
                found["errors"]["claims"] = "unreadable claim-check replies"
                found.pop("response_claims")
                found.pop("reference_claims")
            else:
                found["response_claims"], found["reference_claims"] = (tuple(s) for s in sides)
