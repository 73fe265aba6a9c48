"""Split a whole text file into fields with numpy passes: the fast way to read large, clean files.

The readers of :mod:`ragbench.formats.sessions` first try this and fall back to their line-by-line
reader, which names every problem, whenever it returns None. So nothing here reports errors: it
only has to be sure, for what it accepts, to read what the line reader would read.

Fields are byte offsets into the file's bytes; columns are turned into integers with a few
vectorised passes over their digits, and into strings by gathering them, newline-separated, into
one buffer that is decoded and split once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ragbench.formats.tables import StringPool

WHITESPACE = " \t\r\x0b\x0c"
"""ASCII whitespace but newline: what ``bytes.split()`` and the C reader split on."""
HEADER = b"session_id"
"""The first field of a header line."""
CHUNK = 1 << 20
"""Strings gathered per pass, to bound the temporary index arrays."""
_SEPARATOR = np.zeros(256, dtype=bool)
_SEPARATOR[[ord(c) for c in WHITESPACE + "\n"]] = True


@dataclass(frozen=True, slots=True)
class Fields:
    """The fields of a file's content lines, as byte offsets into ``b`` (a missing field is empty).

    Attributes:
        b: the file's bytes, ending with a newline.
        start: int64, shape (width, rows): field j of every row starts at ``start[j]``.
        end: int64, same shape: one past the field's last byte.
        count: the number of fields on each row.
        line: the 1-based line of each row.
    """

    b: np.ndarray
    start: np.ndarray
    end: np.ndarray
    count: np.ndarray
    line: np.ndarray

    def length(self, j: int) -> np.ndarray:
        length: np.ndarray = self.end[j] - self.start[j]
        return length

    def ints(self, j: int, rows: np.ndarray | slice = slice(None)) -> np.ndarray | None:
        """Field ``j`` as int64, read as ``trec._parse_int`` reads it; None if one is not an integer."""
        b, start, end = self.b, self.start[j][rows], self.end[j][rows]
        if start.size == 0:
            return np.zeros(0, dtype=np.int64)
        head = b[start]
        at = start + ((head == ord("+")) | (head == ord("-")))
        size = end - at
        if size.min() < 1 or size.max() > 18:  # 18 digits cannot overflow int64
            return None
        value = np.zeros(start.size, dtype=np.int64)
        for k in range(int(size.max())):
            active = size > k
            digit = b[np.minimum(at + k, b.size - 1)].astype(np.int64) - ord("0")
            if np.any(active & ((digit < 0) | (digit > 9))):
                return None
            value = np.where(active, value * 10 + digit, value)
        return np.where(head == ord("-"), -value, value)

    def strings(self, j: int, rows: np.ndarray | slice = slice(None)) -> list[str]:
        """Field ``j`` of each row, as written."""
        return gather(self.b, self.start[j][rows], self.end[j][rows]) or []

    def codes(
        self,
        j: int,
        pool: StringPool,
        rows: np.ndarray | slice = slice(None),
        *,
        runs: bool = False,
        text: bool = False,
    ) -> np.ndarray | None:
        """Pool codes (int32) of field ``j``; None if an id (``text`` False) is empty or holds whitespace.

        Args:
            runs: intern once per run of equal values on consecutive rows (a session's id, a
                query's text): far fewer calls when they repeat.
            text: free text, stripped of the whitespace around it.
        """
        start, end = self.start[j][rows], self.end[j][rows]
        heads = run_heads(self.b, start, end) if runs else slice(None)
        strings = gather(self.b, start[heads], end[heads], ids=not text)
        if strings is None:
            return None
        if text:
            strings = [s.strip(WHITESPACE) for s in strings]
        codes = np.fromiter(map(pool.code, strings), dtype=np.int32, count=len(strings))
        return codes if codes.size == start.size else np.repeat(codes, np.diff(np.r_[heads, start.size]))


def scannable(data: bytes) -> bytes | None:
    """The bytes, ending with a newline, when they are UTF-8 without NUL; else None."""
    if b"\x00" in data:
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return data if data.endswith(b"\n") else data + b"\n"


def split_tsv(data: bytes, low: int, high: int) -> Fields | None:
    """Tab-separated fields, ``low`` to ``high`` of them (``low`` > 1), of each content line.

    Skips empty lines, lines starting with ``#`` and a first content line whose first field is
    ``session_id``. Line ends may be ``\\r\\n``. None when the line reader must decide: bytes
    that are not UTF-8, a wrong field count, a line that starts with whitespace, a CR that does
    not end a line, no content line.
    """
    buf = scannable(data)
    if buf is None:
        return None
    b = np.frombuffer(buf, dtype=np.uint8)
    stops = np.flatnonzero((b == ord("\t")) | (b == ord("\n")))  # every field ends at one
    newline = np.flatnonzero(b[stops] == ord("\n"))  # index in stops of each line's end
    ends = stops[newline]
    starts = np.r_[0, ends[:-1] + 1]
    cr = np.flatnonzero(b == ord("\r"))
    if cr.size:
        if np.any(b[cr + 1] != ord("\n")):
            return None
        ends = ends - ((b[ends - 1] == ord("\r")) & (ends > starts))
    rows = np.flatnonzero((ends > starts) & (b[starts] != ord("#")))
    if rows.size and _is_header(buf[starts[rows[0]] : ends[rows[0]]].split(b"\t")[0]):
        rows = rows[1:]
    if rows.size == 0:
        return None
    first = np.r_[0, newline[:-1] + 1][rows]  # index in stops of the row's first tab
    count = newline[rows] - first + 1
    if count.min() < low or count.max() > high:
        return None
    e = ends[rows]
    start = np.empty((high, rows.size), dtype=np.int64)
    end = np.empty((high, rows.size), dtype=np.int64)
    start[0] = starts[rows]
    uniform = int(count[0]) if np.all(count == count[0]) else 0
    for j in range(high):
        if uniform:  # the usual case: as many fields on every line, no test per row
            stop = stops[first + j] if j < uniform - 1 else e
        else:
            stop = np.where(j < count - 1, stops[np.minimum(first + j, stops.size - 1)], e)
        end[j] = stop
        if j + 1 < high:
            start[j + 1] = np.minimum(stop + 1, e)
    return Fields(b, start, end, count, rows + 1)


def split_words(data: bytes, width: int) -> Fields | None:
    """Whitespace-separated fields of each content line, when every one has ``width`` of them.

    Skips blank lines, comment lines (first field starting with ``#``) and a first content line
    whose first field is ``session_id``; None for anything else the line reader must judge.
    """
    buf = scannable(data)
    if buf is None:
        return None
    b = np.frombuffer(buf, dtype=np.uint8)
    separator = _SEPARATOR[b]
    word = ~separator
    begin = np.flatnonzero(word & np.r_[True, separator[:-1]])
    finish = np.flatnonzero(word & np.r_[separator[1:], True]) + 1
    line = np.searchsorted(np.flatnonzero(b == ord("\n")), begin)  # 0-based line of each word
    head = np.flatnonzero(np.r_[True, line[1:] != line[:-1]]) if line.size else line
    count = np.diff(np.r_[head, begin.size])
    content = b[begin[head]] != ord("#")
    lines = np.flatnonzero(content)
    if lines.size and _is_header(buf[begin[head[lines[0]]] : finish[head[lines[0]]]]):
        content[lines[0]] = False
    if not content.any() or np.any(count[content] != width):
        return None
    keep = np.repeat(content, count)
    start, end = (np.ascontiguousarray(a[keep].reshape(-1, width).T) for a in (begin, finish))
    return Fields(b, start, end, np.full(start.shape[1], width), line[head[content]] + 1)


def _is_header(first_field: bytes) -> bool:
    return first_field.strip(WHITESPACE.encode()) == HEADER


def gather(b: np.ndarray, start: np.ndarray, end: np.ndarray, *, ids: bool = False) -> list[str] | None:
    """The strings ``b[start:end]``; with ``ids``, None if one is empty or holds whitespace."""
    out: list[str] = []
    newline = b.size - 1  # the buffer ends with a newline
    for lo in range(0, start.size, CHUNK):
        s, e = start[lo : lo + CHUNK], end[lo : lo + CHUNK]
        size = e - s + 1
        if ids and size.min() < 2:
            return None
        stop = np.cumsum(size)
        # Consecutive positions within a string, and a jump to the next one's start between them.
        index = np.ones(int(stop[-1]), dtype=np.int64)
        index[0] = s[0]
        index[stop[:-1]] = s[1:] - e[:-1]
        np.cumsum(index, out=index)
        index[stop - 1] = newline
        gathered = b[index]
        if ids and np.any((gathered == ord(" ")) | (gathered == 0x0B) | (gathered == 0x0C)):
            return None  # tabs, CRs and newlines end fields, so cannot be inside one here
        out += gathered.tobytes().decode("utf-8").split("\n")[:-1]
    return out


def run_heads(b: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Rows whose string differs from the previous row's (row 0 always); compares 8 bytes at a time."""
    size = end - start
    same = np.zeros(start.size, dtype=bool)
    same[1:] = size[1:] == size[:-1]
    rows = np.flatnonzero(same)
    windows = np.lib.stride_tricks.sliding_window_view(np.r_[b, np.zeros(8, np.uint8)], 8)
    last = b.size  # the last window: padding only
    for k in range(0, int(size[rows].max(initial=0)), 8):
        bits = np.minimum(size[rows] - k, 8).clip(0).astype(np.uint64) * np.uint64(8)
        mask = np.where(bits == 64, np.uint64(2**64 - 1), (np.uint64(1) << bits) - np.uint64(1))
        here = windows[np.minimum(start[rows] + k, last)].copy().view("<u8").ravel()
        there = windows[np.minimum(start[rows - 1] + k, last)].copy().view("<u8").ravel()
        rows = rows[((here ^ there) & mask) == 0]
    same[:] = False
    same[rows] = True
    return np.flatnonzero(~same)
