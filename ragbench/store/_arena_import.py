"""Importing pairwise judgments made elsewhere as arena votes.

Each comparison of the file (:func:`ragbench.formats.pairwise.read_pairwise`) becomes a battle
between the runs of the two systems it names (the latest run of the system of that name on the
benchmark), with the two answers as the sides, placed left and right at random (seeded by the
source, so an import is reproducible) as drawn battles are; each annotator's label becomes a vote
by ``import:<source>:<annotator>``: the label's sign gives the winner (positive: ``model2``;
negative: ``model1``; 0: a tie), the label itself is kept as written (relative to the file's
``model1`` and ``model2``, with ``swapped`` in the provenance when ``model1`` is side ``b``). The
whole file is checked before anything is written: systems without a run on the benchmark, topics
the benchmark does not have (when it has topics) and a file imported before (the same source and
comparison) are errors, and nothing is stored.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ragbench.errors import ConflictError, FormatError, InputError
from ragbench.formats.pairwise import DEFAULT_LABEL, read_pairwise
from ragbench.formats.problems import Problem
from ragbench.store._arena import Voter, query_texts
from ragbench.store._arena_sides import answer_side
from ragbench.store._common import benchmark_by_slug, now, require_admin
from ragbench.store.models import ArenaBattle, ArenaVote, Run, System, User

MAX_SOURCE = 100


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What :func:`import_pairwise` stored, and how much the annotators agreed.

    Attributes:
        source: The name the votes are filed under.
        battles: Battles created.
        votes: Votes stored.
        systems: System name -> the run its votes went to.
        labels: Agreement of the first two annotators on the labels (:class:`ragbench.stats.RaterAgreement`).
        signs: The same on the labels' signs (winner or tie).
    """

    source: str
    battles: int
    votes: int
    systems: dict[str, int]
    labels: Any
    signs: Any


def _verdict(label: int, swapped: bool) -> str:
    """The verdict for side ``a`` of a label that prefers ``model2`` when positive."""
    if label == 0:
        return "tie"
    model2_won = label > 0
    return "b" if model2_won != swapped else "a"


def import_pairwise(
    s: Session,
    actor: User | None,
    slug: str,
    data: bytes,
    *,
    name: str = "judgments",
    label: str = DEFAULT_LABEL,
    source: str | None = None,
) -> ImportReport:
    """Import a pairwise judgments file as battles and votes (module docstring); admin only.

    Args:
        s: The session; the caller commits.
        actor: The admin.
        slug: The benchmark.
        data: The file.
        name: Its name in messages and provenance.
        label: The label field (``overall_label``, ``correctness_label``, ...).
        source: The name votes are filed under (default: the first 12 hex digits of the file's
            SHA-256).

    Raises:
        AuthError, PermissionDenied: not an admin.
        NotFoundError: no such benchmark.
        FormatError: a malformed file, systems without a run on the benchmark, unknown topics
            (every problem with its line).
        InputError: a bad label field or source.
        ConflictError: this source's comparisons were imported already.
    """
    from ragbench.stats import rater_agreement

    require_admin(actor, "import arena votes")
    source = (source or hashlib.sha256(data).hexdigest()[:12]).strip()
    if not source or len(source) > MAX_SOURCE or not source.isprintable() or ":" in source:
        raise InputError(f"source must be 1 to {MAX_SOURCE} printable characters without ':'")
    judgments = read_pairwise(data, label=label, name=name)
    benchmark = benchmark_by_slug(s, slug)
    latest = (
        select(System.name, func.max(Run.id))
        .join(Run, Run.system_id == System.id)
        .where(System.benchmark_id == benchmark.id)
        .group_by(System.name)
    )
    runs: dict[str, int] = {str(name): int(run) for name, run in s.execute(latest).all()}
    texts = query_texts(benchmark)
    problems: list[Problem] = []
    reported: set[str] = set()
    for j in judgments:
        for system in (j.system_1, j.system_2):
            if system not in runs and system not in reported:
                reported.add(system)
                problems.append(Problem(name, j.line, f"unknown system {system!r}: no run of it on {slug!r}"))
        if texts and j.query_id not in texts and j.query_id not in reported:
            reported.add(j.query_id)
            problems.append(Problem(name, j.line, f"unknown topic {j.query_id!r}: not a topic of {slug!r}"))
    if problems:
        raise FormatError(problems[:50], more=max(0, len(problems) - 50))
    external = {f"{source}#{j.instance}" for j in judgments}
    done = s.scalar(
        select(func.count())
        .select_from(ArenaBattle)
        .where(ArenaBattle.benchmark_id == benchmark.id, ArenaBattle.external_id.in_(external))
    )
    if done:
        raise ConflictError(f"source {source!r} was imported into {slug!r} already ({done} comparisons)")
    created = now()
    rng = random.Random(source)
    battles: dict[str, ArenaBattle] = {}
    swapped: dict[str, bool] = {}
    for j in judgments:
        if j.instance not in battles:
            swap = swapped[j.instance] = rng.random() < 0.5
            left, right = (
                ((j.system_2, j.answer_2), (j.system_1, j.answer_1))
                if swap
                else ((j.system_1, j.answer_1), (j.system_2, j.answer_2))
            )
            battles[j.instance] = ArenaBattle(
                benchmark_id=benchmark.id,
                query_id=j.query_id,
                query_text=j.query,
                run_a_id=runs[left[0]],
                run_b_id=runs[right[0]],
                system_a=left[0],
                system_b=right[0],
                side_a=answer_side(left[1]),
                side_b=answer_side(right[1]),
                source="import",
                external_id=f"{source}#{j.instance}",
                created_at=created,
            )
    s.add_all(battles.values())
    s.flush()
    votes = [
        ArenaVote(
            benchmark_id=benchmark.id,
            battle_id=battles[j.instance].id,
            query_id=j.query_id,
            answer=_verdict(j.label, swapped[j.instance]),
            voter_kind="import",
            voter_key=Voter.annotator(source, j.annotator).key,
            label=j.label,
            provenance={
                "file": name,
                "line": j.line,
                "instance_id": j.instance,
                "field": label,
                "labels": j.labels,
            },
            created_at=created,
        )
        for j in judgments
    ]
    s.add_all(votes)
    s.flush()
    first = {j.instance: j.label for j in judgments if j.annotator == 0}
    second = {j.instance: j.label for j in judgments if j.annotator == 1}
    shared = [i for i in first if i in second]
    labels = signs = None
    if shared:
        x, y = [first[i] for i in shared], [second[i] for i in shared]
        labels = rater_agreement(x, y, categories=(-2, -1, 0, 1, 2))
        signs = rater_agreement(
            [(v > 0) - (v < 0) for v in x], [(v > 0) - (v < 0) for v in y], categories=(-1, 0, 1)
        )
    used = {system: runs[system] for j in judgments for system in (j.system_1, j.system_2)}
    return ImportReport(source, len(battles), len(votes), dict(sorted(used.items())), labels, signs)
