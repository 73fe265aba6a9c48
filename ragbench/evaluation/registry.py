"""The measure registry: the one place measures are declared, routed, named, and listed by purpose.

Every measure ragbench scores is declared once, by the provider that computes it
(:mod:`ragbench.evaluation.providers`), as ir-measures does it:

- topic (``adhoc``) measures use ir-measures names (``nDCG@10``, ``P(rel=2)@5``, ``AP``). The
  trec_eval-exact engine (``ragbench.trec_eval``) declares the families it computes
  (:data:`~ragbench.evaluation.providers.ENGINE_MEASURES`, each backed by trec_eval's one family
  table); ir-measures (``ir_measures``) is the fallback for the rest that an installed ir-measures
  provider computes.
- session measures (``NUM(L=1000)``, ``sessDCG(b=2,bq=4)@10``...) are declared in
  :data:`ragbench.evaluation.session.names.SPECS` and computed by ``ragbench.session``.

:func:`route` parses names once per call and gives each measure the first available provider
that supports it; the provider's ``name`` is the ``implementation`` of every fingerprint. A
measure no installed provider computes is a :class:`~ragbench.errors.MeasureError` naming what
to ``pip install``. :func:`canonical` is the stored form of a name (two spellings, one name).
:data:`DEFAULTS` holds the default measure list of each purpose.

Importing this module imports no numpy, ir_measures or pandas; they load on first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from ragbench.errors import MeasureError
from ragbench.evaluation.providers import (
    EngineFingerprint,
    IrMeasures,
    Kind,
    MeasurePattern,
    Provider,
    Routed,
    SessionData,
    SessionMeasures,
    TopicData,
    TrecEvalEngine,
    Values,
    parse_measures,
)
from ragbench.evaluation.rag.measures import RagMeasures, is_rag_measure, parse_rag_measure
from ragbench.evaluation.session.names import Value, is_session_measure, parse_session_measure

__all__ = [
    "DEFAULTS",
    "IR_MEASURES",
    "KINDS",
    "PROVIDERS",
    "PURPOSES",
    "RAG",
    "SESSION",
    "TREC_EVAL",
    "EngineFingerprint",
    "Kind",
    "MeasurePattern",
    "Provider",
    "Routed",
    "SessionData",
    "TopicData",
    "Values",
    "canonical",
    "canonical_measures",
    "compute",
    "default_measures",
    "kind_of",
    "parse_measures",
    "provider_named",
    "providers",
    "route",
]

TREC_EVAL = TrecEvalEngine()
"""``ragbench.trec_eval``: trec_eval 10.0's measures, exact, plus Judged@k and RR@k."""
IR_MEASURES = IrMeasures()
"""``ir_measures``: the fallback for topic measures the engine does not compute."""
SESSION = SessionMeasures()
"""``ragbench.session``: the session measures."""
RAG = RagMeasures()
"""``ragbench.rag``: the RAG answer measures (nuggets, support, claims, similarity, references)."""

KINDS: tuple[Kind, ...] = ("adhoc", "session", "rag")
PROVIDERS: Mapping[Kind, tuple[Provider, ...]] = MappingProxyType(
    {"adhoc": (TREC_EVAL, IR_MEASURES), "session": (SESSION,), "rag": (RAG,)}
)
"""Providers of each kind of measure, in routing order (the first that supports a measure wins)."""

DEFAULTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "eval": ("nDCG@10", "AP", "P@10", "R@1000"),
        "pipeline": ("AP", "P@30", "nDCG@10", "R@1000"),
        "leaderboard": ("nDCG@10", "AP", "P@10", "R@1000", "RR", "Bpref", "Judged@10"),
        "session": (
            "NUM(L=1000)",
            "U(L=1000)",
            "sessDCG(b=2,bq=4)@10",
            "nsessDCG(b=2,bq=4)@10",
            "esNDCG(p_reform=0.9,p_down=0.7)@10",
        ),
        "conformance": ("nDCG@10", "AP", "P@10", "R@1000", "Bpref", "RR", "Judged@10"),
        "rag": (
            "NuggetWeighted",
            "NuggetAll",
            "NuggetAllStrict",
            "NuggetVital",
            "NuggetVitalStrict",
            "SupportPrecision",
            "SupportRecall",
            "AnswerWords",
            "Citations",
            "RefnDCG@10",
            "RefJudged@10",
        ),
        "qa": ("ClaimF1", "ClaimPrecision", "ClaimRecall", "RougeL", "EmbeddingSim", "AnswerWords"),
    }
)
"""Default measures by purpose, canonical names:

- ``eval``: ``ragbench eval`` and ``ragbench compare``;
- ``pipeline``: pipeline runs (and the demo);
- ``leaderboard``: a new benchmark's measures (the store);
- ``session``: a benchmark's session measures, and ``ragbench eval-sessions``;
- ``conformance``: ``ragbench conformance`` on trec_eval's test collection;
- ``rag``: a RAG benchmark's answer measures (nuggets, support, length, references);
- ``qa``: QA answers scored against reference answers (claims, ROUGE-L, embeddings).
"""
PURPOSES: tuple[str, ...] = tuple(DEFAULTS)


def default_measures(purpose: str) -> list[str]:
    """The default measure list of ``purpose`` (a fresh list).

    Raises:
        ValueError: an unknown purpose (the message lists the known ones).
    """
    try:
        return list(DEFAULTS[purpose])
    except KeyError:
        raise ValueError(f"no default measures for {purpose!r}: purposes are {', '.join(PURPOSES)}") from None


def providers(kind: Kind | None = None) -> tuple[Provider, ...]:
    """The providers of ``kind`` in routing order (every provider when None)."""
    if kind is None:
        return tuple(p for k in KINDS for p in PROVIDERS[k])
    return PROVIDERS[_check_kind(kind)]


def provider_named(name: str) -> Provider:
    """The provider whose ``name`` (a fingerprint's ``implementation``) is ``name``.

    Raises:
        KeyError: no such provider.
    """
    for provider in providers():
        if provider.name == name:
            return provider
    raise KeyError(name)


def _check_kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise ValueError(f"measure kind {kind!r} is not one of {', '.join(KINDS)}")
    return kind


def kind_of(name: str) -> Kind:
    """``session`` for a session measure name (``NUM``, ``sessDCG@10``...), ``rag`` for a RAG
    answer measure (``NuggetWeighted``, ``RefnDCG@10``...), else ``adhoc``."""
    if is_session_measure(name):
        return "session"
    return "rag" if is_rag_measure(name) else "adhoc"


def _unsupported(measure: Any, kind: Kind) -> str:
    hints = IR_MEASURES.missing(measure) if kind == "adhoc" and IR_MEASURES.available() else []
    hints += [f"{p.name} ({p.install})" for p in PROVIDERS[kind] if not p.available() and p.supports(measure)]
    if hints:
        return f"no installed provider computes {measure}; install one that does: {', '.join(hints)}"
    ours = " nor ".join(p.name for p in PROVIDERS[kind] if p is not IR_MEASURES)
    who = f"neither {ours} nor any ir-measures provider (installed or not)" if kind == "adhoc" else ours
    return f"no provider computes {measure} as written: {who} supports it; check its parameters"


def _route_one(measure: Any, kind: Kind) -> Routed:
    for provider in PROVIDERS[kind]:
        if provider.available() and provider.supports(measure):
            provider.check(measure)
            return Routed(str(measure), measure, provider)
    raise MeasureError(_unsupported(measure, kind))


def route(
    names: Sequence[str] | str,
    kind: Kind | None = None,
    *,
    overrides: Mapping[str, Value] | None = None,
) -> list[Routed]:
    """Parse every name and pick the provider of each: once per call, before any data is read.

    Args:
        names: measure names, in order (repeats are kept).
        kind: ``adhoc`` or ``session``; None: each name's own kind (:func:`kind_of`).
        overrides: session measure parameters applied where a name does not set them (e.g.
            :data:`~ragbench.evaluation.session.names.REFERENCE`).

    Returns:
        One :class:`Routed` per name: canonical name, parsed measure, provider.

    Raises:
        MeasureError: naming every name that does not parse, lacks a parameter, or that no
            installed provider computes (with what to ``pip install``, when something would).
    """
    names = [names] if isinstance(names, str) else list(names)
    kinds = [kind_of(n) if kind is None else _check_kind(kind) for n in names]
    parsed: list[Any] = [None] * len(names)
    problems: list[str] = []
    adhoc = [i for i, k in enumerate(kinds) if k == "adhoc"]
    if adhoc:
        try:
            for i, measure in zip(adhoc, parse_measures([names[i] for i in adhoc]), strict=True):
                parsed[i] = measure
        except MeasureError as exc:
            problems.append(str(exc))
    for i, k in enumerate(kinds):
        if k in ("session", "rag"):
            try:
                parsed[i] = (
                    parse_session_measure(names[i], overrides)
                    if k == "session"
                    else parse_rag_measure(names[i])
                )
            except MeasureError as exc:
                problems.append(str(exc))
    if not problems:
        routed: list[Routed] = []
        for measure, k in zip(parsed, kinds, strict=True):
            try:
                routed.append(_route_one(measure, k))
            except MeasureError as exc:
                problems.append(str(exc))
    if problems:
        raise MeasureError("; ".join(problems))
    return routed


def canonical(name: str, kind: Kind | None = None) -> str:
    """The stored form of a measure name: ``NDCG@10`` -> ``nDCG@10``, ``NUM`` -> ``NUM(L=1000)``.

    Raises:
        MeasureError: the name does not parse, or no installed provider computes it.
    """
    return route([name], kind)[0].name


def canonical_measures(names: Iterable[str] | str, kind: Kind | None = None) -> list[str]:
    """Canonical names, in order, each once (``["MAP", "AP"]`` -> ``["AP"]``).

    Raises:
        MeasureError: naming every bad name (see :func:`route`).
    """
    routed = route(names if isinstance(names, str) else list(names), kind)
    return list(dict.fromkeys(r.name for r in routed))


def compute(routed: Sequence[Routed], data: TopicData | SessionData | Any) -> list[Values]:
    """Values of each routed measure on ``data``, in order; each provider is called once, with
    its measures (a repeated name is computed once)."""
    groups: dict[int, tuple[Provider, dict[str, Routed]]] = {}
    for r in routed:
        groups.setdefault(id(r.provider), (r.provider, {}))[1].setdefault(r.name, r)
    found: dict[str, Values] = {}
    for provider, by_name in groups.values():
        found.update(zip(by_name, provider.compute(list(by_name.values()), data), strict=True))
    return [found[r.name] for r in routed]
