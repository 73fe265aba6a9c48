"""The service commands of ``ragbench``: serve, db, benchmark, user, token (create, list, revoke),
submit.

Registered on the main Typer app by :func:`register`; store, API and HTTP-client imports happen
inside each command so the evaluation commands never pay for them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from ragbench.cli.console import err, out, user_errors


def register(app: typer.Typer) -> None:
    """Add the service commands and sub-apps to ``app``."""
    app.command("serve")(serve_command)
    app.command("submit")(submit_command)
    app.add_typer(db_app, name="db")
    app.add_typer(benchmark_app, name="benchmark")
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")


@user_errors
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
) -> None:
    """Run the web service (REST API, leaderboard pages, OpenAPI at /schema) with uvicorn, one worker.

    The port is bound first: a busy port is reported before anything else is printed."""
    import socket

    from ragbench.errors import InputError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, OverflowError) as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        reason = "the port is in use" if exc.errno in (98, 48, 10048) else (exc.strerror or str(exc))
        raise InputError(f"cannot listen on {host}:{port}: {reason}") from None
    try:
        _serve(sock, host, port)
    finally:
        sock.close()


def _serve(sock: Any, host: str, port: int) -> None:
    import uvicorn

    from api.app import create_app
    from ragbench.store.db import ensure_default_database

    note = ensure_default_database()
    if note:
        err.print(note)
    application = create_app()  # DatabaseNotMigrated -> "run `ragbench db upgrade`", exit 2
    config = uvicorn.Config(application, workers=1, log_level="info", access_log=False)
    server = uvicorn.Server(config)
    err.print(f"ragbench: serving on http://{host}:{port} (API docs at /schema)")
    server.run(sockets=[sock])


db_app = typer.Typer(help="The service database (RAGBENCH_DATABASE_URL).", no_args_is_help=True)
benchmark_app = typer.Typer(help="Benchmarks (run on the server, as its local admin).", no_args_is_help=True)
user_app = typer.Typer(help="Users of the service.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)


def _read_text(path: Path, what: str) -> str:
    from ragbench.errors import InputError
    from ragbench.formats.lines import read_limited

    try:
        return read_limited(path).decode("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the {what} file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"the {what} file {path} is not UTF-8 (byte {exc.start})") from None


def _transact(work: Callable[[Any], Any]) -> Any:
    """``work(session)`` in :func:`ragbench.cli.db.transaction`."""
    from ragbench.cli.db import transaction

    with transaction() as s:
        return work(s)


@db_app.command("upgrade")
@user_errors
def db_upgrade_command() -> None:
    """Create the tables, or apply the migrations not yet applied (safe to repeat)."""
    from ragbench.settings import get_settings
    from ragbench.store.db import display_url, upgrade

    url = get_settings().database_url
    upgrade(url)
    err.print(f"ragbench: database {display_url(url)} is up to date")


@benchmark_app.command("add")
@user_errors
def benchmark_add_command(
    slug: Annotated[str, typer.Argument(help="URL name: a-z 0-9 . _ - (e.g. robust04).")],
    topics: Annotated[Path, typer.Option("--topics", help="Topics file (TREC, SGML, TSV or JSONL).")],
    qrels: Annotated[Path, typer.Option("--qrels", help="TREC qrels (version 1).")],
    corpus: Annotated[
        str | None, typer.Option("--corpus", help="Where the corpus is (stored as given).")
    ] = None,
    hidden: Annotated[bool, typer.Option("--hidden", help="Blind: per-topic scores withheld.")] = False,
    title: Annotated[str, typer.Option("--title", help="Display title.")] = "",
    description: Annotated[str, typer.Option("--description", help="Free text.")] = "",
    measure: Annotated[
        list[str] | None,
        typer.Option(
            "-m", "--measure", help="Leaderboard measure (repeat); default nDCG@10 AP P@10 R@1000 RR Bpref."
        ),
    ] = None,
    sessions: Annotated[
        Path | None,
        typer.Option("--sessions", help="Sessions file (session_id query_index query; TSV or JSONL)."),
    ] = None,
    session_qrels: Annotated[
        Path | None,
        typer.Option("--session-qrels", help="Session qrels (session_id query_index doc_id grade)."),
    ] = None,
    session_measure: Annotated[
        list[str] | None,
        typer.Option(
            "--session-measure",
            help="Session leaderboard measure (repeat); default NUM U sessDCG@10 nsessDCG@10 esNDCG@10.",
        ),
    ] = None,
) -> None:
    """Register a benchmark, acting as the local admin (created as user 'admin' if none exists);
    with --sessions and --session-qrels it takes session runs too."""
    from ragbench.errors import InputError
    from ragbench.store import service

    topics_text, qrels_text = _read_text(topics, "topics"), _read_text(qrels, "qrels")
    if (sessions is None) != (session_qrels is None):
        raise InputError("--sessions and --session-qrels go together: give both or neither")
    if session_measure and sessions is None:
        raise InputError("--session-measure needs --sessions and --session-qrels")
    sessions_text = _read_text(sessions, "sessions") if sessions is not None else None
    session_qrels_text = _read_text(session_qrels, "session qrels") if session_qrels is not None else None

    def add(s: Any) -> str:
        admin = service.local_admin(s)
        if sessions_text is None:
            benchmark, created = service.register_benchmark(
                s, admin, slug, title=title, description=description, topics_text=topics_text,
                qrels_text=qrels_text, corpus_ref=corpus, hidden=hidden, measures=measure,
            )  # fmt: skip
            if not created:
                return f"benchmark {slug} exists with the same topics, qrels and measures: nothing to do"
        else:
            benchmark = service.create_benchmark(
                s,
                admin,
                slug,
                title=title,
                description=description,
                topics_text=topics_text,
                qrels_text=qrels_text,
                corpus_ref=service.normalize_ref(corpus),
                hidden=hidden,
                measures=measure,
                sessions_text=sessions_text,
                session_qrels_text=session_qrels_text,
                session_measures=session_measure or None,
            )
        hidden_note = " (hidden)" if benchmark.hidden else ""
        line = f"added benchmark {benchmark.slug}{hidden_note}: {', '.join(benchmark.scored_measures)}"
        if benchmark.has_sessions:
            line += f"\nsessions: {', '.join(benchmark.session_measures)}"
        return line

    out.print(_transact(add))


@benchmark_app.command("sessions")
@user_errors
def benchmark_sessions_command(
    slug: Annotated[str, typer.Argument(help="The benchmark.")],
    sessions: Annotated[
        Path, typer.Option("--sessions", help="Sessions file (session_id query_index query; TSV or JSONL).")
    ],
    session_qrels: Annotated[
        Path, typer.Option("--session-qrels", help="Session qrels (session_id query_index doc_id grade).")
    ],
    session_measure: Annotated[
        list[str] | None,
        typer.Option(
            "--session-measure",
            help="Session leaderboard measure (repeat); default NUM U sessDCG@10 nsessDCG@10 esNDCG@10.",
        ),
    ] = None,
) -> None:
    """Give an existing benchmark its sessions and session qrels (once), as the local admin."""
    from ragbench.store import service

    sessions_text = _read_text(sessions, "sessions")
    qrels_text = _read_text(session_qrels, "session qrels")

    def add(s: Any) -> str:
        benchmark = service.add_sessions(
            s, service.local_admin(s), slug, sessions_text, qrels_text, measures=session_measure or None
        )
        return f"{benchmark.slug}: {', '.join(benchmark.session_measures)}"

    out.print(f"added sessions to {_transact(add)}")


@benchmark_app.command("session-qrels")
@user_errors
def benchmark_session_qrels_command(
    slug: Annotated[str, typer.Argument(help="The benchmark.")],
    qrels: Annotated[Path, typer.Argument(help="Session qrels (session_id query_index doc_id grade).")],
    label_source: Annotated[str, typer.Option("--label-source", help="human or llm.")] = "human",
) -> None:
    """Add a session qrels version and re-score the session runs, as the local admin."""
    from ragbench.store import service

    qrels_text = _read_text(qrels, "session qrels")

    def add(s: Any) -> str:
        version = service.add_session_qrels_version(
            s, service.local_admin(s), slug, qrels_text, label_source=label_source
        )
        return f"session qrels version {version.version} of {slug} ({version.num_judgments} judgments)"

    out.print(f"added {_transact(add)}")


@user_app.command("add")
@user_errors
def user_add_command(
    name: Annotated[str, typer.Argument(help="User (or team) name.")],
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin.")] = False,
) -> None:
    """Add a user (a member unless --admin)."""
    from ragbench.store import service

    role = _transact(lambda s: service.create_user(s, name, role="admin" if admin else "member").role)
    out.print(f"added {role} {name}")


@token_app.command("create")
@user_errors
def token_create_command(
    user: Annotated[str, typer.Argument(help="The user the token acts as.")],
    days: Annotated[
        int | None,
        typer.Option("--days", help="Days it is valid (default RAGBENCH_TOKEN_DAYS, 365; 0: no expiry)."),
    ] = None,
) -> None:
    """Create an API token and print it (once: only its hash is stored)."""
    from ragbench.store import service

    token = _transact(lambda s: service.create_token(s, user, days))
    sys.stdout.write(token + "\n")
    err.print(f"ragbench: token for {user} ({token[:8]}...); keep it: it cannot be shown again")


@token_app.command("list")
@user_errors
def token_list_command(
    user: Annotated[str | None, typer.Argument(help="Only this user's tokens (default: everyone's).")] = None,
) -> None:
    """List API tokens: id, user, prefix, created, last used, expiry and state (never the token)."""
    from rich.table import Table

    from ragbench.store import service

    tokens = _transact(lambda s: service.list_tokens(s, user))
    table = Table(show_edge=False, header_style="bold")
    for column in ("id", "user", "prefix", "created", "last used", "expires", "state"):
        table.add_column(column, justify="right" if column == "id" else "left")
    for t in tokens:
        state = "revoked" if t.revoked else "active" if t.active else "expired"
        table.add_row(
            str(t.id),
            t.user,
            t.prefix,
            _when(t.created_at),
            _when(t.last_used_at),
            _when(t.expires_at),
            state,
        )
    out.print(table)
    err.print(f"{len(tokens)} token{'s' * (len(tokens) != 1)}", style="dim")


@token_app.command("revoke")
@user_errors
def token_revoke_command(
    user: Annotated[str, typer.Argument(help="Whose token(s) to revoke.")],
    prefix: Annotated[
        str | None, typer.Option("--prefix", help="Only the token starting so (as `token list` shows it).")
    ] = None,
    token_id: Annotated[int | None, typer.Option("--id", help="Only the token with this id.")] = None,
) -> None:
    """Revoke a user's tokens: all of them, or one (--prefix or --id). A revoked token answers 401."""
    from ragbench.store import service

    revoked = _transact(lambda s: service.revoke_tokens(s, user, token_id=token_id, prefix=prefix))
    for t in revoked:
        out.print(f"revoked token {t.id} ({t.prefix}...) of {t.user}")
    if not revoked:
        err.print(f"ragbench: {user} has no active token to revoke")


def _when(moment: Any) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


@user_errors
def submit_command(
    slug: Annotated[str, typer.Argument(help="The benchmark.")],
    run: Annotated[Path, typer.Argument(help="TREC run file.")],
    name: Annotated[str, typer.Option("--name", help="System name (yours once used).")],
    description: Annotated[str, typer.Option("--description", help="What the system does.")],
    url: Annotated[str | None, typer.Option("--url", help="Link to the paper or code.")] = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for a queued run's scores.")] = 300.0,
    session: Annotated[
        bool, typer.Option("--session", help="A session run (session_id query_index rank doc_id ...).")
    ] = False,
) -> None:
    """Submit a run (or with --session a session run) to a ragbench server (RAGBENCH_URL, token
    RAGBENCH_TOKEN) and print its scores."""
    from ragbench.client import RejectedError, ServerError, submit
    from ragbench.settings import get_settings

    settings = get_settings()
    try:
        result = submit(
            settings.server_url,
            settings.token,
            slug,
            run,
            name=name,
            description=description,
            url=url,
            wait_s=wait,
            kind="session" if session else "adhoc",
        )
    except RejectedError as exc:
        err.print(f"ragbench: error: {exc}")
        for problem in exc.problems:
            where = ":".join(str(problem[k]) for k in ("file", "line", "column") if problem.get(k))
            err.print(f"{where}: {problem.get('severity', 'error')}: {problem.get('message', '')}")
        raise typer.Exit(2) from None
    except ServerError as exc:
        err.print(f"ragbench: error: {exc}")
        raise typer.Exit(1) from None
    for warning in result.warnings:
        where = ":".join(str(warning[k]) for k in ("file", "line", "column") if warning.get(k))
        err.print(f"{where}: warning: {warning.get('message', '')}")
    _print_submitted(result.run, result.waited_out)


def _print_submitted(run: dict[str, Any], waited_out: bool) -> None:
    status = run.get("status", "?")
    out.print(f"run {run.get('id', '?')} ({run.get('system', '')}): {status}")
    if status == "failed":
        err.print(f"ragbench: error: scoring failed: {run.get('error') or 'no reason given'}")
        raise typer.Exit(2)
    if waited_out:
        err.print("ragbench: the run is still waiting to be scored; look it up later")
        return
    scores = run.get("scores") or {}
    width = max((len(m) for m in scores), default=0)
    for measure, value in scores.items():
        shown = "-" if value is None else f"{value:.4f}"
        out.print(f"{measure:<{width}}  {shown}")
