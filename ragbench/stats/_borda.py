"""Borda ranks over benchmarks, with the policy for missing benchmarks stated, never implied.

On each benchmark a system earns one point for every system it beats and half a point for every
tie. MTEB ranks this way and silently counts a task a system lacks as a loss to everyone; here the
policy is a required choice, reported with the result:

- ``exclude`` (default): only systems with a score on every benchmark are ranked; the others are
  listed apart with what they lack (as for the suite mean);
- ``last``: a missing benchmark counts as a loss to every system that has it (and a tie with the
  others that lack it): MTEB's behaviour, made explicit;
- ``covered``: each benchmark ranks the systems that have it; a system's score is its mean share of
  the points available there (``points / (n_b - 1)``), over the benchmarks it covers, so a system
  is neither rewarded nor punished for the benchmarks it lacks (nor for how many systems a
  benchmark has). Benchmarks with a single system give no points.

Systems with equal scores share a rank (1, 2, 2, 4).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ragbench.errors import InputError
from ragbench.stats._checks import check_choice

MissingBenchmarks = Literal["exclude", "last", "covered"]
BORDA_POLICIES: tuple[str, ...] = ("exclude", "last", "covered")


@dataclass(frozen=True, slots=True)
class BordaEntry:
    """One system's Borda result.

    Attributes:
        system: The system.
        rank: Its rank (1 = best; equal scores share a rank).
        score: Its Borda points (``exclude``, ``last``) or mean point share (``covered``).
        benchmarks: The benchmarks it has a score on.
        missing: The benchmarks it lacks.
    """

    system: str
    rank: int
    score: float
    benchmarks: int
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BordaResult:
    """Borda ranks: ``entries`` best first, ``excluded`` (system -> missing benchmarks) apart."""

    policy: str
    entries: tuple[BordaEntry, ...]
    excluded: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "policy": self.policy,
            "entries": [asdict(e) for e in self.entries],
            "excluded": {k: list(v) for k, v in self.excluded.items()},
        }


def _points(values: Mapping[str, float], system: str) -> float:
    mine = values[system]
    return sum(1.0 if v < mine else 0.5 if v == mine else 0.0 for s, v in values.items() if s != system)


def borda(
    scores: Mapping[str, Mapping[str, float]],
    benchmarks: list[str] | None = None,
    *,
    missing: MissingBenchmarks = "exclude",
) -> BordaResult:
    """Borda ranks of systems over benchmarks (higher scores are better).

    Args:
        scores: ``{system: {benchmark: score}}``; a benchmark a system lacks is simply absent.
        benchmarks: Every benchmark of the suite (default: every one that any system has).
        missing: ``exclude``, ``last`` or ``covered`` (see the module docstring).

    Raises:
        InputError: no systems, a non-finite score, an unknown policy or benchmark.
    """
    check_choice(missing, "missing-benchmark policy", BORDA_POLICIES)
    if not scores:
        raise InputError("Borda ranks need at least one system")
    names = benchmarks if benchmarks is not None else sorted({b for v in scores.values() for b in v})
    for system, values in scores.items():
        unknown = set(values) - set(names)
        if unknown:
            raise InputError(f"system {system!r} has a score on an unknown benchmark {sorted(unknown)[0]!r}")
        if not all(math.isfinite(v) for v in values.values()):
            raise InputError(f"system {system!r} has a score that is not a finite number")
    lacks = {s: tuple(b for b in names if b not in v) for s, v in scores.items()}
    excluded: dict[str, tuple[str, ...]] = {}
    ranked = list(scores)
    if missing == "exclude":
        excluded = {s: m for s, m in lacks.items() if m}
        ranked = [s for s in scores if not lacks[s]]
    totals: dict[str, float] = {}
    for system in ranked:
        if missing == "covered":
            shares = []
            for benchmark in names:
                present = {s: scores[s][benchmark] for s in ranked if benchmark in scores[s]}
                if system in present and len(present) > 1:
                    shares.append(_points(present, system) / (len(present) - 1))
            totals[system] = sum(shares) / len(shares) if shares else 0.0
        else:
            total = 0.0
            for benchmark in names:
                # "last": a missing benchmark is -inf, below every score and tied with other misses.
                present = {s: scores[s].get(benchmark, -math.inf) for s in ranked}
                total += _points(present, system)
            totals[system] = total
    order = sorted(ranked, key=lambda s: (-totals[s], s))
    entries = tuple(
        BordaEntry(
            system=s,
            rank=1 + sum(1 for t in ranked if totals[t] > totals[s]),
            score=totals[s],
            benchmarks=len(names) - len(lacks[s]),
            missing=lacks[s],
        )
        for s in order
    )
    return BordaResult(policy=missing, entries=entries, excluded=excluded)
