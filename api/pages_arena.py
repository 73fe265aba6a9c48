"""The arena's pages and the pages' sign-in: server-rendered, usable without JavaScript and by keyboard.

``/benchmarks/{slug}/arena`` the arena leaderboard (ratings with intervals, win-rate heat map,
LM ratings, agreement with the offline measures and between raters, style control) ·
``/benchmarks/{slug}/arena/vote`` the next battle for this voter (a redirect) ·
``/arena/battles/{id}`` a battle: the query, the two sides, the vote form; the names once voted ·
``/signin``, ``/signout``: a signed cookie for the pages (:mod:`api.cookies`).

The voter is the signed-in user, or else an anonymous session kept in a signed cookie (set when a
battle page is first shown). Vote forms carry a CSRF token bound to the voter and the battle. The
battle page names the systems only once this voter has voted, admins included (the API shows
admins the names at once, to manage battles).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from api.bounds import parse_id
from api.cookies import USER_COOKIE, USER_DAYS, VOTER_COOKIE, VOTER_DAYS, Signer, new_voter_session
from api.deps import Database, Principal
from api.heatmap import interval_plot, win_rate_heatmap
from ragbench.errors import AuthError, InputError, PermissionDenied, RagbenchError
from ragbench.store import service

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
VERDICT_LABELS = (("a", "A is better"), ("b", "B is better"), ("tie", "Tie"), ("bad", "Both bad"))


def _cookie(name: str, value: str, days: int, request: Request[Any, Any, Any]) -> Cookie:
    return Cookie(
        key=name,
        value=value,
        max_age=days * 86400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def _signer(request: Request[Any, Any, Any]) -> Signer:
    signer: Signer = request.app.state.signer
    return signer


def _voter(
    request: Request[Any, Any, Any], principal: Principal | None, *, create: bool = False
) -> tuple[service.Voter | None, Cookie | None]:
    """The page's voter: the signed-in user, else the anonymous session of the voter cookie (a new
    one, with the cookie to set, when ``create``)."""
    if principal is not None:
        return service.Voter("user", f"user:{principal.id}", principal.id), None
    signer = _signer(request)
    session = signer.unsign(VOTER_COOKIE, request.cookies.get(VOTER_COOKIE))
    if session is not None:
        return service.Voter.anonymous(session), None
    if not create:
        return None, None
    session = new_voter_session()
    return service.Voter.anonymous(session), _cookie(
        VOTER_COOKIE, signer.sign(VOTER_COOKIE, session, VOTER_DAYS), VOTER_DAYS, request
    )


def _local(path: str | None) -> str:
    """A redirect target on this site only (no scheme, no host, no ``//``)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def _number(value: float | None, digits: int = 0) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}f}"


class ArenaPageController(Controller):
    """Arena pages and sign-in (not in the OpenAPI schema)."""

    include_in_schema = False

    @get("/signin", sync_to_thread=False)
    def signin_form(self, principal: Principal | None, next: str | None = None) -> Template:
        """A form for an API token (the cookie it sets names the user, never the token)."""
        return Template("signin.html", context={"next": _local(next), "principal": principal, "error": None})

    @post("/signin", sync_to_thread=True, status_code=303)
    def signin(self, request: Request[Any, Any, Any], db: Database, data: Form) -> Redirect | Template:
        """Check the token and set the sign-in cookie; back to ``next``."""
        target = _local(data.get("next"))
        try:
            with db.begin() as (s, _):
                user = service.authenticate(s, data.get("token", ""))
                user_id = user.id
        except AuthError as exc:
            context = {"next": target, "principal": None, "error": str(exc)}
            return Template("signin.html", context=context, status_code=401)
        signed = _signer(request).sign(USER_COOKIE, str(user_id), USER_DAYS)
        return Redirect(
            path=target, status_code=303, cookies=[_cookie(USER_COOKIE, signed, USER_DAYS, request)]
        )

    @post("/signout", sync_to_thread=False, status_code=303)
    def signout(self, request: Request[Any, Any, Any]) -> Redirect:
        """Forget the sign-in cookie."""
        gone = Cookie(key=USER_COOKIE, value="", max_age=0, path="/", httponly=True, samesite="lax")
        return Redirect(path="/", status_code=303, cookies=[gone])

    @get("/benchmarks/{slug:str}/arena", sync_to_thread=True)
    def arena(
        self,
        db: Database,
        principal: Principal | None,
        slug: str,
        aspect: str | None = None,
        cluster: str = "battle",
        measure: str | None = None,
    ) -> Template:
        """The arena leaderboard beside the offline one."""
        with db.begin(principal) as (s, actor):
            context = arena_context(s, slug, actor, aspect or None, cluster, measure or None)
        context["principal"] = principal
        return Template("arena.html", context=context)

    @get("/benchmarks/{slug:str}/arena/vote", sync_to_thread=True)
    def next_battle(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal | None, slug: str
    ) -> Redirect | Template:
        """Send the voter to a battle they have not voted on (the least voted first)."""
        voter, cookie = _voter(request, principal, create=True)
        assert voter is not None
        with db.begin(principal) as (s, _):
            battle = service.next_battle(s, slug, voter)
            benchmark = service.get_benchmark(s, slug)
            title = benchmark.title or benchmark.slug
        cookies = [cookie] if cookie is not None else []
        if battle is None:
            context = {"slug": slug, "title": title, "principal": principal}
            return Template("arena_done.html", context=context, cookies=cookies)
        return Redirect(path=f"/arena/battles/{battle.id}", status_code=303, cookies=cookies)

    @get("/arena/battles/{battle_id:str}", sync_to_thread=True)
    def battle(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal | None, battle_id: str
    ) -> Template:
        """A battle: blind until this voter has voted on it."""
        number = parse_id(battle_id, "battle")
        voter, cookie = _voter(request, principal, create=True)
        assert voter is not None
        with db.begin(principal) as (s, actor):
            view = service.battle_view(s, number, voter, actor)
            battle = view.battle
            benchmark = service.get_benchmark(s, _slug_of(s, battle.benchmark_id))
            context = {
                "battle": battle,
                "view": view,
                "slug": benchmark.slug,
                "title": benchmark.title or benchmark.slug,
                "verdicts": VERDICT_LABELS,
                "csrf": _signer(request).csrf(voter.key, f"vote:{number}"),
                "principal": principal,
                "voted": view.vote is not None,
            }
        return Template("battle.html", context=context, cookies=[cookie] if cookie is not None else [])

    @post("/arena/battles/{battle_id:str}/vote", sync_to_thread=True, status_code=303)
    def vote(
        self,
        request: Request[Any, Any, Any],
        db: Database,
        principal: Principal | None,
        battle_id: str,
        data: Form,
    ) -> Redirect:
        """Record the vote, then show the battle with the names revealed."""
        number = parse_id(battle_id, "battle")
        voter, _ = _voter(request, principal)
        if voter is None:
            raise InputError("no voter session: open the battle page first (cookies must be enabled)")
        if not _signer(request).check_csrf(voter.key, f"vote:{number}", data.get("csrf")):
            raise PermissionDenied(
                "this form has expired or was not sent from the battle page; open it again"
            )
        answer, evidence = data.get("answer") or None, data.get("evidence") or None
        with db.begin(principal) as (s, _):
            service.cast_vote(s, number, voter, answer=answer, evidence=evidence)
        return Redirect(path=f"/arena/battles/{number}#result", status_code=303)


def _slug_of(s: Session, benchmark_id: int) -> str:
    from ragbench.store.models import Benchmark

    benchmark = s.get(Benchmark, benchmark_id)
    return "" if benchmark is None else benchmark.slug


def arena_context(
    s: Session, slug: str, actor: Any, aspect: str | None, cluster: str, measure: str | None
) -> dict[str, Any]:
    """Everything the arena page shows."""
    benchmark = service.get_benchmark(s, slug, actor)
    measure = service.canonical_measure(benchmark, measure) if measure else benchmark.measures[0]
    human = service.arena_board(s, slug, voters="human", aspect=aspect, cluster=cluster)
    llm = service.arena_board(s, slug, voters="llm", aspect=human.aspect, cluster=cluster)
    offline = service.offline_means(s, benchmark, [r.run_id for r in human.rows], measure)
    order = sorted(offline, key=lambda run: -offline[run])
    offline_rank = {run: 1 + sum(offline[o] > offline[run] for o in order) for run in offline}
    heatmap = None
    ratings = human.ratings
    if ratings is not None and len(ratings.matrix.systems) > 1:
        name = {r.run_id: f"{r.system} #{r.run_id}" for r in human.rows}
        labels = [name.get(int(x), x) for x in ratings.matrix.systems]
        heatmap = win_rate_heatmap(labels, ratings.matrix.score, ratings.matrix.votes)
    style = style_error = None
    try:
        style = service.arena_style(s, slug, voters="human", aspect=human.aspect, cluster=cluster)
    except RagbenchError as exc:
        style_error = str(exc)
    agreement = service.arena_agreement(s, slug, actor, aspect=human.aspect)
    return {
        "benchmark": benchmark,
        "human": human,
        "llm": llm,
        "intervals": interval_plot([(r.system, r.rating, r.low, r.high) for r in human.rows]),
        "llm_intervals": interval_plot([(r.system, r.rating, r.low, r.high) for r in llm.rows]),
        "heatmap": heatmap,
        "measure": measure,
        "offline": offline,
        "offline_rank": offline_rank,
        "style": style,
        "style_order": sorted(range(len(style.systems)), key=lambda i: -style.rating[i]) if style else [],
        "style_names": {str(r.run_id): r.system for r in human.rows},
        "style_error": style_error,
        "agreement": agreement,
        "aspect": human.aspect,
        "cluster": cluster,
        "is_admin": actor is not None and actor.is_admin,
        "number": _number,
    }
