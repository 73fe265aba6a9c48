"""Claim-level scores of pairs of answers against one reference answer (for the meta-evaluation).

The reference's claims are extracted once per comparison; each answer's claims once per answer;
each claim is then checked by the LM (yes/no). A comparison where a reply cannot be read gets
NaN for that answer (left out of the correlation), never 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ragbench.evaluation.rag import claim_scores


def pairwise_claim_scores(
    judge: Any, comparisons: Sequence[Any], name: str
) -> tuple[list[float], list[float]]:
    """``name`` (ClaimRecall, ClaimPrecision or ClaimF1) of answer1 and answer2 of each comparison."""
    n = len(comparisons)
    texts = (
        [c.gt_answer for c in comparisons]
        + [c.answer1 for c in comparisons]
        + [c.answer2 for c in comparisons]
    )
    need_answers = name != "ClaimRecall"
    wanted = texts if need_answers else texts[:n]
    extracted = [claims for claims, _ in judge.extract_claims(wanted)]
    gt = extracted[:n]
    answers = (extracted[n : 2 * n], extracted[2 * n :]) if need_answers else ([[]] * n, [[]] * n)
    checks: list[tuple[int, int, str, str, str]] = []  # side, comparison, kind, reference, claim
    for side, text_of in ((0, "answer1"), (1, "answer2")):
        for i, c in enumerate(comparisons):
            checks += [(side, i, "recall", getattr(c, text_of), claim) for claim in gt[i]]
            checks += [(side, i, "precision", c.gt_answer, claim) for claim in answers[side][i]]
    verdicts = judge.check_claims([(ref, claim) for *_, ref, claim in checks])
    found: dict[tuple[int, int, str], list[bool | None]] = {}
    for (side, i, kind, _, _), (verdict, _) in zip(checks, verdicts, strict=True):
        found.setdefault((side, i, kind), []).append(verdict)
    out: tuple[list[float], list[float]] = ([], [])
    for side in (0, 1):
        for i in range(n):
            recall = found.get((side, i, "recall"), [])
            precision = found.get((side, i, "precision"), [])
            if not gt[i] or None in recall or None in precision:
                out[side].append(math.nan)
                continue
            scores = claim_scores(
                [bool(v) for v in precision] if need_answers else [], [bool(v) for v in recall]
            )
            out[side].append(scores[name])
    return out
