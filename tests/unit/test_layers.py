"""The house rules (tests/support/layers.py) hold for ragbench, and each one can fail."""

from __future__ import annotations

from pathlib import Path

from support.layers import check, source_files

REPO = Path(__file__).resolve().parents[2]
MAX_LINES = 500


def test_the_house_keeps_its_rules() -> None:
    violations = check(REPO)
    assert not violations, "\n".join(map(str, violations))


def test_no_module_is_over_500_lines() -> None:
    long = {
        str(p.relative_to(REPO)): n
        for p in source_files(REPO)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, long


def _plant(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_each_rule_catches_a_planted_violation(tmp_path: Path) -> None:
    _plant(
        tmp_path,
        {
            "ragbench/__init__.py": "",
            "ragbench/core.py": "import os\nfrom indexers.bm25 import thing\nimport torch\n"
            "os.environ['X'] = '1'\n",
            "ragbench/peek.py": "from ragbench.sub.mod import _hidden\n",
            "ragbench/sub/__init__.py": "",
            "ragbench/sub/mod.py": "_hidden = 1\n",
            "ragbench/a.py": "def f():\n    from ragbench import b\n",
            "ragbench/b.py": "from ragbench.a import f\n",
            "indexers/__init__.py": "",
            "indexers/bm25.py": "thing = 1\nimport rankers.lm\n",
            "rankers/__init__.py": "",
            "rankers/lm.py": "import os\nos.environ.setdefault('HF_HUB_OFFLINE', '1')\n",
        },
    )
    found = {(v.path, v.line, v.rule) for v in check(tmp_path)}
    assert found == {
        ("ragbench/core.py", 2, "core"),
        ("ragbench/core.py", 3, "heavy"),
        ("ragbench/core.py", 4, "environ"),
        ("ragbench/peek.py", 1, "private"),
        ("indexers/bm25.py", 2, "indexers"),
        ("rankers/lm.py", 2, "environ"),
        ("ragbench/a.py", 1, "circle"),
    }


def test_what_the_rules_allow(tmp_path: Path) -> None:
    _plant(
        tmp_path,
        {
            "ragbench/__init__.py": "",
            "ragbench/lazy.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\n"
            "def f():\n    import os, torch\n    os.environ['X'] = '1'\n",
            "ragbench/pkg/__init__.py": "from ragbench.pkg._impl import thing\n",
            "ragbench/pkg/_impl.py": "from ragbench.pkg._other import _x as thing\n",
            "ragbench/pkg/_other.py": "_x = 1\n",
            "ragbench/store/__init__.py": "import sqlalchemy\n",
            "ragbench/cli/__init__.py": "def main():\n    import indexers.bm25\n",
            "indexers/__init__.py": "",
            "indexers/bm25.py": "",
            "rankers/__init__.py": "import indexers.bm25\n",
        },
    )
    assert check(tmp_path) == []
