"""Pipelines and their execution on Ray (imported lazily: the core does not need Ray).

Ray's driver installs a SIGSEGV handler (absl's failure signal handler) when it connects. The
JVM that runs Lucene uses SIGSEGV on purpose (null checks, safepoints) and expects its own
handler to see them; with Ray's in front, a process that runs both crashes at a random moment.
Ray reads the switch below when it is imported, so it is set before any ``import ray``.
"""

import os

os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")
