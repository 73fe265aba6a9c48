"""How the arena agrees with the offline measures, and its raters with each other.

- **Arena vs offline rankings**: per measure of the benchmark, Kendall's tau-b between the
  runs' arena strengths and their offline means, with a bootstrap interval that resamples the
  arena's battles and the offline topics (:func:`ragbench.stats.offline_agreement`); and per
  battle, how often a decisive vote's winner also scored higher offline on that topic
  (:func:`ragbench.stats.vote_agreement`). On a hidden benchmark the interval and the per-battle
  figures come from per-topic scores and are withheld from non-admins (the point tau uses
  means only).
- **Human vs LM votes**: per LM judge, Cohen's kappa between its verdict and each human vote on
  the battles both judged (verdicts ``a`` / ``tie`` / ``b``; both bad counts as a tie).
- **Annotators of an import**: per imported source, every two annotators on the battles they
  share: percent agreement, Cohen's kappa and linearly weighted kappa on the original labels
  (-2..2), and the same on their signs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ragbench.store._arena_ratings import (
    OUTCOME,
    arena_board,
    cache_key,
    cached,
    choose_aspect,
    effective_votes,
    offline_means,
    per_topic_matrix,
    rated_votes,
)
from ragbench.store._blinding import per_topic_visible
from ragbench.store._common import benchmark_by_slug
from ragbench.store.models import Score, User

LABEL_CATEGORIES = (-2, -1, 0, 1, 2)
SIGN_CATEGORIES = (-1, 0, 1)
VERDICT_CATEGORIES = ("a", "tie", "b")


@dataclass(frozen=True, slots=True)
class MeasureAgreement:
    """Arena vs one offline measure.

    Attributes:
        measure: The offline measure.
        ranking: Kendall's tau-b of the rankings (:class:`ragbench.stats.OfflineAgreement`); its
            interval is NaN when withheld.
        battles: Per-battle agreement (:class:`ragbench.stats.VoteAgreement`), None when withheld.
    """

    measure: str
    ranking: Any
    battles: Any


@dataclass(frozen=True, slots=True)
class JudgeAgreement:
    """One LM judge against the human votes on the battles both judged."""

    judge: str
    agreement: Any


@dataclass(frozen=True, slots=True)
class AnnotatorAgreement:
    """Two annotators of one imported source on the battles both judged."""

    source: str
    first: str
    second: str
    labels: Any
    signs: Any


@dataclass(frozen=True, slots=True)
class ArenaAgreement:
    """Everything :func:`arena_agreement` reports (module docstring).

    Attributes:
        slug: The benchmark.
        voters: Whose votes were compared with the offline measures.
        aspect: The verdict rated.
        withheld: Whether per-topic-derived figures were withheld (hidden benchmark).
        measures: One per offline measure with at least two runs rated and scored.
        judges: Human vs LM agreement, one per LM judge.
        annotators: Inter-annotator agreement of imports.
    """

    slug: str
    voters: str
    aspect: str
    withheld: bool
    measures: tuple[MeasureAgreement, ...]
    judges: tuple[JudgeAgreement, ...]
    annotators: tuple[AnnotatorAgreement, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "slug": self.slug,
            "voters": self.voters,
            "aspect": self.aspect,
            "withheld": self.withheld,
            "measures": [
                {
                    "measure": m.measure,
                    "ranking": m.ranking.to_dict(),
                    "battles": None if m.battles is None else m.battles.to_dict(),
                }
                for m in self.measures
            ],
            "judges": [{"judge": j.judge, **j.agreement.to_dict()} for j in self.judges],
            "annotators": [
                {
                    "source": a.source,
                    "first": a.first,
                    "second": a.second,
                    "labels": a.labels.to_dict(),
                    "signs": a.signs.to_dict(),
                }
                for a in self.annotators
            ],
        }


def arena_agreement(
    s: Session,
    slug: str,
    actor: User | None,
    *,
    voters: str = "human",
    aspect: str | None = None,
    measures: Sequence[str] | None = None,
    rounds: int | None = None,
    seed: int = 0,
) -> ArenaAgreement:
    """The agreement figures of the module docstring.

    Raises:
        NotFoundError: no such benchmark.
        InputError: a bad aspect, measure or number of rounds.
    """
    from ragbench.store._leaderboard import canonical_measure

    benchmark = benchmark_by_slug(s, slug)
    visible = per_topic_visible(benchmark, actor)
    names = [canonical_measure(benchmark, m) for m in measures] if measures else list(benchmark.measures)
    # Scores change when runs are scored or re-scored (new rows): the largest score id says so.
    scores = s.scalar(select(func.max(Score.id)))
    key = cache_key(s, benchmark, "agreement", voters, aspect, tuple(names), rounds, seed, visible, scores)
    return cached(key, lambda: _agreement(s, benchmark, visible, voters, aspect, names, rounds, seed))


def _agreement(
    s: Session,
    benchmark: Any,
    visible: bool,
    voters: str,
    aspect: str | None,
    names: list[str],
    rounds: int | None,
    seed: int,
) -> ArenaAgreement:
    board = arena_board(s, benchmark.slug, voters=voters, aspect=aspect, rounds=rounds, seed=seed)
    results = []
    ratings = board.ratings
    if ratings is not None and ratings.rated:
        strength = {int(r.system): r.strength for r in ratings.systems}
        rows = rated_votes(effective_votes(s, benchmark, voters), board.aspect)
        for measure in names:
            found = _measure_agreement(s, benchmark, measure, ratings, strength, rows, visible, seed)
            if found is not None:
                results.append(found)
    return ArenaAgreement(
        slug=benchmark.slug,
        voters=voters,
        aspect=board.aspect,
        withheld=not visible,
        measures=tuple(results),
        judges=_judges(s, benchmark, aspect),
        annotators=_annotators(s, benchmark),
    )


def _measure_agreement(
    s: Session,
    benchmark: Any,
    measure: str,
    ratings: Any,
    strength: dict[int, float],
    rows: list[Any],
    visible: bool,
    seed: int,
) -> MeasureAgreement | None:
    from ragbench.stats import OfflineAgreement, offline_agreement, vote_agreement

    means = offline_means(s, benchmark, list(strength), measure)
    runs = [run for run in strength if run in means]
    if len(runs) < 2:
        return None
    point = np.array([strength[run] for run in runs])
    if not visible:
        from scipy.stats import kendalltau

        tau = float(kendalltau(point, [means[run] for run in runs], variant="b").statistic)
        return MeasureAgreement(measure, OfflineAgreement(len(runs), tau, np.nan, np.nan, 0, 0.95), None)
    topics, matrix = per_topic_matrix(s, benchmark, runs, measure)
    if not topics:
        return None
    columns = [ratings.names.index(str(run)) for run in runs]
    ranking = offline_agreement(point, ratings.draws[:, columns], matrix, seed=seed)
    position = {q: i for i, q in enumerate(topics)}
    row_of = {run: i for i, run in enumerate(runs)}
    outcome, difference = [], []
    for r, verdict in rows:
        t = position.get(r.query_id)
        if t is None or r.run_a not in row_of or r.run_b not in row_of:
            continue
        outcome.append(OUTCOME[verdict])
        difference.append(float(matrix[row_of[r.run_a], t] - matrix[row_of[r.run_b], t]))
    return MeasureAgreement(measure, ranking, vote_agreement(outcome, difference))


def _verdict(value: str) -> str:
    return "tie" if value == "bad" else value


def _judges(s: Session, benchmark: Any, aspect: str | None) -> tuple[JudgeAgreement, ...]:
    from ragbench.stats import rater_agreement

    human = effective_votes(s, benchmark, "human")
    llm = effective_votes(s, benchmark, "llm")
    if not human or not llm:
        return ()
    chosen = choose_aspect(human, aspect)
    by_battle: dict[int, list[str]] = defaultdict(list)
    for r, verdict in rated_votes(human, chosen):
        by_battle[r.battle_id].append(_verdict(verdict))
    judged: dict[str, dict[int, str]] = defaultdict(dict)
    for r, verdict in rated_votes(llm, chosen):
        judged[r.voter_key][r.battle_id] = _verdict(verdict)
    found = []
    for judge, verdicts in sorted(judged.items()):
        pairs = [(h, v) for battle, v in verdicts.items() for h in by_battle.get(battle, [])]
        if pairs:
            agreement = rater_agreement(
                [h for h, _ in pairs], [v for _, v in pairs], categories=VERDICT_CATEGORIES
            )
            found.append(JudgeAgreement(judge, agreement))
    return tuple(found)


def _annotators(s: Session, benchmark: Any) -> tuple[AnnotatorAgreement, ...]:
    from ragbench.stats import rater_agreement

    labels: dict[str, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    for r in effective_votes(s, benchmark, "human"):
        if r.voter_kind == "import" and r.label is not None:
            source = r.voter_key.rsplit(":", 1)[0]
            labels[source][r.voter_key][r.battle_id] = r.label
    found = []
    for source, raters in sorted(labels.items()):
        for first, second in combinations(sorted(raters), 2):
            shared = sorted(set(raters[first]) & set(raters[second]))
            if not shared:
                continue
            x = [raters[first][b] for b in shared]
            y = [raters[second][b] for b in shared]
            found.append(
                AnnotatorAgreement(
                    source.removeprefix("import:"),
                    first,
                    second,
                    rater_agreement(x, y, categories=LABEL_CATEGORIES),
                    rater_agreement(
                        [int(np.sign(v)) for v in x], [int(np.sign(v)) for v in y], categories=SIGN_CATEGORIES
                    ),
                )
            )
    return tuple(found)
