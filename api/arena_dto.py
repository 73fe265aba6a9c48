"""Request and response shapes of the arena's REST API (msgspec Structs; never ORM objects).

A battle read before the reader has voted on it carries no run ids and no system names
(``revealed`` false): only the topic and the two sides, ``a`` shown on the left.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from api.dto import finite

Verdict = Literal["a", "b", "tie", "bad"]


class DrawCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/benchmarks/{slug}/arena/draw``: a balanced round of battles (admin).
    ``runs``: the players (default: the latest run of every system); each pair meets
    ``per_pair`` times; ``k`` documents per ranking side."""

    runs: list[int] | None = None
    per_pair: int = 1
    k: int = 10
    seed: int | None = None


class BattleCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/benchmarks/{slug}/arena/battles``: one battle, ``run_a`` on the left (admin)."""

    run_a: int
    run_b: int
    query_id: str
    k: int = 10


class VoteCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/arena/battles/{id}/votes``: a verdict on the answers and/or on the evidence:
    ``a`` (left better), ``b``, ``tie`` or ``bad`` (both bad). Battles between two rankings take
    an evidence verdict only."""

    answer: Verdict | None = None
    evidence: Verdict | None = None


class ImportCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/benchmarks/{slug}/arena/import``: pairwise judgments (JSON Lines, the
    RAGChecker layout) as ``content``; ``label`` the field read; ``source`` the name the votes are
    filed under (default: from the file's hash)."""

    content: str
    name: str = "judgments.jsonl"
    label: str = "overall_label"
    source: str | None = None


class DrawRead(msgspec.Struct, frozen=True):
    """The battles a draw created (ids, in the order drawn), its players, pairs without a topic in common."""

    battles: list[int]
    players: list[int]
    skipped: list[list[int]]


class VoteRead(msgspec.Struct, frozen=True):
    """A row of the vote log (a retraction has ``retracts`` set and no verdict)."""

    id: int
    battle_id: int
    answer: str | None
    evidence: str | None
    voter_kind: str
    created_at: datetime
    retracts: int | None = None

    @classmethod
    def from_model(cls, vote: Any) -> VoteRead:
        """Copy an ``ArenaVote``."""
        return cls(
            id=vote.id,
            battle_id=vote.battle_id,
            answer=vote.answer,
            evidence=vote.evidence,
            voter_kind=vote.voter_kind,
            created_at=vote.created_at,
            retracts=vote.retracts_id,
        )


class BattleRead(msgspec.Struct, frozen=True):
    """A battle as the reader may see it: names (``run_a``, ``system_a``, ...) only once revealed."""

    id: int
    benchmark: str
    query_id: str
    query: str
    a: dict[str, Any]
    b: dict[str, Any]
    asks: list[str]
    revealed: bool
    run_a: int | None = None
    run_b: int | None = None
    system_a: str | None = None
    system_b: str | None = None
    vote: VoteRead | None = None

    @classmethod
    def from_view(cls, view: Any, slug: str) -> BattleRead:
        """Copy a :class:`ragbench.store.service.BattleView` (names left out until revealed)."""
        battle = view.battle
        shown = view.revealed
        return cls(
            id=battle.id,
            benchmark=slug,
            query_id=battle.query_id,
            query=battle.query_text,
            a=battle.side_a,
            b=battle.side_b,
            asks=list(view.asks),
            revealed=shown,
            run_a=battle.run_a_id if shown else None,
            run_b=battle.run_b_id if shown else None,
            system_a=battle.system_a if shown else None,
            system_b=battle.system_b if shown else None,
            vote=VoteRead.from_model(view.vote) if view.vote is not None else None,
        )


class ArenaRowRead(msgspec.Struct, frozen=True):
    """One run on the arena leaderboard: Elo-scale rating with its bootstrap interval, rank by
    interval separation (runs whose intervals overlap share a rank), votes and win rate."""

    rank: int | None
    run_id: int
    system: str
    rating: float | None
    low: float | None
    high: float | None
    votes: int
    wins: int
    ties: int
    losses: int
    both_bad: int
    win_rate: float | None


class RatingsRead(msgspec.Struct, frozen=True):
    """``GET /api/v1/benchmarks/{slug}/arena/ratings``: Bradley–Terry ratings of the runs from the
    ``voters``' votes on ``aspect``, with bootstrap intervals (``rounds``, ``seed``, resampled by
    ``cluster``); ``rated`` false when the comparison graph is in pieces (``components``)."""

    benchmark: str
    voters: str
    aspect: str
    cluster: str
    rounds: int
    seed: int
    confidence: float
    rated: bool
    finite_mle: bool
    battles: int
    votes: int
    degenerate_rounds: int
    components: list[list[int]]
    """The comparison graph's connected pieces, as run ids (one piece when rated)."""
    notes: list[str]
    rows: list[ArenaRowRead]
    matrix_runs: list[int]
    matrix_score: list[list[float]]
    matrix_votes: list[list[int]]

    @classmethod
    def from_board(cls, board: Any) -> RatingsRead:
        """Copy a :class:`ragbench.store.service.ArenaBoard`."""
        r = board.ratings
        rows = [
            ArenaRowRead(
                rank=x.rank,
                run_id=x.run_id,
                system=x.system,
                rating=finite(x.rating),
                low=finite(x.low),
                high=finite(x.high),
                votes=x.votes,
                wins=x.wins,
                ties=x.ties,
                losses=x.losses,
                both_bad=x.both_bad,
                win_rate=finite(x.win_rate),
            )
            for x in board.rows
        ]
        return cls(
            benchmark=board.slug,
            voters=board.voters,
            aspect=board.aspect,
            cluster=board.cluster,
            rounds=r.rounds if r is not None else 0,
            seed=r.seed if r is not None else 0,
            confidence=r.confidence if r is not None else 0.95,
            rated=bool(r is not None and r.rated),
            finite_mle=bool(r is not None and r.finite_mle),
            battles=board.battles,
            votes=board.votes,
            degenerate_rounds=r.degenerate_rounds if r is not None else 0,
            components=[[int(x) for x in c] for c in r.components] if r is not None else [],
            notes=list(board.notes),
            rows=rows,
            matrix_runs=[int(s) for s in r.matrix.systems] if r is not None else [],
            matrix_score=[list(row) for row in r.matrix.score] if r is not None else [],
            matrix_votes=[list(row) for row in r.matrix.votes] if r is not None else [],
        )


class ImportRead(msgspec.Struct, frozen=True):
    """What an import stored and the first two annotators' agreement (labels and their signs)."""

    source: str
    battles: int
    votes: int
    systems: dict[str, int]
    labels: dict[str, Any] | None
    signs: dict[str, Any] | None

    @classmethod
    def from_report(cls, report: Any) -> ImportRead:
        """Copy an :class:`ragbench.store.service.ImportReport`."""
        return cls(
            source=report.source,
            battles=report.battles,
            votes=report.votes,
            systems=dict(report.systems),
            labels=report.labels.to_dict() if report.labels is not None else None,
            signs=report.signs.to_dict() if report.signs is not None else None,
        )
