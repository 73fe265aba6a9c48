"""Reading a stage's options from its config entry, with errors that name the config line and key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ragbench.errors import InputError
from ragbench.jobs.config import StageSpec


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
