"""The blinding policy of hidden benchmarks, in one place (``docs/security.md``).

On a hidden benchmark, everything derived from per-topic (per-session) values is withheld from
everyone but admins: per-topic scores, bootstrap CIs, wins/ties/losses, p-values, effect sizes,
significance tiers and matrices, distribution plots and per-topic charts. Non-admins see each
run's aggregate means only, and counts that do not depend on any score (topics judged, lines).

Why withholding rather than noise: with a few topics, a CI's bounds and the mean give the
per-topic values of a run outright (compare it with a zero-score run: every bootstrap resample is
a mean of the run's own values, so the CI's ends are the extreme per-topic values); W/T/L counts
the topics with a non-zero score; a p-value with the mean gives the variance. Any statistic of
per-topic values is an equation in them, and enough equations (two runs, several measures, runs
submitted for the purpose) solve for them. A mean is one equation per (run, measure); those are
bounded by the submission quotas (``ragbench.store._quotas``).

Every view asks :func:`per_topic_visible`; the store's own functions apply it before anything
is computed, so a caller cannot forget it: :func:`ragbench.store.service.run_scores` returns only
``all`` rows, :func:`~ragbench.store.service.compare_runs` returns a :class:`BlindComparison`
(means only) and :func:`~ragbench.store.service.leaderboard` no tiers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from ragbench.store.models import Benchmark, User

WITHHELD = (
    "withheld: the benchmark is hidden (per-topic results are shown to admins only until it is unblinded)"
)


def per_topic_visible(benchmark: Benchmark, actor: User | None) -> bool:
    """Whether ``actor`` may see anything derived from per-topic (per-session) scores on
    ``benchmark``: it is not hidden, or ``actor`` is an admin. The one check of every view."""
    return not benchmark.hidden or (actor is not None and actor.is_admin)


@dataclass(frozen=True, slots=True)
class MeanComparison:
    """A comparison of two runs' means on one measure: what a hidden benchmark shows to non-admins.

    Attributes:
        baseline: The baseline run's label.
        run: The compared run's label.
        measure: Canonical measure name.
        n_topics: Topics (sessions) of the benchmark's latest qrels (a count, not a score).
        mean_baseline: The baseline's mean (its ``all`` score).
        mean_run: The run's mean.
        mean_diff: ``mean_run - mean_baseline``.
    """

    baseline: str
    run: str
    measure: str
    n_topics: int
    mean_baseline: float
    mean_run: float
    mean_diff: float


@dataclass(frozen=True, slots=True)
class BlindComparison(Sequence[MeanComparison]):
    """:func:`~ragbench.store.service.compare_runs` on a hidden benchmark for a non-admin: the
    means of each pair, nothing derived from per-topic values (``reason`` says why)."""

    comparisons: tuple[MeanComparison, ...]
    reason: str = WITHHELD

    @overload
    def __getitem__(self, index: int) -> MeanComparison: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[MeanComparison, ...]: ...
    def __getitem__(self, index: int | slice) -> MeanComparison | tuple[MeanComparison, ...]:
        return self.comparisons[index]

    def __len__(self) -> int:
        return len(self.comparisons)

    def __iter__(self) -> Iterator[MeanComparison]:
        return iter(self.comparisons)

    def parameters(self) -> dict[str, Any]:
        """What was computed: means only, and why."""
        return {"withheld": True, "reason": self.reason}


def blind_comparison(
    labels: Sequence[str], measures: Sequence[str], means: dict[str, dict[str, float]], n_topics: int
) -> BlindComparison:
    """The first label against each other one on every measure, from their means only.

    Args:
        labels: Run labels, the baseline first.
        measures: Measures, in order.
        means: ``{label: {measure: mean}}`` (the stored ``all`` rows).
        n_topics: The number of judged topics (sessions).
    """
    base = labels[0]
    rows = []
    for label in labels[1:]:
        for measure in measures:
            a, b = means[base].get(measure, float("nan")), means[label].get(measure, float("nan"))
            rows.append(MeanComparison(base, label, measure, n_topics, a, b, b - a))
    return BlindComparison(tuple(rows))
