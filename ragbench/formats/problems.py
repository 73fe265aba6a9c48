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
class ValidationReport:
    """Every error and warning found in one or more files; at most ``limit`` kept, the rest counted."""

    problems: list[Problem] = field(default_factory=list)
    limit: int = 100
    truncated: int = 0

    def add(self, problem: Problem) -> None:
        if len(self.problems) < self.limit:
            self.problems.append(problem)
        else:
            self.truncated += 1

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors
