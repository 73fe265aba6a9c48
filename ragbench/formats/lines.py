"""Reading line-oriented text files: loading, splitting into fields, numbers, collecting problems.

Every whitespace-separated format ragbench reads (TREC runs and qrels, session files, length
files) goes through these, so they all accept the same syntax and report problems the same way
(file, line, column, message; at most :data:`MAX_PROBLEMS` listed, the rest counted).

Line breaks: ``\n``, ``\r\n`` and a lone ``\r`` (old Mac files, some spreadsheet exports) all end
a line. :func:`load` turns lone CRs into ``\n`` before any reader sees the bytes, so a CR-only
file is never read as one long line (trec_eval would take its first six fields and ignore the
rest); :func:`line_break_notes` says so as a warning (``validate``, the REST response).

Size: :func:`load` reads at most ``RAGBENCH_MAX_INPUT_BYTES`` (default 4 GiB) of a path, so a
FIFO or a device that never ends (``/dev/zero``) stops with a clear error instead of exhausting
memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ragbench.errors import FormatError
from ragbench.formats.problems import Problem

MAX_PROBLEMS = 50
"""Problems listed in one error; the rest are counted."""
Source = str | os.PathLike[str] | bytes
"""A path, or a file's bytes."""


CHUNK = 1 << 20


def has_lone_cr(data: bytes) -> bool:
    """Whether ``data`` has a CR that is not part of a CRLF (two memchr-speed counts, no copy)."""
    return b"\r" in data and data.count(b"\r") != data.count(b"\r\n")


def universal_newlines(data: bytes) -> bytes:
    """``data`` with every lone CR turned into LF (CRLF and LF are left as they are: the readers
    treat the CR of a CRLF as trailing whitespace); the same object when there is none."""
    if not has_lone_cr(data):
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def line_break_notes(data: bytes, name: str) -> list[Problem]:
    """A warning when ``data`` has lines ended by a lone CR (read as line breaks), else nothing."""
    if not has_lone_cr(data):
        return []
    lone = data.count(b"\r") - data.count(b"\r\n")
    return [
        Problem(
            name,
            0,
            f"{lone:,} line{'s' * (lone > 1)} end with a lone carriage return (CR, old Mac style); "
            "they are read as line breaks",
            severity="warning",
        )
    ]


def _read_bounded(path: Path, limit: int, name: str) -> bytes:
    """A file's bytes, refusing more than ``limit``: a regular file by its size, anything else
    (a FIFO, a device, a socket) while it is read, so an endless one cannot exhaust memory."""

    def too_large() -> FormatError:
        return FormatError(
            [
                Problem(
                    name,
                    0,
                    f"larger than {limit:,} bytes (RAGBENCH_MAX_INPUT_BYTES); "
                    "is it a file that never ends, such as a device or a pipe?",
                )
            ]
        )

    with path.open("rb") as handle:
        try:
            size = os.fstat(handle.fileno()).st_size if path.is_file() else -1
        except OSError:
            size = -1
        if size > limit:
            raise too_large()
        if size >= 0:
            return handle.read()
        buffer = bytearray()
        while chunk := handle.read(CHUNK):
            buffer += chunk
            if len(buffer) > limit:
                raise too_large()
        return bytes(buffer)


def read_limited(path: str | os.PathLike[str]) -> bytes:
    """A file's bytes exactly as they are, refusing more than ``RAGBENCH_MAX_INPUT_BYTES`` (for
    files sent on as they are, such as ``ragbench submit``'s run).

    Raises:
        FormatError: the file is larger than the limit (or never ends).
        OSError: it cannot be read.
    """
    from ragbench.settings import get_settings

    return _read_bounded(Path(path), get_settings().max_input_bytes, str(path))


def load(source: Source, name: str | None) -> tuple[bytes, str]:
    """The bytes of a file (decompressed when gzip; a leading UTF-8 byte-order mark removed, lone
    CRs made line breaks) and its name for messages.

    Raises:
        FormatError: the file is missing, a directory, unreadable, corrupt gzip, or larger than
            ``RAGBENCH_MAX_INPUT_BYTES`` (decompressed).
    """
    data, shown = _raw(source, name)
    return universal_newlines(data), shown


def load_with_notes(source: Source, name: str | None) -> tuple[bytes, str, list[Problem]]:
    """:func:`load`, plus the warnings about how the file was read (:func:`line_break_notes`).

    Raises:
        FormatError: as :func:`load`.
    """
    data, shown = _raw(source, name)
    return universal_newlines(data), shown, line_break_notes(data, shown)


def _raw(source: Source, name: str | None) -> tuple[bytes, str]:
    """The bytes as given or read (bounded), decompressed when gzip, without a leading UTF-8
    byte-order mark."""
    from ragbench.settings import get_settings

    limit = get_settings().max_input_bytes
    if isinstance(source, bytes):
        shown = name or "<memory>"
        return _gunzip(source, shown, limit).removeprefix(b"\xef\xbb\xbf"), shown
    path = Path(source)
    shown = name or str(source)
    try:
        data = _gunzip(_read_bounded(path, limit, shown), shown, limit)
        return data.removeprefix(b"\xef\xbb\xbf"), shown
    except FileNotFoundError:
        raise FormatError([Problem(shown, 0, "no such file")]) from None
    except IsADirectoryError:
        raise FormatError([Problem(shown, 0, "is a directory, not a file")]) from None
    except PermissionError:
        raise FormatError([Problem(shown, 0, "permission denied")]) from None
    except OSError as exc:
        raise FormatError([Problem(shown, 0, f"cannot be read: {exc.strerror or exc}")]) from None


def _gunzip(data: bytes, name: str, limit: int) -> bytes:
    """``data`` decompressed when it starts with gzip's magic bytes, else as it is; at most
    ``limit`` bytes decompressed (a gzip bomb is an error, not an exhausted memory)."""
    if not data.startswith(b"\x1f\x8b"):
        return data
    import gzip
    import io
    import zlib

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            out = stream.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise FormatError([Problem(name, 0, f"the gzip data is corrupt or cut short: {exc}")]) from None
    if len(out) > limit:
        raise FormatError(
            [Problem(name, 0, f"decompressed, larger than RAGBENCH_MAX_INPUT_BYTES ({limit:,} bytes)")]
        )
    return out


class ProblemList(list[Problem]):
    """Keeps the first MAX_PROBLEMS problems and counts the rest."""

    more: int = 0

    def append(self, problem: Problem) -> None:
        if len(self) < MAX_PROBLEMS:
            super().append(problem)
        else:
            self.more += 1

    def raise_if_any(self) -> None:
        if self:
            raise FormatError(list(self), more=self.more)


WORDS = frozenset({"inf", "infinity", "nan"})


def parse_float(token: str) -> float | None:
    """A decimal number (``1``, ``-2.5``, ``.5e-3``, ``inf``), or None; the C reader's syntax exactly."""
    body = token.lstrip("+-")
    if not token.isascii() or "_" in token or len(token) >= 64:
        return None
    if token[:1] in "+-" and token[1:2] in "+-":
        return None
    if body.lower() in WORDS or all(c in "0123456789.eE+-" for c in body):
        try:
            return float(token)
        except ValueError:
            return None
    return None


def parse_int(token: str) -> int | None:
    """``[+-]digits`` with at most 18 digits, or None; the C reader's syntax exactly."""
    digits = token[1:] if token[:1] in "+-" else token
    if not digits or len(digits) > 18 or not (digits.isascii() and digits.isdigit()):
        return None
    return int(token)


def content_lines(data: bytes, name: str, problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, fields) of each content line; record encoding problems.

    Fields are separated by ASCII whitespace (space, tab, CR, VT, FF), as C's isspace and
    trec_eval do; a line whose first field starts with ``#`` is a comment.
    """
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if b"\x00" in raw:
            problems.append(Problem(name, lineno, "NUL character in line", raw.index(b"\x00") + 1))
            continue
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(
                Problem(
                    name, lineno, f"bytes that are not UTF-8 (byte 0x{raw[exc.start]:02x})", exc.start + 1
                )
            )
            continue
        fields = raw.split()
        if not fields or fields[0].startswith(b"#"):
            continue
        yield lineno, [f.decode("utf-8") for f in fields]


def column_of(fields: list[str], index: int) -> int:
    """Column (1-based) of field ``index`` as if fields were separated by single spaces: exact
    enough to point an editor at the token without keeping the raw line around."""
    return sum(len(f) + 1 for f in fields[:index]) + 1


def write_if_changed(path: str | os.PathLike[str], data: bytes) -> str:
    """Write ``data`` to ``path`` (creating its folder) unless the file holds those bytes already,
    through a temporary file and a rename; returns the path. Converted files written this way keep
    their modification time and hash when nothing changed, so what was built from them stays valid."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_file() or target.read_bytes() != data:
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return str(target)
