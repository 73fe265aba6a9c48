"""``ragbench arena ...``: draw battles, import judgments, LM votes, ratings, agreement, the vote log.

Every command works on the service database (``RAGBENCH_DATABASE_URL``) as its local admin, like
``ragbench benchmark``. ``arena judge`` is the composition point of the LM layer (``rankers.lm``)
and the arena: battles are read in one transaction, judged outside it, and the votes written in
another.
"""

from __future__ import annotations

import csv
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from ragbench.cli.console import err, out, progress_bars, user_errors

arena_app = typer.Typer(
    help="The arena: blind pairwise battles between runs, votes, ratings.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add ``ragbench arena``."""
    app.add_typer(arena_app, name="arena")


class Cluster(str, Enum):
    battle = "battle"
    topic = "topic"
    voter = "voter"


class Aspect(str, Enum):
    answer = "answer"
    evidence = "evidence"


class Output(str, Enum):
    table = "table"
    json = "json"


class LogFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"


SlugArg = Annotated[str, typer.Argument(help="The benchmark.")]
VotersOpt = Annotated[str, typer.Option("--voters", help="human, llm, or one voter key (llm:<judge>).")]
AspectOpt = Annotated[Aspect | None, typer.Option("--aspect", help="Verdict rated (default: answer if any).")]
ClusterOpt = Annotated[Cluster, typer.Option("--cluster", help="What the bootstrap resamples.")]
RoundsOpt = Annotated[int | None, typer.Option("--rounds", help="Bootstrap rounds (default 1,000).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Bootstrap seed.")]
OutputOpt = Annotated[Output, typer.Option("-f", "--format", help="Output format.")]


def _transact(work: Any) -> Any:
    from ragbench.cli.db import transaction

    with transaction() as s:
        return work(s)


def _number(value: float | None, digits: int = 0) -> str:
    import math

    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


@arena_app.command("draw")
@user_errors
def draw_command(
    slug: SlugArg,
    run: Annotated[
        list[int] | None,
        typer.Option("--run", help="A player (repeat); default: the latest run of every system."),
    ] = None,
    per_pair: Annotated[int, typer.Option("--per-pair", help="Battles per pair of runs.")] = 1,
    k: Annotated[int, typer.Option("-k", help="Documents shown per ranking.")] = 10,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the draw.")] = None,
) -> None:
    """Draw a balanced round of battles: every pair of runs meets --per-pair times, on topics both
    answer, sides at random."""
    from ragbench.store import service

    def draw(s: Any) -> Any:
        return service.draw_battles(
            s, service.local_admin(s), slug, runs=run, per_pair=per_pair, k=k, seed=seed
        )

    report = _transact(draw)
    out.print(f"drew {len(report.battles)} battles among {len(report.players)} runs on {slug}")
    for a, b in report.skipped:
        err.print(f"ragbench: runs {a} and {b} answer no topic in common: no battle between them")


@arena_app.command("import")
@user_errors
def import_command(
    slug: SlugArg,
    path: Annotated[Path, typer.Argument(help="Pairwise judgments (JSON Lines, RAGChecker's layout).")],
    label: Annotated[str, typer.Option("--label", help="The label field (-2..2).")] = "overall_label",
    source: Annotated[str | None, typer.Option("--source", help="Name the votes are filed under.")] = None,
) -> None:
    """Import pairwise judgments as battles and votes (sign of each label: the winner; 0: a tie),
    and print the annotators' agreement."""
    from ragbench.errors import InputError
    from ragbench.store import service

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None

    def run(s: Any) -> Any:
        return service.import_pairwise(
            s, service.local_admin(s), slug, data, name=str(path), label=label, source=source
        )

    report = _transact(run)
    out.print(
        f"imported {report.battles} comparisons ({report.votes} votes) into {slug} as source {report.source}"
    )
    for name, run_id in report.systems.items():
        out.print(f"  {name} -> run {run_id}")
    if report.labels is not None:
        _agreement_lines("labels -2..2", report.labels)
        _agreement_lines("signs (winner or tie)", report.signs)


def _agreement_lines(what: str, agreement: Any) -> None:
    out.print(
        f"annotators on {what}: n={agreement.n} agreement={agreement.percent:.3f} "
        f"kappa={_number(agreement.kappa, 3)} "
        f"weighted kappa ({agreement.weights})={_number(agreement.weighted_kappa, 3)}"
    )


@arena_app.command("ratings")
@user_errors
def ratings_command(
    slug: SlugArg,
    voters: VotersOpt = "human",
    aspect: AspectOpt = None,
    cluster: ClusterOpt = Cluster.battle,
    rounds: RoundsOpt = None,
    seed: SeedOpt = 0,
    output: OutputOpt = Output.table,
) -> None:
    """Bradley–Terry ratings with bootstrap intervals, ranks by interval separation, win rates."""
    from ragbench.store import service

    def read(s: Any) -> Any:
        return service.arena_board(
            s,
            slug,
            voters=voters,
            aspect=aspect.value if aspect else None,
            cluster=cluster.value,
            rounds=rounds,
            seed=seed,
        )

    board = _transact(read)
    if output == Output.json:
        body = {"benchmark": slug, "voters": board.voters, "aspect": board.aspect, "votes": board.votes}
        body.update(board.ratings.to_dict() if board.ratings is not None else {})
        run_of = {str(r.run_id): r for r in board.rows}
        for row in body.get("systems", []):
            row["run_id"] = int(row["system"])
            row["system"] = run_of[str(row["run_id"])].system
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    if not board.rows:
        out.print(f"no {voters} votes on the {board.aspect} of {slug} yet ({board.battles} battles)")
        return
    from rich.table import Table

    r = board.ratings
    table = Table(
        title=(
            f"{slug}: {board.votes} {voters} votes on the {board.aspect}; "
            f"{r.rounds} rounds by {board.cluster}, seed {r.seed}"
        ),
        show_edge=False,
    )
    for column in ("rank", "system", "run", "rating", "interval", "votes", "W/T/L/bad", "win rate"):
        table.add_column(column, justify="left" if column == "system" else "right")
    for row in board.rows:
        table.add_row(
            str(row.rank if row.rank is not None else "-"),
            row.system,
            str(row.run_id),
            _number(row.rating),
            f"{_number(row.low)}-{_number(row.high)}",
            str(row.votes),
            f"{row.wins}/{row.ties}/{row.losses}/{row.both_bad}",
            f"{_number(row.win_rate * 100, 1)}%",
        )
    out.print(table)
    for note in board.notes:
        err.print(f"ragbench: {note}")


@arena_app.command("agreement")
@user_errors
def agreement_command(
    slug: SlugArg,
    measure: Annotated[
        list[str] | None, typer.Option("-m", "--measure", help="Offline measure (repeat).")
    ] = None,
    voters: VotersOpt = "human",
    aspect: AspectOpt = None,
    seed: SeedOpt = 0,
) -> None:
    """Kendall's tau between the arena and each offline measure, per-battle agreement, human vs LM
    kappa and the annotators' agreement (as JSON)."""
    from ragbench.store import service

    def read(s: Any) -> Any:
        return service.arena_agreement(
            s,
            slug,
            service.local_admin(s),
            voters=voters,
            aspect=aspect.value if aspect else None,
            measures=measure,
            seed=seed,
        ).to_dict()

    sys.stdout.write(json.dumps(_transact(read), indent=2) + "\n")


@arena_app.command("export")
@user_errors
def export_command(
    slug: SlugArg,
    log_format: Annotated[LogFormat, typer.Option("-f", "--format", help="jsonl or csv.")] = LogFormat.jsonl,
) -> None:
    """Write the whole vote log (retractions included) to stdout."""
    from ragbench.store import service

    rows = _transact(lambda s: service.export_votes(s, service.local_admin(s), slug))
    if log_format == LogFormat.csv:
        writer = csv.DictWriter(
            sys.stdout, fieldnames=list(rows[0]) if rows else ["vote_id"], lineterminator="\n"
        )
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {**row, "provenance": "" if row["provenance"] is None else json.dumps(row["provenance"])}
            )
        return
    for row in rows:
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


@arena_app.command("judge")
@user_errors
def judge_command(
    slug: SlugArg,
    backend: Annotated[str, typer.Option("--backend", help="local or openai.")] = "local",
    model: Annotated[
        str | None, typer.Option("--model", help="Local directory, or the endpoint's model id.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint (up to /v1).")
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option("--api-key-env", help="Variable holding the API key.")
    ] = None,
    device: Annotated[str | None, typer.Option("--device", help="Local backend: cpu, cuda, auto.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Judge at most this many battles.")] = None,
) -> None:
    """Let an LM vote on the battles it has not judged yet: each in both orders (a judge that
    changes its mind when the sides swap gives a tie); unreadable replies are counted, not voted."""
    from ragbench.store import service
    from rankers.arena_judge import judge_battles, judge_key
    from rankers.lm import open_client

    config: dict[str, Any] = {"backend": backend}
    for key, value in (
        ("model", model),
        ("base_url", base_url),
        ("api_key_env", api_key_env),
        ("device", device),
    ):
        if value is not None:
            config[key] = value
    client = open_client(config, where="arena judge")
    voter = service.Voter.judge(judge_key(client))

    def read(s: Any) -> list[dict[str, Any]]:
        battles = service.unvoted_battles(s, slug, voter, limit)
        return [
            {
                "id": b.id,
                "query": b.query_text or b.query_id,
                "aspect": "answer"
                if "answer" in {b.side_a.get("kind"), b.side_b.get("kind")}
                else "evidence",
                "a": b.side_a,
                "b": b.side_b,
            }
            for b in battles
        ]

    battles = _transact(read)
    if not battles:
        out.print(f"{voter.key} has judged every battle of {slug}")
        return
    with progress_bars() as update:
        verdicts = judge_battles(
            client, battles, on_done=lambda n: update("judging (both orders)", n, 2 * len(battles))
        )

    def write(s: Any) -> int:
        stored = 0
        for v in verdicts:
            if v.verdict is None:
                continue
            answer, evidence = (v.verdict, None) if v.aspect == "answer" else (None, v.verdict)
            service.cast_vote(
                s, v.battle_id, voter, answer=answer, evidence=evidence, provenance=v.provenance
            )
            stored += 1
        return stored

    stored = _transact(write)
    failures = [v for v in verdicts if v.verdict is None]
    inconsistent = sum(1 for v in verdicts if v.verdict is not None and not v.consistent)
    usage = client.pop_usage()
    out.print(
        f"{voter.key}: {stored} votes on {slug} ({inconsistent} position-inconsistent, counted as ties); "
        f"{len(failures)} failures; {usage.calls} model calls, {usage.cached} from the cache"
    )
    for v in failures[:20]:
        err.print(f"ragbench: battle {v.battle_id}: {v.error}")
    if failures:
        raise typer.Exit(1)
