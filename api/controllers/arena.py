"""The arena over REST: battles, votes, ratings, agreement, imports and the vote log.

Voting over the API needs a bearer token (the voter is the token's user); anonymous visitors vote
through the pages. A battle is served without run ids or system names until the reader has voted
on it (admins see them always).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any, Literal

from litestar import Controller, Response, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED

from api.arena_dto import (
    BattleCreate,
    BattleRead,
    DrawCreate,
    DrawRead,
    ImportCreate,
    ImportRead,
    RatingsRead,
    VoteCreate,
    VoteRead,
)
from api.auth import requires_admin, requires_member
from api.bounds import BattleId, SlugPath, VoteId, parse_id
from api.deps import Database, Principal
from ragbench.errors import NotFoundError
from ragbench.store import service

VotersParam = Annotated[
    str, Parameter(description="human (default), llm, or one voter key such as llm:<judge>")
]
AspectParam = Annotated[
    Literal["answer", "evidence"] | None,
    Parameter(description="the verdict rated; default: answer when any vote has one, else evidence"),
]
ClusterParam = Annotated[
    Literal["battle", "topic", "voter"], Parameter(description="what the bootstrap resamples")
]
RoundsParam = Annotated[
    int | None, Parameter(ge=1, le=10_000, description="bootstrap rounds (default 1,000)")
]
EXPORT_FIELDS = (
    "vote_id",
    "created_at",
    "battle_id",
    "query_id",
    "run_a",
    "system_a",
    "run_b",
    "system_b",
    "answer",
    "evidence",
    "voter_kind",
    "voter",
    "retracts",
    "label",
    "provenance",
)


def _voter(actor: Any) -> service.Voter:
    return service.Voter.for_user(actor)


class ArenaController(Controller):
    """Blind pairwise battles between runs, votes, and Bradley–Terry ratings."""

    path = "/api/v1"
    tags = ("Arena",)

    @post(
        "/benchmarks/{slug:str}/arena/draw",
        operation_id="DrawBattles",
        guards=[requires_admin],
        sync_to_thread=True,
        status_code=HTTP_201_CREATED,
    )
    def draw(self, db: Database, principal: Principal, slug: SlugPath, data: DrawCreate) -> DrawRead:
        """Draw a balanced round: every pair of players meets ``per_pair`` times on topics both
        answer, sides at random (admin only; 422 for a run listed twice or a kind the arena cannot
        show)."""
        with db.begin(principal) as (s, actor):
            report = service.draw_battles(
                s, actor, slug, runs=data.runs, per_pair=data.per_pair, k=data.k, seed=data.seed
            )
            return DrawRead(
                battles=[b.id for b in report.battles],
                players=list(report.players),
                skipped=[list(p) for p in report.skipped],
            )

    @post(
        "/benchmarks/{slug:str}/arena/battles",
        operation_id="CreateBattle",
        guards=[requires_admin],
        sync_to_thread=True,
        status_code=HTTP_201_CREATED,
    )
    def create(self, db: Database, principal: Principal, slug: SlugPath, data: BattleCreate) -> BattleRead:
        """One battle between two runs on a topic (admin only; 422 for a run against itself)."""
        with db.begin(principal) as (s, actor):
            battle = service.create_battle(s, actor, slug, data.run_a, data.run_b, data.query_id, k=data.k)
            return BattleRead.from_view(service.battle_view(s, battle.id, None, actor), slug)

    @get(
        "/benchmarks/{slug:str}/arena/next",
        operation_id="NextBattle",
        guards=[requires_member],
        sync_to_thread=True,
    )
    def next_battle(self, db: Database, principal: Principal, slug: SlugPath) -> BattleRead:
        """A battle the caller has not voted on, among the least voted (404 when none is left)."""
        with db.begin(principal) as (s, actor):
            voter = _voter(actor)
            battle = service.next_battle(s, slug, voter)
            if battle is None:
                raise NotFoundError(f"no battle of {slug!r} is left for you to vote on")
            return BattleRead.from_view(service.battle_view(s, battle.id, voter, actor), slug)

    @get("/arena/battles/{battle_id:str}", operation_id="GetBattle", sync_to_thread=True)
    def get_battle(self, db: Database, principal: Principal | None, battle_id: BattleId) -> BattleRead:
        """A battle: the topic and the two sides; run ids and names once the caller has voted on it."""
        number = parse_id(battle_id, "battle")
        with db.begin(principal) as (s, actor):
            voter = _voter(actor) if actor is not None else None
            view = service.battle_view(s, number, voter, actor)
            return BattleRead.from_view(view, _slug(s, view.battle.benchmark_id))

    @post(
        "/arena/battles/{battle_id:str}/votes",
        operation_id="CastVote",
        guards=[requires_member],
        sync_to_thread=True,
        status_code=HTTP_201_CREATED,
    )
    def vote(self, db: Database, principal: Principal, battle_id: BattleId, data: VoteCreate) -> BattleRead:
        """Vote on a battle; answers the battle with the names revealed. One vote per voter and
        battle (409 on a second), at most ``RAGBENCH_ARENA_VOTES_PER_MINUTE`` a minute (429)."""
        number = parse_id(battle_id, "battle")
        with db.begin(principal) as (s, actor):
            voter = _voter(actor)
            service.cast_vote(s, number, voter, answer=data.answer, evidence=data.evidence)
            view = service.battle_view(s, number, voter, actor)
            return BattleRead.from_view(view, _slug(s, view.battle.benchmark_id))

    @post(
        "/arena/votes/{vote_id:str}/retract",
        operation_id="RetractVote",
        guards=[requires_member],
        sync_to_thread=True,
        status_code=HTTP_201_CREATED,
    )
    def retract(self, db: Database, principal: Principal, vote_id: VoteId) -> VoteRead:
        """Withdraw one's vote: a retraction row is appended (the log is never rewritten)."""
        number = parse_id(vote_id, "vote")
        with db.begin(principal) as (s, actor):
            return VoteRead.from_model(service.retract_vote(s, number, _voter(actor)))

    @get("/benchmarks/{slug:str}/arena/ratings", operation_id="GetArenaRatings", sync_to_thread=True)
    def ratings(
        self,
        db: Database,
        principal: Principal | None,
        slug: SlugPath,
        voters: VotersParam = "human",
        aspect: AspectParam = None,
        cluster: ClusterParam = "battle",
        rounds: RoundsParam = None,
        seed: Annotated[int, Parameter(ge=0)] = 0,
    ) -> RatingsRead:
        """Bradley–Terry ratings (ties and both-bad as half a win) with bootstrap intervals, ranks
        by interval separation, votes, win rates and the pairwise win-rate matrix."""
        with db.begin(principal) as (s, _):
            board = service.arena_board(
                s, slug, voters=voters, aspect=aspect, cluster=cluster, rounds=rounds, seed=seed
            )
            return RatingsRead.from_board(board)

    @get("/benchmarks/{slug:str}/arena/style", operation_id="GetArenaStyleControl", sync_to_thread=True)
    def style(
        self,
        db: Database,
        principal: Principal | None,
        slug: SlugPath,
        voters: VotersParam = "human",
        aspect: AspectParam = None,
        cluster: ClusterParam = "battle",
        rounds: RoundsParam = None,
        seed: Annotated[int, Parameter(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Ratings controlled for answer length, citations and supported-citation share, with each
        covariate's coefficient and interval (422 when no covariate varies)."""
        with db.begin(principal) as (s, _):
            result = service.arena_style(
                s, slug, voters=voters, aspect=aspect, cluster=cluster, rounds=rounds, seed=seed
            )
            body: dict[str, Any] = result.to_dict()
            for row in body["systems"]:
                row["run_id"] = int(row.pop("system"))
            return body

    @get("/benchmarks/{slug:str}/arena/agreement", operation_id="GetArenaAgreement", sync_to_thread=True)
    def agreement(
        self,
        db: Database,
        principal: Principal | None,
        slug: SlugPath,
        voters: VotersParam = "human",
        aspect: AspectParam = None,
        measure: Annotated[
            list[str] | None, Parameter(description="repeat; default: the benchmark's")
        ] = None,
        seed: Annotated[int, Parameter(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Kendall's tau between the arena and each offline measure (interval and per-battle
        agreement withheld on a hidden benchmark unless admin), human vs LM kappa, and the
        inter-annotator agreement of imports."""
        with db.begin(principal) as (s, actor):
            found = service.arena_agreement(
                s, slug, actor, voters=voters, aspect=aspect, measures=measure, seed=seed
            )
            return found.to_dict()

    @get(
        "/benchmarks/{slug:str}/arena/votes",
        operation_id="ExportArenaVotes",
        guards=[requires_admin],
        sync_to_thread=True,
    )
    def export(
        self,
        db: Database,
        principal: Principal,
        slug: SlugPath,
        format: Annotated[Literal["jsonl", "csv"], Parameter(description="jsonl (default) or csv")] = "jsonl",
    ) -> Response[bytes]:
        """The whole vote log, retractions included, oldest first (admin only)."""
        with db.begin(principal) as (s, actor):
            rows = service.export_votes(s, actor, slug)
        if format == "csv":
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                provenance = row["provenance"]
                writer.writerow({**row, "provenance": "" if provenance is None else json.dumps(provenance)})
            body, media = buffer.getvalue().encode(), "text/csv"  # Litestar adds "; charset=utf-8"
        else:
            body = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()
            media = "application/x-ndjson"
        name = f"{slug}-arena-votes.{format}"
        return Response(
            body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )

    @post(
        "/benchmarks/{slug:str}/arena/import",
        operation_id="ImportArenaVotes",
        guards=[requires_admin],
        sync_to_thread=True,
        status_code=HTTP_201_CREATED,
    )
    def import_votes(
        self, db: Database, principal: Principal, slug: SlugPath, data: ImportCreate
    ) -> ImportRead:
        """Import pairwise judgments as battles and votes (admin only): 400 with lines for a
        malformed file, unknown systems or topics, labels outside -2..2; 409 for a second import."""
        with db.begin(principal) as (s, actor):
            report = service.import_pairwise(
                s,
                actor,
                slug,
                data.content.encode("utf-8"),
                name=data.name,
                label=data.label,
                source=data.source,
            )
            return ImportRead.from_report(report)


def _slug(s: Any, benchmark_id: int) -> str:
    from ragbench.store.models import Benchmark

    benchmark = s.get(Benchmark, benchmark_id)
    return str(benchmark.slug) if benchmark is not None else ""
