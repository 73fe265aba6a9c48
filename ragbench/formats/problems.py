"""Problems found in input files, and the validation report that collects them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file, located as precisely as we can.

    ``line`` and ``column`` are 1-based; 0 means "the whole file" / "the whole line".
    """

    file: str
    line: int
    message: str
    column: int = 0
    severity: Severity = "error"

    def render(self) -> str:
        """``file:line:column: severity: message`` — the compiler-style form editors understand."""
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return f"{where}: {self.severity}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(slots=True)
class FileReport:
    """What ``validate`` found one file to be, and how much it holds.

    Attributes:
        file: the name used in messages.
        kind: ``run``, ``qrels``, ``topics``, ``corpus``, a session kind, ``lengths``; None when
            no kind fits.
        format: e.g. ``TREC SGML``, ``BEIR qrels TSV``, ``JSONL``.
        gzip: whether the file is gzip-compressed.
        counts: what it holds, e.g. ``{"documents": 3204}``, ``{"topics": 52, "judgments": 796}``
            (empty when it could not be read).
        errors: errors found in it (all of them, also those past the report's limit).
        warnings: warnings found in it (all of them).
    """

    file: str
    kind: str | None
    format: str = ""
    gzip: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    warnings: int = 0

    def describe(self) -> str:
        """``corpus (TREC SGML, gzip): 3,204 documents``."""
        if self.kind is None:
            return "unknown kind"
        details = ", ".join(part for part in (self.format, "gzip" if self.gzip else "") if part)
        what = f"{self.kind} ({details})" if details else self.kind
        held = ", ".join(
            f"{n:,} {unit if n != 1 else unit.removesuffix('s')}" for unit, n in self.counts.items()
        )
        return f"{what}: {held}" if held else what


@dataclass(slots=True)
class ValidationReport:
    """Every error and warning found in one or more files; at most ``limit`` kept, the rest counted.

    ``error_count`` and ``warning_count`` count every problem, kept or not; ``files`` says what
    each file was read as.
    """

    problems: list[Problem] = field(default_factory=list)
    limit: int = 100
    truncated: int = 0
    files: list[FileReport] = field(default_factory=list)
    error_count: int = 0
    warning_count: int = 0

    def add(self, problem: Problem) -> None:
        if problem.severity == "error":
            self.error_count += 1
        else:
            self.warning_count += 1
        if len(self.problems) < self.limit:
            self.problems.append(problem)
        else:
            self.truncated += 1

    def add_uncounted_errors(self, more: int) -> None:
        """Errors a reader counted but did not list (``FormatError.more``)."""
        self.error_count += more
        self.truncated += more

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.error_count == 0
