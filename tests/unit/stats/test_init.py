"""The statistics package stays light: importing it loads neither pandas nor scipy."""

from __future__ import annotations

import subprocess
import sys

import ragbench.stats


def test_import_loads_neither_pandas_nor_scipy() -> None:
    probe = "import sys, ragbench.stats; print(sorted(m for m in ('pandas', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_public_names_resolve() -> None:
    for name in ragbench.stats.__all__:
        assert hasattr(ragbench.stats, name), name
