"""The core stays light: importing it must not pull in heavy or adapter-only libraries."""

import subprocess
import sys

FORBIDDEN = {"torch", "jnius", "faiss", "litestar", "sqlalchemy", "sentence_transformers", "ray", "pyserini"}
CORE = ["ragbench", "ragbench.formats", "ragbench.evaluation", "ragbench.stats", "ragbench.cli"]


def test_core_import_is_light() -> None:
    probe = (
        f"import sys, importlib; [importlib.import_module(m) for m in {CORE!r}]; "
        f"print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & {FORBIDDEN!r})))"
    )
    leaked = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert leaked.strip() == "", f"the core pulled in heavy modules at import: {leaked}"
