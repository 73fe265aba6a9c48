"""The stage types a pipeline config can name, and how each is built from its options.

Retrievers implement :class:`rankers.base.Retriever`; rerankers ``rerank(queries, ranking,
depth) -> Ranking``; rewriters ``rewrite(queries) -> {query_id: text}``. A stage type registers a
factory with :func:`register`; the factory checks its options (errors name the config line) and
returns the stage. Factories run wherever the stage runs (a Ray actor per worker), so a stage's
model or index is loaded once per worker. Index building (:func:`prepare`) runs once, in the
driver, before any worker opens the index.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragbench.errors import InputError
from ragbench.jobs.config import StageSpec

Factory = Callable[[StageSpec], Any]
Preparer = Callable[[StageSpec, Callable[[str, int, int], None] | None, bool], None]
_FACTORIES: dict[tuple[str, str], Factory] = {}
_PREPARERS: dict[tuple[str, str], Preparer] = {}


def register(kind: str, type_: str, *, prepare: Preparer | None = None) -> Callable[[Factory], Factory]:
    """Register ``factory`` as the builder of ``kind`` (retriever/reranker/rewriter) ``type_``."""

    def decorate(factory: Factory) -> Factory:
        _FACTORIES[(kind, type_)] = factory
        if prepare is not None:
            _PREPARERS[(kind, type_)] = prepare
        return factory

    return decorate


def _load_builtin() -> None:
    # Stage modules register themselves on import; importing them here (not at module import)
    # keeps the config reader free of Lucene, torch and FAISS.
    import rankers.blockrank.stage
    import rankers.rewriters.stages
    import rankers.stages  # noqa: F401


def known(kind: str) -> list[str]:
    _load_builtin()
    return sorted(t for k, t in _FACTORIES if k == kind)


def _lookup(spec: StageSpec) -> Factory:
    _load_builtin()
    factory = _FACTORIES.get((spec.kind, spec.type))
    if factory is None:
        names = ", ".join(known(spec.kind)) or "none yet"
        raise InputError(f"{spec.where}: unknown {spec.kind} type {spec.type!r} (known: {names})")
    return factory


def build(spec: StageSpec) -> Any:
    """The stage object for ``spec`` (its index or model opened)."""
    return _lookup(spec)(spec)


def prepare(
    spec: StageSpec, on_progress: Callable[[str, int, int], None] | None = None, use_ray: bool = False
) -> None:
    """Do the stage's one-off work before it runs (build its index when missing, on Ray tasks
    when ``use_ray``); checks the type."""
    _lookup(spec)
    preparer = _PREPARERS.get((spec.kind, spec.type))
    if preparer is not None:
        preparer(spec, on_progress, use_ray)


class Options:
    """A stage's options, read with type checks whose errors name the config line and key."""

    def __init__(self, spec: StageSpec, allowed: set[str]) -> None:
        self.spec = spec
        for key in spec.options:
            if key not in allowed:
                raise self.error(key, f"unknown option; {spec.type} takes {', '.join(sorted(allowed))}")

    def error(self, key: str, message: str) -> InputError:
        return InputError(f"{self.spec.where}.{key}: {message}")

    def number(
        self, key: str, default: float, *, low: float | None = None, high: float | None = None
    ) -> float:
        value = self.spec.options.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.error(key, f"{value} is outside [{low}, {high}]")
        return float(value)

    def integer(self, key: str, default: int | None, *, low: int = 1) -> int | None:
        value = self.spec.options.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.error(key, f"expected a whole number >= {low}, got {value!r}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.spec.options.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def text(self, key: str, default: str | None = None, *, choices: tuple[str, ...] = ()) -> str | None:
        value = self.spec.options.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise self.error(key, f"expected text, got {value!r}")
        if choices and value not in choices:
            raise self.error(key, f"{value!r}: use one of {', '.join(choices)}")
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.spec.options.get(key) or {}
        if not isinstance(value, dict):
            raise self.error(key, f"expected a mapping, got {value!r}")
        return value

    def index_dir(self) -> str:
        value = self.text("index")
        if value is None:
            raise self.error("index", "is required (the index folder; built from the corpus when missing)")
        return self.spec.path(value)


def needs_corpus(spec: StageSpec, index_dir: str) -> str:
    """The corpus path for building a missing index, or an error saying why it cannot be built."""
    if spec.corpus is None:
        raise InputError(
            f"{spec.where}.index: {index_dir} does not exist and the config names no corpus: to build it"
        )
    return spec.corpus


def index_exists(index_dir: str) -> bool:
    return (Path(index_dir) / "manifest.json").is_file()


def cpu_threads() -> int:
    return max(1, os.cpu_count() or 1)
