"""The SMART format of the classic test collections (Cranfield, CACM, CISI, MED, ...), as distributed.

Documents and queries are records: a line ``.I <id>`` starts one, and lines holding only a field
marker (``.T`` title, ``.A`` authors, ``.B`` bibliographic reference, ``.W`` text, and CACM's and
CISI's ``.K`` ``.C`` ``.N`` ``.X``) start its fields; every other line is text of the current
field. Relevance judgments of these collections are whitespace-separated columns:

- ``query doc grade`` (Cranfield's ``cranqrel``; Cleverdon's codes, where 1 is the MOST relevant);
- ``query doc`` pairs, with any further columns ignored (CACM's ``qrels.text`` and CISI's
  ``CISI.REL`` write ``query doc 0 0``): every pair is relevant (grade 1).

What the readers do with the collections as they are, so that nothing is lost silently:

- field text is joined with single spaces (the files wrap lines at 70-odd columns);
- a field that appears twice in one record (Cranfield's records 240, 576 and 578 do) keeps both
  texts, in order, and is reported as a warning with its line (ir_datasets reads it the same way);
- a record without any text (Cranfield's 471 and 995) is a warning; :func:`smart_corpus_jsonl`
  leaves it out of the corpus (no text retriever can find it; its judgments stay);
- query ids: ``as-written`` (``001`` stays ``001``), ``number`` (``001`` becomes ``1``) or
  ``sequential`` (the k-th query is ``k``: Cranfield's ``cran.qry`` numbers its queries 1, 2, 4,
  8, ... up to 365, while ``cranqrel`` numbers them 1..225 in file order);
- grades: ``grades=`` maps every grade to the grade stored (:data:`GRADE_MAPS` has Cranfield's
  inversion, 1->4, 2->3, 3->2, 4->1, and -1 or 5 -> 0); a grade the mapping lacks is an error
  naming its line, never a silent 0.

Every problem names the file, the line and (for columns) the column, as the other readers do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ragbench.errors import FormatError, InputError
from ragbench.formats.lines import ProblemList, Source, column_of, content_lines, load, parse_int
from ragbench.formats.problems import Problem
from ragbench.formats.topics import Topic

SmartKind = Literal["smart", "smart-qrels"]
SMART_KINDS: tuple[SmartKind, ...] = ("smart", "smart-qrels")
"""The kinds ``validate`` tells: SMART records (documents or queries) and ``query doc grade`` qrels."""
QueryIds = Literal["as-written", "number", "sequential"]
QUERY_IDS: tuple[str, ...] = ("as-written", "number", "sequential")
FIELDS: dict[str, str] = {
    "T": "title",
    "A": "authors",
    "B": "bibliographic reference",
    "W": "text",
    "K": "keywords",
    "C": "categories",
    "N": "entry date",
    "X": "references",
}
"""The field markers of the classic collections and what they hold."""
GRADE_MAPS: dict[str, dict[int, int]] = {
    "cranfield": {1: 4, 2: 3, 3: 2, 4: 1, 5: 0, -1: 0},
}
"""Named grade mappings: ``cranfield`` turns Cleverdon's codes (1 = complete answer ... 4 = minimum
interest, 5 or -1 = no interest) into gains that grow with relevance."""
_MARKER = re.compile(r"^\.([A-Z])(?:[ \t]+(.*?))?[ \t\r]*$")


@dataclass(frozen=True, slots=True)
class SmartRecord:
    """One record of a SMART file.

    Attributes:
        record_id: The id after ``.I``, as written.
        line: The line of its ``.I``.
        fields: Field letter -> text (lines joined with single spaces), in the order the fields
            first appear; a repeated field's texts are joined.
    """

    record_id: str
    line: int
    fields: dict[str, str] = field(default_factory=dict)

    def text(self, letters: Sequence[str] = ("T", "W")) -> str:
        """The texts of ``letters`` (those present and not blank), joined with a space."""
        return " ".join(self.fields[f] for f in letters if self.fields.get(f))


@dataclass(frozen=True, slots=True)
class SmartJudgment:
    """One judgment of a SMART qrels file: the grade as written and as mapped."""

    query_id: str
    doc_id: str
    grade: int
    written: int
    line: int


def _scan(data: bytes, name: str) -> tuple[list[SmartRecord], list[Problem]]:
    """Records and every problem (errors and warnings) of a SMART file's bytes."""
    problems: list[Problem] = []
    records: list[SmartRecord] = []
    seen: dict[str, int] = {}
    current: dict[str, list[str]] | None = None
    current_id, current_line, field_name = "", 0, ""
    field_lines: dict[str, int] = {}

    def close() -> None:
        if current is None:
            return
        texts = {k: " ".join(" ".join(v).split()) for k, v in current.items()}
        if not any(texts.values()):
            problems.append(
                Problem(name, current_line, f"record {current_id!r} has no text", severity="warning")
            )
        records.append(SmartRecord(current_id, current_line, texts))

    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(
                Problem(
                    name, lineno, f"bytes that are not UTF-8 (byte 0x{raw[exc.start]:02x})", exc.start + 1
                )
            )
            continue
        if "\x00" in line:
            problems.append(Problem(name, lineno, "NUL character in line", line.index("\x00") + 1))
            continue
        marker = _MARKER.match(line)
        if marker is not None and marker.group(1) == "I":
            close()
            tokens = (marker.group(2) or "").split()
            current, field_name, field_lines = {}, "", {}
            current_line = lineno
            if len(tokens) != 1:
                problems.append(Problem(name, lineno, "a record starts with '.I <id>': one id, no spaces"))
                current_id = f"<line {lineno}>"
                continue
            current_id = tokens[0]
            first = seen.setdefault(current_id, lineno)
            if first != lineno:
                problems.append(
                    Problem(
                        name, lineno, f"record id {current_id!r} is used twice (first on line {first})", 4
                    )
                )
            continue
        if marker is not None and marker.group(2) is None and marker.group(1) in FIELDS:
            if current is None:
                problems.append(Problem(name, lineno, f"field .{marker.group(1)} before the first '.I <id>'"))
                continue
            field_name = marker.group(1)
            if field_name in field_lines:
                problems.append(
                    Problem(
                        name,
                        lineno,
                        f"field .{field_name} appears again in record {current_id!r} (first on line "
                        f"{field_lines[field_name]}); the texts are joined",
                        severity="warning",
                    )
                )
            else:
                field_lines[field_name] = lineno
            current.setdefault(field_name, [])
            continue
        if not line.strip():
            continue
        if current is None:
            problems.append(Problem(name, lineno, "text before the first '.I <id>' record"))
            continue
        if not field_name:
            problems.append(
                Problem(name, lineno, f"text in record {current_id!r} before any field marker (.T, .W ...)")
            )
            continue
        current[field_name].append(line)
    close()
    if not records and not any(p.severity == "error" for p in problems):
        problems.append(Problem(name, 0, "empty file: no '.I <id>' record"))
    return records, problems


def check_smart(source: Source, *, name: str | None = None) -> list[Problem]:
    """Every error and warning of a SMART document or query file (see the module docstring)."""
    try:
        data, name = load(source, name)
    except FormatError as exc:
        return list(exc.problems)
    return _scan(data, name)[1]


def detect_smart(sample: list[str]) -> SmartKind | None:
    """``smart`` when the first content line is ``.I <id>``, ``smart-qrels`` when every line is three
    integers (``query doc grade``: TREC qrels have four columns), else None."""
    first = sample[0].strip() if sample else ""
    if first == ".I" or first.startswith(".I "):
        return "smart"
    if sample and all(
        len(f) == 3 and all(parse_int(x) is not None for x in f) for f in map(str.split, sample)
    ):
        return "smart-qrels"
    return None


def smart_problems(data: bytes, name: str, kind: str) -> list[Problem]:
    """Every error and warning of a SMART file of ``kind`` (``smart`` or ``smart-qrels``)."""
    if kind == "smart":
        return check_smart(data, name=name)
    try:
        read_smart_qrels(data, name=name)
    except FormatError as exc:
        return list(exc.problems)
    return []


def read_smart(source: Source, *, name: str | None = None) -> list[SmartRecord]:
    """Read a SMART document or query file into its records, in file order.

    Raises:
        FormatError: every error (up to 50) with file, line and column: text outside a record, a
            bad ``.I`` line, a repeated record id, bytes that are not UTF-8, an empty file.
            Warnings (a repeated field, a record without text) do not raise: see :func:`check_smart`.
    """
    data, name = load(source, name)
    records, problems = _scan(data, name)
    errors = ProblemList()
    for problem in problems:
        if problem.severity == "error":
            errors.append(problem)
    errors.raise_if_any()
    return records


def _query_ids(records: Sequence[SmartRecord], ids: str) -> list[str]:
    if ids not in QUERY_IDS:
        raise InputError(f"query ids {ids!r}: use one of {', '.join(QUERY_IDS)}")
    if ids == "sequential":
        return [str(i) for i in range(1, len(records) + 1)]
    if ids == "number":
        return [r.record_id.lstrip("0") or "0" if r.record_id.isdecimal() else r.record_id for r in records]
    return [r.record_id for r in records]


def read_smart_topics(
    source: Source,
    *,
    name: str | None = None,
    query_ids: QueryIds = "as-written",
    fields: Sequence[str] = ("W",),
) -> list[Topic]:
    """Read a SMART query file (``cran.qry``, ``query.text``, ``CISI.QRY``) as topics.

    Args:
        source: A path, or the file's bytes.
        name: The name used in messages.
        query_ids: ``as-written``, ``number`` (leading zeros dropped) or ``sequential`` (1..n).
        fields: The fields whose text is the query (default ``.W``).

    Raises:
        FormatError: as :func:`read_smart`, and a query without text in ``fields``.
        InputError: a bad ``query_ids``.
    """
    data, name = load(source, name)
    records = read_smart(data, name=name)
    ids = _query_ids(records, query_ids)
    problems = ProblemList()
    topics: list[Topic] = []
    seen: dict[str, int] = {}
    for query_id, record in zip(ids, records, strict=True):
        text = record.text(fields)
        if not text:
            letters = ", ".join(f".{f}" for f in fields)
            problems.append(
                Problem(name, record.line, f"query {record.record_id!r} has no text in {letters}")
            )
            continue
        first = seen.setdefault(query_id, record.line)
        if first != record.line:
            problems.append(
                Problem(name, record.line, f"query id {query_id!r} is used twice (first on line {first})")
            )
            continue
        topics.append(Topic(query_id, text, fields={"written_id": record.record_id, **record.fields}))
    problems.raise_if_any()
    return topics


def grade_map(spec: str | Mapping[int, int] | None) -> dict[int, int] | None:
    """A grade mapping from a name of :data:`GRADE_MAPS`, a mapping, or ``"1:4,2:3,-1:0"``.

    Raises:
        InputError: an unknown name or a malformed pair.
    """
    if spec is None:
        return None
    if isinstance(spec, Mapping):
        return {int(k): int(v) for k, v in spec.items()}
    if spec in GRADE_MAPS:
        return dict(GRADE_MAPS[spec])
    mapping: dict[int, int] = {}
    for pair in spec.split(","):
        written, _, stored = pair.strip().partition(":")
        old, new = parse_int(written.strip()), parse_int(stored.strip())
        if old is None or new is None:
            names = ", ".join(GRADE_MAPS)
            raise InputError(f"grade mapping {spec!r}: use a name ({names}) or pairs such as 1:4,2:3,-1:0")
        mapping[old] = new
    return mapping


def read_smart_qrels(
    source: Source,
    *,
    name: str | None = None,
    grades: str | Mapping[int, int] | None = None,
    query_ids: Literal["as-written", "number"] = "as-written",
) -> list[SmartJudgment]:
    """Read the judgments of a classic collection (see the module docstring for the layouts).

    Args:
        source: A path, or the file's bytes.
        name: The name used in messages.
        grades: A grade mapping (a :data:`GRADE_MAPS` name, a mapping, or ``"1:4,2:3"``); None keeps
            the grades as written. Every grade must be in the mapping.
        query_ids: ``as-written`` or ``number`` (leading zeros dropped: CACM writes ``01``).

    Raises:
        FormatError: every problem (up to 50) with file, line and column: a wrong number of
            columns, a grade that is not an integer or not in the mapping, a pair judged twice, a
            file that is TREC qrels (``query 0 doc relevance``), an empty file.
        InputError: a bad ``grades`` or ``query_ids``.
    """
    mapping = grade_map(grades)
    if query_ids not in ("as-written", "number"):
        raise InputError(f"query ids {query_ids!r}: use as-written or number")
    data, name = load(source, name)
    problems = ProblemList()
    judgments: list[SmartJudgment] = []
    seen: dict[tuple[str, str], int] = {}
    trec_like = 0
    for lineno, fields in content_lines(data, name, problems):
        if len(fields) not in (2, 3, 4):
            problems.append(Problem(name, lineno, f"expected query doc [grade], found {len(fields)} columns"))
            continue
        if len(fields) == 4 and fields[1] in ("0", "Q0"):
            trec_like += 1
        written = 1
        if len(fields) == 3:
            value = parse_int(fields[2])
            if value is None:
                problems.append(
                    Problem(name, lineno, f"grade {fields[2]!r} is not an integer", column_of(fields, 2))
                )
                continue
            written = value
        grade = written if mapping is None else mapping.get(written)
        if grade is None:
            listed = ", ".join(f"{k}:{v}" for k, v in sorted(mapping.items())) if mapping else ""
            problems.append(
                Problem(
                    name,
                    lineno,
                    f"grade {written} is not in the grade mapping ({listed})",
                    column_of(fields, 2),
                )
            )
            continue
        query = fields[0]
        if query_ids == "number" and query.isdecimal():
            query = query.lstrip("0") or "0"
        first = seen.setdefault((query, fields[1]), lineno)
        if first != lineno:
            problems.append(
                Problem(
                    name,
                    lineno,
                    f"document {fields[1]!r} is judged twice for query {query!r} (first on line {first})",
                    column_of(fields, 1),
                )
            )
            continue
        judgments.append(SmartJudgment(query, fields[1], grade, written, lineno))
    if judgments and trec_like == len(judgments):
        problems.append(
            Problem(name, 0, "these are TREC qrels (query 0 doc relevance): read them as TREC qrels")
        )
    if not problems and not judgments:
        problems.append(Problem(name, 0, "empty file: no judgments"))
    problems.raise_if_any()
    return judgments


def qrels_to_trec(judgments: Iterable[SmartJudgment]) -> bytes:
    """TREC qrels (``query 0 doc grade``) of ``judgments``, in their order."""
    return "".join(f"{j.query_id} 0 {j.doc_id} {j.grade}\n" for j in judgments).encode("utf-8")


def topics_to_jsonl(topics: Iterable[Topic]) -> bytes:
    """JSONL topics (``{"query_id", "query"}`` per line), which :func:`read_topics` reads back."""
    lines = [json.dumps({"query_id": t.query_id, "query": t.title}, ensure_ascii=False) for t in topics]
    return ("\n".join(lines) + "\n").encode("utf-8")


def smart_corpus_jsonl(
    records: Iterable[SmartRecord], fields: Sequence[str] = ("T", "W")
) -> tuple[bytes, list[str]]:
    """A JSONL corpus (``{"id", "contents", "title"}`` per line) of SMART documents, and the ids of
    the records left out because ``fields`` hold no text there.

    ``contents`` joins ``fields`` (default title and text, as ir_datasets' ``default_text`` and
    BEIR do; Cranfield's ``.W`` repeats the title, so the title counts twice, as it does there).
    """
    lines, skipped = [], []
    for record in records:
        contents = record.text(fields)
        if not contents:
            skipped.append(record.record_id)
            continue
        doc = {"id": record.record_id, "contents": contents, "title": record.fields.get("T", "")}
        lines.append(json.dumps(doc, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8"), skipped
