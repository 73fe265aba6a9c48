"""A small REST client of the ragbench service, for ``ragbench submit``.

It speaks the API of ``docs/service_design.md``: ``POST /api/v1/benchmarks/{slug}/runs``
(multipart, field ``file``; field ``kind=session`` for a session run) answers 201 with the scored
run or 202 when the run waits for the background worker; ``GET /api/v1/runs/{id}`` then tells
when it is scored. Errors come back as JSON ``{"detail": ..., "problems": [...]}``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragbench.errors import AuthError, InputError, RagbenchError

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
FINAL_STATUSES = ("scored", "failed")


class RejectedError(RagbenchError):
    """The server refused the request (a 4xx); ``problems`` are the ones it listed."""

    def __init__(self, status: int, detail: str, problems: list[dict[str, Any]]) -> None:
        self.status, self.detail, self.problems = status, detail, problems
        super().__init__(f"the server refused the run ({status}): {detail}")


class ServerError(Exception):
    """The server failed (a 5xx) or cannot be reached: not the user's fault."""


@dataclass
class Submitted:
    """The outcome of a submission.

    Attributes:
        run: The run as the server last described it (``id``, ``status``, ``scores``, ...).
        waited_out: True when the run was still not scored when the wait ended.
        warnings: What the server said about how it read the file (``problems`` of severity
            warning, e.g. lines ended by a lone CR), from the answer to the upload.
    """

    run: dict[str, Any] = field(default_factory=dict)
    waited_out: bool = False
    warnings: list[dict[str, Any]] = field(default_factory=list)


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {"detail": response.text.strip()[:500] or response.reason_phrase}
    return data if isinstance(data, dict) else {"detail": str(data)}


def _check(response: httpx.Response) -> dict[str, Any]:
    body = _body(response)
    if 400 <= response.status_code < 500:
        problems = body.get("problems")
        raise RejectedError(
            response.status_code,
            str(body.get("detail") or response.reason_phrase),
            problems if isinstance(problems, list) else [],
        )
    if response.status_code >= 500:
        raise ServerError(
            f"the server failed ({response.status_code}): {body.get('detail', '')}".rstrip(": ")
        )
    return body


def submit(
    base_url: str,
    token: str | None,
    slug: str,
    path: Path,
    *,
    name: str,
    description: str = "",
    url: str | None = None,
    wait_s: float = 300.0,
    poll_s: float = 0.5,
    transport: httpx.BaseTransport | None = None,
    kind: str = "adhoc",
) -> Submitted:
    """Upload a run file and wait until the server has scored it (or ``wait_s`` has passed).

    ``kind="session"`` uploads a session run (scored per session on the benchmark's session
    measures).

    Raises:
        AuthError: no token.
        InputError: the file cannot be read.
        RejectedError: the server answered 4xx (its message and problems attached).
        ServerError: the server answered 5xx or cannot be reached.
    """
    import httpx

    if not token:
        raise AuthError(
            "set RAGBENCH_TOKEN to your API token (an admin creates one: ragbench token create USER)"
        )
    from ragbench.formats.lines import read_limited

    try:
        content = read_limited(path)  # a FIFO or device that never ends stops at the limit
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    form = {
        "name": name,
        "description": description,
        **({"url": url} if url else {}),
        **({"kind": kind} if kind != "adhoc" else {}),
    }
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    try:
        with httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=600.0, transport=transport
        ) as client:
            response = client.post(
                f"/api/v1/benchmarks/{slug}/runs",
                data=form,
                files={"file": (path.name, content, "text/plain")},
            )
            run = _check(response)
            notes = [w for w in run.get("warnings") or [] if isinstance(w, dict)]
            deadline = time.monotonic() + wait_s
            while run.get("status") not in FINAL_STATUSES and "id" in run:
                if time.monotonic() >= deadline:
                    return Submitted(run, waited_out=True, warnings=notes)
                time.sleep(poll_s)
                run = _check(client.get(f"/api/v1/runs/{run['id']}"))
            return Submitted(run, warnings=notes)
    except httpx.TransportError as exc:
        raise ServerError(f"cannot reach the ragbench server at {base_url}: {exc}") from None
