"""The Litestar application: REST API under ``/api/v1``, pages, OpenAPI at ``/schema``.

``create_app`` wires the store (one engine and session factory per app), bearer-token
authentication, the error mapping of :mod:`api.errors`, the request body limit, the bounds on
input (:mod:`api.bounds`) and on concurrent work (:mod:`api.limits`), rate limits and security
headers (:mod:`api.security`), the OpenAPI document as the API answers (:mod:`api.openapi`) and
the background scoring worker. It refuses to build an app on a database that is not migrated to the latest
revision, so a server never runs against a schema it does not know.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router

from ragbench import __version__
from ragbench.errors import RagbenchError

if TYPE_CHECKING:
    from ragbench.settings import Settings


STATIC = Path(__file__).parent / "static"
"""The pages' stylesheet (served at /static/): no inline styles or scripts anywhere."""


class DatabaseNotMigrated(RagbenchError):
    """The database's schema is not at the latest Alembic revision (or has none)."""


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the application.

    Args:
        settings: The service settings (default :func:`ragbench.settings.get_settings`).

    Returns:
        The Litestar app; its startup hook starts the scoring worker, which first retries the runs
        a previous process left pending.

    Raises:
        DatabaseNotMigrated: the database has not been upgraded to the latest revision.
        RagbenchError: the database URL is bad or the server cannot be reached.
    """
    from api.auth import BearerTokenMiddleware
    from api.bounds import check_json_body
    from api.cache import ResponseCache, invalidating_middleware
    from api.controllers import (
        ArenaController,
        BenchmarkController,
        CompareController,
        JudgingController,
        LeaderboardController,
        RunController,
        SuiteController,
        TokenController,
    )
    from api.cookies import Signer, load_secret
    from api.deps import Database, provide_cache, provide_db, provide_principal, provide_worker
    from api.errors import EXCEPTION_HANDLERS
    from api.judging import JudgeWorker
    from api.limits import WorkLimits, provide_limits
    from api.openapi import DocumentedJsonPlugin, LocalSwaggerPlugin, swagger_assets
    from api.pages import PageController, template_config
    from api.pages_arena import ArenaPageController
    from api.security import add_security_headers, rate_limit_middleware
    from api.suite_pages import SuitePages
    from api.worker import ScoringWorker
    from ragbench.settings import get_settings
    from ragbench.store.db import (
        NOT_MIGRATED,
        database_errors,
        make_engine,
        schema_is_current,
        session_factory,
    )

    settings = settings or get_settings()
    from pathlib import Path

    from sqlalchemy.engine import make_url

    with database_errors(settings.database_url):
        parsed = make_url(settings.database_url)
        file = parsed.database or ""
        sqlite_file = parsed.get_backend_name() == "sqlite" and file not in ("", ":memory:")
        if sqlite_file and not file.startswith("file:") and not Path(file).expanduser().exists():
            raise DatabaseNotMigrated(NOT_MIGRATED)  # and create no empty file
        # Handlers run in a pool of 40 threads; let most of them hold a connection at once.
        engine = make_engine(settings.database_url, pool_size=10, max_overflow=30)
        current = schema_is_current(engine)
    if not current:
        engine.dispose()
        raise DatabaseNotMigrated(NOT_MIGRATED)
    factory = session_factory(engine)
    signer = Signer(load_secret(settings.secret_key, settings.home))
    cache = ResponseCache()
    limits = WorkLimits(settings.scoring_slots, settings.expensive_concurrency)
    worker = ScoringWorker(factory, on_scored=cache.invalidate, limits=limits)
    judge_worker = JudgeWorker(factory)
    static = [create_static_files_router(path="/static", directories=[STATIC], name="static")]
    assets = swagger_assets()
    if assets is not None:
        static.insert(
            0, create_static_files_router(path="/static/swagger", directories=[assets], name="swagger")
        )

    async def dispose_engine() -> None:
        engine.dispose()

    return Litestar(
        route_handlers=[
            *static,
            BenchmarkController,
            LeaderboardController,
            RunController,
            CompareController,
            SuiteController,
            TokenController,
            JudgingController,
            ArenaController,
            PageController,
            SuitePages,
            ArenaPageController,
        ],
        dependencies={
            "db": Provide(provide_db, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
            "worker": Provide(provide_worker, sync_to_thread=False),
            "cache": Provide(provide_cache, sync_to_thread=False),
            "limits": Provide(provide_limits, sync_to_thread=False),
        },
        middleware=[
            # Rate limits first: a flood is refused before it authenticates against the database.
            *rate_limit_middleware(settings.rate_limit, settings.rate_limit_expensive),
            invalidating_middleware(cache),
            DefineMiddleware(BearerTokenMiddleware, exclude=["^/schema", "^/static"]),
        ],
        before_request=check_json_body,
        before_send=[add_security_headers],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_upload_bytes,
        template_config=template_config(),
        openapi_config=OpenAPIConfig(
            title="ragbench",
            version=__version__,
            description=(
                "Retrieval evaluation service: submit TREC runs, read leaderboards, compare runs, "
                "aggregate suites of benchmarks, judge holes with LLMs, vote in blind pairwise battles "
                "and read the arena's ratings."
            ),
            path="/schema",
            render_plugins=[LocalSwaggerPlugin(), DocumentedJsonPlugin()],
        ),
        state=State(
            {
                "db": Database(factory),
                "worker": worker,
                "judge_worker": judge_worker,
                "cache": cache,
                "settings": settings,
                "limits": limits,
                "signer": signer,
            }
        ),
        on_startup=[worker.start, judge_worker.start],
        on_shutdown=[worker.stop, judge_worker.stop, dispose_engine],
    )
