"""What a measure provider is: the measures it declares, whether it supports one, how it computes.

The idea is ir-measures' (``ir_measures/providers``): a *measure* says what is computed (its
name and parameters), a *provider* says who computes it. Each provider declares the measure
families it computes as data (:class:`MeasurePattern`: the family, the parameters it honours and
the values it requires); :mod:`ragbench.evaluation.registry` routes each measure to the first
provider that supports it, and the provider's ``name`` is the ``implementation`` of the
:class:`EngineFingerprint` stored with every score.

This module is light on purpose (no numpy, no ir_measures at import).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    import numpy as np

    from ragbench.evaluation.prepared import PreparedTopics
    from ragbench.evaluation.session.prepared import PreparedSessions
    from ragbench.formats.tables import QrelsTable, RunTable

__all__ = [
    "ABSENT",
    "EngineFingerprint",
    "Kind",
    "MeasurePattern",
    "Provider",
    "Routed",
    "SessionData",
    "TopicData",
    "Values",
]

Kind = Literal["adhoc", "session", "rag"]
"""What a measure scores: ranked lists per topic (``adhoc``), search sessions (``session``) or
generated answers per topic (``rag``)."""

ABSENT: Any = None
"""The value of a parameter that is neither given nor has a default."""


@dataclass(frozen=True, slots=True)
class EngineFingerprint:
    """What computed a score: implementation, version, tie rule, relevance level, gains."""

    implementation: str
    version: str
    tie_rule: str
    relevance_level: int
    gains: str | None = None
    judged_only: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        parts = [
            f"{self.implementation} {self.version}",
            f"ties: {self.tie_rule}",
            f"rel>={self.relevance_level}",
        ]
        if self.gains:
            parts.append(f"gains {self.gains}")
        if self.judged_only:
            parts.append("judged only")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class MeasurePattern:
    """One measure family a provider computes, as data.

    Attributes:
        name: the family: an ir-measures name (``P``, ``nDCG``) or a session family (``NUM``).
        params: parameters the provider honours, whatever their value.
        fixed: parameters that must have exactly this value, given or by default (``ABSENT``:
            neither given nor defaulted). A parameter in neither ``params`` nor ``fixed`` must
            not be given.
    """

    name: str
    params: frozenset[str] = frozenset()
    fixed: tuple[tuple[str, Any], ...] = ()

    def matches(self, name: str, given: Mapping[str, Any], value: Callable[[str], Any]) -> bool:
        """Whether a measure called ``name`` with parameters ``given`` fits this pattern.

        Args:
            name: the measure's family.
            given: the parameters written in its name.
            value: a parameter's effective value (given, else its default, else ``ABSENT``).
        """
        if name != self.name:
            return False
        fixed = dict(self.fixed)
        if any(key not in self.params and key not in fixed for key in given):
            return False
        return all(value(key) == wanted for key, wanted in fixed.items())


@dataclass(frozen=True, slots=True)
class Values:
    """One measure's values from a provider.

    Attributes:
        per_query: float64, one value per topic (or session), in the data's order.
        aggregate: the value over all of them, by the measure's declared aggregation.
        note: a remark worth telling the user (e.g. NUM values clipped to [0, 1]).
    """

    per_query: np.ndarray
    aggregate: float
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Routed:
    """A parsed measure and the provider that computes it (the output of routing).

    Attributes:
        name: the canonical name (stored and returned everywhere).
        measure: the parsed measure (an ir-measures ``Measure`` or a ``SessionMeasure``).
        provider: who computes it.
    """

    name: str
    measure: Any = field(compare=False)
    provider: Provider = field(compare=False)


@dataclass(frozen=True, slots=True)
class TopicData:
    """What ``adhoc`` providers compute on: the tables as read, and the run joined with the qrels."""

    qrels: QrelsTable
    run: RunTable
    prepared: PreparedTopics

    @property
    def query_ids(self) -> tuple[str, ...]:
        """The evaluated topics, in order (the rows of every :attr:`Values.per_query`)."""
        return self.prepared.query_ids


@dataclass(frozen=True, slots=True)
class SessionData:
    """What ``session`` providers compute on.

    Attributes:
        prepared: the session run joined with its judgments.
        lengths: (snippet, document) length per document code, for ``cost=chars``; or None.
        docs: document ids by code.
    """

    prepared: PreparedSessions
    lengths: tuple[np.ndarray, np.ndarray] | None
    docs: Sequence[str]


class Provider(ABC):
    """Computes the measures it declares (template: :meth:`supports` from :attr:`patterns`).

    Class attributes:
        name: the implementation name; it becomes :attr:`EngineFingerprint.implementation`.
        kind: ``adhoc`` (per-topic rankings) or ``session``.
        PATTERNS: the measure families it computes, as data (read through :attr:`patterns`).
        install: what to ``pip install`` when :meth:`available` is false (None: nothing to say).
    """

    name: ClassVar[str]
    kind: ClassVar[Kind]
    PATTERNS: ClassVar[tuple[MeasurePattern, ...]] = ()
    install: ClassVar[str | None] = None

    @property
    def patterns(self) -> tuple[MeasurePattern, ...]:
        """The measure families this provider computes, first match wins."""
        return self.PATTERNS

    @property
    @abstractmethod
    def version(self) -> str:
        """The implementation's version, as fingerprints record it."""

    def available(self) -> bool:
        """Whether the provider can compute here (its optional dependencies are installed)."""
        return True

    @abstractmethod
    def family(self, measure: Any) -> str:
        """The family name of a parsed measure (what :attr:`MeasurePattern.name` matches)."""

    @abstractmethod
    def given(self, measure: Any) -> Mapping[str, Any]:
        """The parameters written in the measure's name."""

    @abstractmethod
    def value(self, measure: Any, key: str) -> Any:
        """A parameter's effective value: given, else its default, else :data:`ABSENT`."""

    def pattern(self, measure: Any) -> MeasurePattern | None:
        """The first declared pattern the measure fits, or None."""
        name, given = self.family(measure), self.given(measure)
        for pattern in self.patterns:
            if pattern.matches(name, given, lambda key: self.value(measure, key)):
                return pattern
        return None

    def supports(self, measure: Any) -> bool:
        """Whether this provider computes ``measure`` (by its declared patterns)."""
        return self.pattern(measure) is not None

    def check(self, measure: Any) -> None:
        """Raise :class:`~ragbench.errors.MeasureError` for a supported measure this provider
        cannot compute as written (``P`` without a cutoff). Default: nothing to check."""
        del measure

    @abstractmethod
    def fingerprint(self, measure: Any) -> EngineFingerprint:
        """How this provider computes ``measure``."""

    @abstractmethod
    def compute(self, measures: Sequence[Routed], data: Any) -> list[Values]:
        """Values of each measure (all routed to this provider) on ``data``, in order.

        ``data`` is a :class:`~ragbench.evaluation.providers.TopicData` for ``adhoc`` providers
        and a :class:`~ragbench.evaluation.providers.SessionData` for ``session`` ones.
        """
