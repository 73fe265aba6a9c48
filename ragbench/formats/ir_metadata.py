"""The ir_metadata header of a TREC run file (Breuer et al., SIGIR 2022; https://www.ir-metadata.org).

YAML in ``#`` comment lines at the top of the run, between two marker lines::

    # ir_metadata.start
    # tag: bm25
    # method:
    #   retrieval:
    #   - {name: bm25, method: bm25, k1: 0.9, b: 0.4}
    # ir_metadata.end
    301 Q0 FT911-1 1 12.5 bm25

``ragbench run`` writes one (``--plain`` leaves it out); ``submit`` stores it with the run (shown
on the run's page and in ``GET /api/v1/runs/{id}``). The run readers skip ``#`` lines, so the
header never changes a score. Readers that cannot skip them (ir-measures' ``read_trec_run``)
need a plain file: ``grep -v '^#' run > plain.run``.
"""

from __future__ import annotations

import math
from typing import Any

from ragbench.errors import FormatError
from ragbench.formats.problems import Problem

START = "ir_metadata.start"
END = "ir_metadata.end"
MAX_HEADER_BYTES = 256 * 1024


def _comment(line: bytes) -> str | None:
    """The text of a ``#`` line (without ``#`` and one following space), None for other lines."""
    stripped = line.rstrip(b"\r\n")
    if not stripped.lstrip().startswith(b"#"):
        return None
    text = stripped.lstrip()[1:].decode("utf-8", errors="replace")
    return text[1:] if text.startswith(" ") else text


def read_ir_metadata(data: bytes, name: str = "run") -> dict[str, Any] | None:
    """The header of a run file as a JSON-compatible mapping, or None when the file has none.

    Only ``#`` lines before the first result line are looked at. Values YAML reads as dates or
    other non-JSON types are kept as their text.

    Raises:
        FormatError: a header that is opened and not closed, is not YAML, is not a mapping, or is
            larger than 256 KiB (file, line and what is wrong).
    """
    body: list[str] = []
    start = 0
    offset = 0
    for number, line in enumerate(data.splitlines(keepends=True), start=1):
        offset += len(line)
        text = _comment(line)
        if text is None:
            if line.strip() and start:
                raise FormatError(
                    [Problem(name, start, f"ir_metadata header: no '# {END}' line before the results")]
                )
            if line.strip():
                return None
            continue
        if not start:
            if text.strip() == START:
                start = number
            continue
        if text.strip() == END:
            return _parse("\n".join(body), name, start)
        if offset > MAX_HEADER_BYTES:
            raise FormatError(
                [Problem(name, start, f"ir_metadata header larger than {MAX_HEADER_BYTES // 1024} KiB")]
            )
        body.append(text)
    if start:
        raise FormatError([Problem(name, start, f"ir_metadata header: no '# {END}' line")])
    return None


def _parse(text: str, name: str, start: int) -> dict[str, Any]:
    import yaml

    try:
        # Anchors and aliases could make a small header expand without bound (or refer to
        # itself) once stored as JSON: refused before anything is built.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when built with it
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                line = start + 1 + (event.start_mark.line if event.start_mark is not None else 0)
                raise FormatError(
                    [Problem(name, line, "ir_metadata header: YAML aliases (*name) are not allowed")]
                )
        value = yaml.load(text, Loader=loader)  # a safe loader (CSafeLoader or SafeLoader)
    except RecursionError:
        raise FormatError([Problem(name, start, "ir_metadata header is nested too deeply")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        context = getattr(exc, "context_mark", None)
        if mark is not None and mark.line >= text.count("\n") and context is not None:
            mark = context  # found at the end of the header: name where the construct opened
        line = start + 1 + mark.line if mark is not None else start
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FormatError([Problem(name, line, f"ir_metadata header is not YAML: {reason}")]) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FormatError(
            [Problem(name, start, f"ir_metadata header must be a YAML mapping, found {type(value).__name__}")]
        )
    return _jsonable(value)  # type: ignore[no-any-return]


def _jsonable(value: Any) -> Any:
    """``value`` with every mapping key a string and every scalar JSON's (dates become text)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)
