"""Reading a run upload: ``multipart/form-data`` (field ``file`` and form fields) or a ``text/plain``
body (fields as query parameters).

The body size limit is enforced by Litestar while the body streams in (413); everything else that
is wrong with the request itself (no file, no name, bad metadata JSON, an unsupported content type)
is an :class:`~ragbench.errors.InputError` (422) or a 415 here, before the store is called; the
file's content is validated by the store (400 with line numbers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException
from litestar.openapi.spec import Operation
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE

from ragbench.errors import InputError

TEXT_TYPES = ("text/plain", "application/octet-stream")
FORM_TYPE = "multipart/form-data"
FIELDS = ("name", "description", "url", "metadata", "filename", "kind")
KINDS = ("adhoc", "session", "rag")


@dataclass(frozen=True, slots=True)
class RunUpload:
    """A run file and the fields describing its system.

    Attributes:
        content: The run file's bytes, undecoded (the store reports encoding errors by line).
        name: The system's name (required, not blank).
        description: Free text.
        url: A link to the system's paper or code.
        metadata: Any JSON object.
        filename: The file's name, used in problem reports.
        kind: ``adhoc`` (a TREC run, the default) or ``session`` (a session run).
    """

    content: bytes
    name: str
    description: str = ""
    url: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    filename: str = "run"
    kind: str = "adhoc"


def _metadata(raw: str | None) -> dict[str, Any]:
    """The ``metadata`` field: a JSON object, bounded in size and nesting before it is parsed."""
    from api.bounds import json_nesting
    from ragbench.settings import get_settings

    if raw is None or not raw.strip():
        return {}
    settings = get_settings()
    data = raw.encode("utf-8", "surrogatepass")
    if len(data) > settings.max_metadata_bytes:
        raise InputError(
            f"field 'metadata' is larger than {settings.max_metadata_bytes:,} bytes "
            "(RAGBENCH_MAX_METADATA_BYTES)"
        )
    if json_nesting(data) > settings.max_json_depth:
        raise InputError(
            f"field 'metadata' is nested deeper than {settings.max_json_depth} levels "
            "(RAGBENCH_MAX_JSON_DEPTH)"
        )
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"field 'metadata' is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InputError("field 'metadata' must be a JSON object")
    return value


def _text(fields: dict[str, Any], key: str) -> str | None:
    value = fields.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"field {key!r} must be a plain form field, not a file")
    return value


def build_upload(content: bytes, fields: dict[str, Any], filename: str | None) -> RunUpload:
    """Check the fields of an upload and assemble it.

    Raises:
        InputError: no system name, a bad ``metadata`` JSON or ``kind``, or a file sent as a text field.
    """
    name = (_text(fields, "name") or "").strip()
    if not name:
        raise InputError("field 'name' is required: the name of the system that produced the run")
    kind = (_text(fields, "kind") or "").strip() or "adhoc"
    if kind not in KINDS:
        raise InputError(f"field 'kind' must be one of {', '.join(KINDS)}, not {kind[:50]!r}")
    url = (_text(fields, "url") or "").strip() or None
    return RunUpload(
        content=content,
        name=name,
        description=_text(fields, "description") or "",
        url=url,
        metadata=_metadata(_text(fields, "metadata")),
        filename=(filename or _text(fields, "filename") or "run").strip() or "run",
        kind=kind,
    )


async def provide_run_upload(request: Request[Any, Any, Any], slot: None) -> RunUpload:
    """Dependency: the run upload of a ``POST .../runs`` request, read once ``slot`` (a scoring
    slot, :func:`api.limits.provide_upload_slot`) is held, so that waiting uploads stay in their
    sockets rather than in memory.

    Raises:
        InputError: a missing file or field, or bad field values (422).
        ClientException: an unsupported content type (415) or a broken multipart body (400).
    """
    content_type, _ = request.content_type
    if content_type == FORM_TYPE:
        return await _from_form(request)
    if content_type in TEXT_TYPES:
        body = await request.body()
        fields = {k: request.query_params.get(k) for k in FIELDS}
        return build_upload(body, fields, fields.get("filename"))
    raise ClientException(
        detail=(
            f"unsupported content type {content_type or '(none)'!r}: send multipart/form-data with a "
            "'file' field, or the run as text/plain with name=... in the query string"
        ),
        status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    )


async def _from_form(request: Request[Any, Any, Any]) -> RunUpload:
    try:
        form = await request.form()
    except UnicodeDecodeError:
        raise InputError("a form field is not UTF-8 text") from None
    fields: dict[str, Any] = {}
    for key in form:
        values = form.getall(key)
        if len(values) > 1:
            raise InputError(f"field {key!r} was sent {len(values)} times")
        fields[key] = values[0]
    upload = fields.pop("file", None)
    if upload is None:
        raise InputError("field 'file' is required: the TREC run file")
    if isinstance(upload, UploadFile):
        try:
            content = await upload.read()
        finally:
            await upload.close()
        return build_upload(content, fields, upload.filename)
    return build_upload(str(upload).encode(), fields, None)


def _upload_body() -> Any:
    from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, RequestBody, Schema

    text = Schema(type=OpenAPIType.STRING)
    form = Schema(
        type=OpenAPIType.OBJECT,
        required=["file", "name"],
        properties={
            "file": Schema(type=OpenAPIType.STRING, format="binary", description="the TREC run file"),  # type: ignore[arg-type]
            "name": Schema(type=OpenAPIType.STRING, description="system name"),
            "description": text,
            "url": Schema(type=OpenAPIType.STRING, description="http(s) link to the paper or code"),
            "metadata": Schema(type=OpenAPIType.STRING, description="a JSON object, as text"),
            "kind": Schema(
                type=OpenAPIType.STRING,
                enum=list(KINDS),
                description="adhoc (a TREC run, the default), session (a session run) or rag (TREC RAG "
                "2024/2025 or QA answers JSONL, judged by the worker)",
            ),
        },
    )
    return RequestBody(
        required=True,
        description="multipart/form-data, or the run as text/plain with the fields as query parameters",
        content={
            FORM_TYPE: OpenAPIMediaType(schema=form),
            "text/plain": OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, description="the TREC run file")
            ),
        },
    )


@dataclass
class RunUploadOperation(Operation):
    """The OpenAPI operation of a run upload: documents the two request bodies read by hand."""

    def __post_init__(self) -> None:
        self.request_body = _upload_body()
