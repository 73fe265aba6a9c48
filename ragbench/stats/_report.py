"""``ComparisonReport``: the result of :func:`ragbench.stats.compare`, and its renderers.

Rendering never computes statistics: every number shown is a field of a ``PairComparison``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    import pandas as pd

    from ragbench.stats._compare import PairComparison

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


_MISSING = {"zero": "scored 0", "common": "left out (only topics every run has)"}


@dataclass(frozen=True, slots=True)
class ComparisonReport(Sequence["PairComparison"]):
    """The comparisons made by :func:`~ragbench.stats.compare` and the parameters that made them.

    A read-only sequence of :class:`~ragbench.stats.PairComparison` (ordered by baseline, run,
    measure) with renderers; it holds no logic beyond formatting.

    Attributes:
        comparisons: The comparisons.
        tests: Names of the tests run, primary first.
        correction: The multiple-comparison correction applied to the primary test's p-values.
        alpha: The significance level.
        ci: Coverage of the confidence intervals.
        ci_method: ``"percentile"`` or ``"bca"``.
        trials: Resamples of the resampling tests and the CI.
        seed: Random seed.
        missing: The missing-topic policy.
        tie_tolerance: Tie tolerance of the wins/ties/losses counts.
    """

    comparisons: tuple[PairComparison, ...]
    tests: tuple[str, ...]
    correction: str
    alpha: float
    ci: float
    ci_method: str
    trials: int
    seed: int
    missing: str
    tie_tolerance: float

    @overload
    def __getitem__(self, index: int) -> PairComparison: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[PairComparison, ...]: ...
    def __getitem__(self, index: int | slice) -> PairComparison | tuple[PairComparison, ...]:
        return self.comparisons[index]

    def __len__(self) -> int:
        return len(self.comparisons)

    def __iter__(self) -> Iterator[PairComparison]:
        return iter(self.comparisons)

    def parameters(self) -> dict[str, Any]:
        """The parameters of :func:`~ragbench.stats.compare` that produced this report."""
        return {
            "tests": list(self.tests),
            "primary_test": self.tests[0],
            "correction": self.correction,
            "alpha": self.alpha,
            "ci": self.ci,
            "ci_method": self.ci_method,
            "trials": self.trials,
            "seed": self.seed,
            "missing": self.missing,
            "tie_tolerance": self.tie_tolerance,
        }

    def to_dict(self) -> dict[str, Any]:
        """``{"parameters": {...}, "comparisons": [{field: value, ..., "p_values": {test: p}}]}``.

        Only JSON types, except that an infinite effect size stays ``float("inf")``.
        """
        return {"parameters": self.parameters(), "comparisons": [asdict(c) for c in self.comparisons]}

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per comparison; ``p_values`` becomes one ``p_<test>`` key per test."""
        records = []
        for comparison in self.comparisons:
            record = asdict(comparison)
            p_values = record.pop("p_values")
            flat = {key: record[key] for key in list(record) if key not in _AFTER_P}
            flat.update({f"p_{test}": p_values[test] for test in self.tests})
            flat.update({key: record[key] for key in _AFTER_P})
            records.append(flat)
        return records

    def to_dataframe(self) -> pd.DataFrame:
        """One row per comparison, columns as in :meth:`to_records` (imports pandas)."""
        import pandas as pd

        columns = _record_columns(self.tests)
        return pd.DataFrame.from_records(self.to_records(), columns=columns)

    def to_csv(self, path: str | Path | None = None) -> str:
        """CSV text with a header row, columns as in :meth:`to_records`; also written to ``path``."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=_record_columns(self.tests), lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.to_records())
        text = buffer.getvalue()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_markdown(self, digits: int = 4) -> str:
        """A GitHub-flavoured Markdown table and a footnote saying how to read it."""
        header, rows = self._table(digits, latex=False)
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(_md_align(h) for h in header) + "|"]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        return "\n".join([*lines, "", self._footnote()]) + "\n"

    def to_latex(self, digits: int = 4) -> str:
        """A booktabs ``tabular`` (needs ``\\usepackage{booktabs}``) followed by a footnote comment."""
        header, rows = self._table(digits, latex=True)
        spec = "lll" + "r" * (len(header) - 3)
        lines = [f"\\begin{{tabular}}{{{spec}}}", "\\toprule", " & ".join(header) + r" \\", "\\midrule"]
        lines += [" & ".join(row) + r" \\" for row in rows]
        lines += ["\\bottomrule", "\\end{tabular}", "% " + self._footnote()]
        return "\n".join(lines) + "\n"

    def _table(self, digits: int, *, latex: bool) -> tuple[list[str], list[list[str]]]:
        esc = _latex_escape if latex else str
        delta = "$\\Delta$" if latex else "Δ"
        mark = "$^{*}$" if latex else " *"
        level = f"{self.ci:.0%}".replace("%", "\\%" if latex else "%")
        header = [
            "Baseline",
            "Run",
            "Measure",
            "Topics",
            "Mean (baseline)",
            "Mean (run)",
            delta,
            f"{level} CI",
            "W / T / L",
            *(f"p ({esc(test)})" for test in self.tests),
            f"p adj. ({esc(self.correction)})",
            "d",
        ]
        rows = [
            [
                esc(c.baseline),
                esc(c.run),
                esc(c.measure),
                str(c.n_topics),
                _number(c.mean_baseline, digits, latex=latex),
                _number(c.mean_run, digits, latex=latex),
                _number(c.mean_diff, digits, signed=True, latex=latex),
                f"[{_number(c.ci_low, digits, signed=True, latex=latex)}, "
                f"{_number(c.ci_high, digits, signed=True, latex=latex)}]",
                f"{c.wins} / {c.ties} / {c.losses}",
                *(_p_value(c.p_values[test], digits, latex) for test in self.tests),
                _p_value(c.p_adjusted, digits, latex) + (mark if c.significant else ""),
                _number(c.effect_size, 2, signed=True, latex=latex),
            ]
            for c in self.comparisons
        ]
        return header, rows

    def _footnote(self) -> str:
        return (
            f"Δ = run − baseline. p adj.: {self.tests[0]} p-values adjusted by {self.correction} over all "
            f"{len(self.comparisons)} comparisons; * marks p adj. ≤ {self.alpha:g}. "
            f"CI: {self.ci:.0%} {self.ci_method} bootstrap of the mean difference, "
            f"{self.trials:,} resamples, seed {self.seed}. "
            f"W / T / L: topics where the run wins, ties (within {self.tie_tolerance:g}), loses. "
            f"d: Cohen's d_z. Missing topics: {_MISSING.get(self.missing, 'not allowed')}."
        )


_AFTER_P = ("p_adjusted", "significant", "effect_size", "test")


def _record_columns(tests: Sequence[str]) -> list[str]:
    head = [
        "baseline",
        "run",
        "measure",
        "n_topics",
        "mean_baseline",
        "mean_run",
        "mean_diff",
        "ci_low",
        "ci_high",
    ]
    return [*head, "wins", "ties", "losses", *(f"p_{t}" for t in tests), *_AFTER_P]


def _number(value: float, digits: int, *, signed: bool = False, latex: bool = False) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        sign = ("+" if signed else "") if value > 0 else ("-" if latex else "−")
        return sign + ("$\\infty$" if latex else "∞")
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return text if latex else text.replace("-", "−")


def _p_value(p: float, digits: int, latex: bool) -> str:
    floor = 10.0**-digits
    if p < floor:
        return ("$<$" if latex else "<") + f"{floor:.{digits}f}"
    return f"{p:.{digits}f}"


def _md_align(header: str) -> str:
    return ":---" if header in ("Measure", "Baseline", "Run") else "---:"


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in text)
