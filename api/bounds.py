"""Input bounds checked before a handler runs: JSON bodies, ids in the database's range.

- JSON bodies (``application/json``) are refused with 400 when nested deeper than
  ``RAGBENCH_MAX_JSON_DEPTH`` (default 32): measured on the raw bytes, before any decoder recurses
  into them (a body nested a few thousand deep would otherwise exhaust the decoder's recursion).
- They are then decoded strictly against the handler's body type: a boolean is ``true`` or
  ``false`` and nothing else (``"0"``, ``1`` and ``"false"`` are refused, never read as false),
  a string is a string. Litestar's own conversion is lenient, so this runs first.
- Ids (run and token ids in paths, ``a``/``b`` of the compare page) are ASCII digits only, and
  an id no table can hold (2^31 and above, the range of PostgreSQL's ``integer``) is a 404, never
  a database error.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
import numpy as np
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.params import Parameter

from api.dto import SLUG_PATTERN
from ragbench.errors import NotFoundError

JSON_TYPES = ("application/json",)
ID_PATTERN = r"^[0-9]{1,19}$"
"""What an id in a path looks like: ASCII digits (no sign, no other script's digits)."""
MAX_ID = 2**31 - 1
MAX_OFFSET = 2**31 - 1
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)

RunId = Annotated[str, Parameter(pattern=ID_PATTERN, description="a run id: ASCII digits", max_length=19)]
SlugPath = Annotated[str, Parameter(pattern=SLUG_PATTERN, description="the benchmark's slug", max_length=100)]
Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET, description="rows skipped")]
JobId = Annotated[str, Parameter(pattern=ID_PATTERN, description="a job id: ASCII digits", max_length=19)]
BattleId = Annotated[str, Parameter(pattern=ID_PATTERN, description="a battle: ASCII digits", max_length=19)]
VoteId = Annotated[str, Parameter(pattern=ID_PATTERN, description="a vote id: ASCII digits", max_length=19)]
TokenId = Annotated[str, Parameter(pattern=ID_PATTERN, description="a token id: ASCII digits", max_length=19)]


def json_nesting(body: bytes) -> int:
    """How deep arrays and objects nest in a JSON text (0 for a scalar), without parsing it:
    strings are cut out first, so brackets inside them do not count."""
    skeleton = np.frombuffer(_STRING.sub(b'""', body), dtype=np.uint8)
    opens = (skeleton == ord("[")) | (skeleton == ord("{"))
    closes = (skeleton == ord("]")) | (skeleton == ord("}"))
    if not opens.any():
        return 0
    return int(np.cumsum(opens.astype(np.int64) - closes.astype(np.int64)).max())


def parse_id(text: str, what: str) -> int:
    """An id from a path: ASCII digits within 1..2^31-1.

    Raises:
        NotFoundError: anything else (nothing can have that id).
    """
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise NotFoundError(f"no {what} {text[:40]!r}")
    value = int(text)
    if not 1 <= value <= MAX_ID:
        raise NotFoundError(f"no {what} {value}")
    return value


async def check_json_body(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: bound the nesting of a JSON body and decode it strictly.

    Raises:
        ValidationException: too deep, not JSON, or not of the handler's body type (400).
    """
    if request.method not in ("POST", "PUT", "PATCH") or request.content_type[0] not in JSON_TYPES:
        return
    from ragbench.settings import get_settings

    body = await request.body()
    limit = get_settings().max_json_depth
    if json_nesting(body) > limit:
        raise ValidationException(
            f"the JSON body is nested deeper than {limit} levels (RAGBENCH_MAX_JSON_DEPTH)"
        )
    field = request.route_handler.parsed_data_field
    if field is None or not (
        isinstance(field.annotation, type) and issubclass(field.annotation, msgspec.Struct)
    ):
        return
    try:
        msgspec.json.decode(body, type=field.annotation, strict=True)
    except msgspec.ValidationError as exc:
        problem = [{"source": "body", "message": str(exc)}]
        raise ValidationException(f"invalid request body: {exc}", extra=problem) from None
    except msgspec.DecodeError as exc:
        problem = [{"source": "body", "message": str(exc)}]
        raise ValidationException(f"the request body is not JSON: {exc}", extra=problem) from None
