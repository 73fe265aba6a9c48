"""The one missing-topic policy, described the same way by every output.

Which topics a mean is over decides what it means, so every way in says which applies:

- ``complete`` (trec_eval ``-c``): every judged topic counts; a topic a run lacks scores 0.
  Pipelines and the service always use it (a leaderboard must not reward skipping hard topics),
  ``eval -c`` and ``compare -c`` too.
- ``retrieved`` (trec_eval's default): only judged topics the run has results for. ``eval``
  without ``-c`` uses it per run; ``compare`` without ``-c`` uses the judged topics *every*
  compared run has results for, since a paired test needs the same topics on both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

TopicPolicy = Literal["complete", "retrieved"]


def policy_of(complete: bool) -> TopicPolicy:
    return "complete" if complete else "retrieved"


def describe_policy(
    policy: TopicPolicy, topics: int, *, shared: bool = False, left_out: Sequence[str] = ()
) -> str:
    """One line saying which topics a mean is over (``shared``: over several runs, as in compare)."""
    if policy == "complete":
        return f"topics: all {topics} judged topics; a topic a run lacks counts 0 (-c, as trec_eval -c)"
    who = "every compared run has" if shared else "the run has"
    line = (
        f"topics: the {topics} judged topics {who} results for (trec_eval's default; -c counts the others 0)"
    )
    if left_out:
        shown = ", ".join(repr(t) for t in left_out[:5]) + (
            f" and {len(left_out) - 5} more" if len(left_out) > 5 else ""
        )
        line += f"; left out: {shown}"
    return line
