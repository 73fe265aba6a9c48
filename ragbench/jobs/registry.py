"""The stage registry: every stage type a pipeline config can name, found through entry points.

A stage type is a :class:`StageType` object published under the ``ragbench.stages`` entry-point
group, named ``KIND.NAME``. ragbench's own (``retriever.bm25``, ``reranker.blockrank``, ...) are
declared in its ``pyproject.toml`` exactly as a third-party package declares its own::

    [project.entry-points."ragbench.stages"]
    "retriever.mine" = "my_package.stages:MINE"

where ``MINE = StageType("retriever", "mine", factory=build_mine)``. Nothing in ragbench has to
change for ``type: mine`` to work in a config. The module an entry point names must be cheap to
import: heavy libraries belong inside the factory, which runs where the stage runs (once per Ray
actor), so a model or index is loaded once per worker. The optional ``prepare`` hook runs once, in
the driver, before any stage of the pipeline runs: it checks the options (an error names the
config line and key) and builds a missing index from the corpus.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ragbench.errors import InputError
from ragbench.jobs.config import StageSpec
from ragbench.jobs.protocols import METHODS, PROTOCOLS, STAGE_KINDS, StageKind

GROUP = "ragbench.stages"
"""The entry-point group stage types are published under."""

Progress = Callable[[str, int, int], None]
Factory = Callable[[StageSpec], Any]
Preparer = Callable[[StageSpec, Progress | None, bool], None]


@dataclass(frozen=True)
class StageType:
    """One stage type and what it needs.

    Attributes:
        kind: ``retriever``, ``reranker``, ``rewriter``, ``generator`` or ``judge``.
        name: what ``type:`` says in a config.
        factory: ``spec -> stage``: checks the options and builds the stage (loads its model or
            opens its index); the stage satisfies the Protocol of ``kind``.
        prepare: ``(spec, progress, use_ray) -> None``, run once in the driver before any stage
            runs: option checks, building a missing index (on Ray tasks when ``use_ray``).
        gpu: its workers ask Ray for a GPU share when the cluster has GPUs.
        corpus: it needs the config's ``corpus`` (document texts, or to build its index).
        index: it reads an index (built by ``prepare`` when missing).
        extra: the ragbench extra that installs what it needs (``lucene``, ``dense``, ``lm``).
        modules: the modules that extra provides; checked before ``prepare`` and the factory run.
        doc: one line for ``--help`` and error messages.
    """

    kind: StageKind
    name: str
    factory: Factory
    prepare: Preparer | None = None
    gpu: bool = False
    corpus: bool = False
    index: bool = False
    extra: str | None = None
    modules: tuple[str, ...] = ()
    doc: str = ""

    def __post_init__(self) -> None:
        if self.kind not in STAGE_KINDS:
            raise ValueError(f"stage kind {self.kind!r} is not one of {', '.join(STAGE_KINDS)}")

    @property
    def key(self) -> str:
        """The entry-point name: ``KIND.NAME``."""
        return f"{self.kind}.{self.name}"

    def require_extra(self) -> None:
        """Raise MissingExtraError when the modules of this stage's extra are not installed."""
        if self.extra is not None and self.modules:
            from ragbench.extras import require

            require(self.extra, *self.modules)


@dataclass(frozen=True)
class _Broken:
    """An entry point that could not be loaded: reported when a config names it."""

    key: str
    reason: str


_REGISTERED: dict[str, StageType] = {}


def register(stage: StageType) -> StageType:
    """Add a stage type in this process only (a notebook, a test). It is not seen by Ray actors,
    which are other processes: publish an entry point for that."""
    _REGISTERED[stage.key] = stage
    return stage


def stage_types() -> dict[str, StageType | _Broken]:
    """Every stage type by ``KIND.NAME``: the published ones, then those registered here."""
    return {**_published(), **_REGISTERED}


@functools.cache
def _published() -> dict[str, StageType | _Broken]:
    """The stage types of the ``ragbench.stages`` entry points (read once per process)."""
    from importlib.metadata import entry_points

    found: dict[str, StageType | _Broken] = {}
    for point in sorted(entry_points(group=GROUP), key=lambda p: (p.name, p.value)):
        try:
            loaded = point.load()
        except Exception as exc:  # a broken plug-in must not take the others down
            found[point.name] = _Broken(point.name, f"{point.value} cannot be loaded: {exc}")
            continue
        if not isinstance(loaded, StageType):
            found[point.name] = _Broken(point.name, f"{point.value} is not a ragbench StageType")
        elif loaded.key != point.name:
            reason = f"{point.value} declares {loaded.key!r}, not {point.name!r}"
            found[point.name] = _Broken(point.name, reason)
        else:
            found[point.name] = loaded
    return found


def known(kind: str) -> list[str]:
    """The names of the loadable stage types of ``kind``."""
    prefix = f"{kind}."
    return sorted(
        key.removeprefix(prefix)
        for key, value in stage_types().items()
        if key.startswith(prefix) and isinstance(value, StageType)
    )


def stage_type(spec: StageSpec) -> StageType:
    """The registered type of ``spec``.

    Raises:
        InputError: no such type (the message lists the known ones), or its plug-in is broken.
    """
    found = stage_types().get(f"{spec.kind}.{spec.type}")
    if found is None:
        names = ", ".join(known(spec.kind)) or "none installed"
        raise InputError(f"{spec.where}: unknown {spec.kind} type {spec.type!r} (known: {names})")
    if isinstance(found, _Broken):
        raise InputError(f"{spec.where}: {spec.kind} type {spec.type!r} is unavailable: {found.reason}")
    return found


def build(spec: StageSpec) -> Any:
    """The stage object for ``spec`` (its index or model opened).

    Raises:
        InputError: unknown type, bad options, or a factory that returned no stage of its kind.
        MissingExtraError: the stage's extra is not installed.
    """
    kind = stage_type(spec)
    kind.require_extra()
    stage = kind.factory(spec)
    if not isinstance(stage, PROTOCOLS[spec.kind]):
        raise InputError(
            f"{spec.where}: {spec.kind} type {spec.type!r} built {type(stage).__name__}, which has no "
            f"{METHODS[spec.kind]}() method"
        )
    return stage


def prepare(spec: StageSpec, on_progress: Progress | None = None, use_ray: bool = False) -> None:
    """Do the stage's one-off work before any stage runs (check its options, build its index when
    missing, on Ray tasks when ``use_ray``); checks the type and its extra."""
    kind = stage_type(spec)
    kind.require_extra()
    if kind.corpus and spec.corpus is None and not kind.index:
        raise InputError(f"{spec.where}: a {spec.type} {spec.kind} needs the config's corpus")
    if kind.prepare is not None:
        kind.prepare(spec, on_progress, use_ray)
