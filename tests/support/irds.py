"""A scratch ir_datasets cache holding Cranfield, filled from ../shared/data/cranfield (no network).

ir_datasets fixes each dataset's cache path when ``ir_datasets`` is first imported, from
``IR_DATASETS_HOME``; so the variable is set once per test session, before that import
(``tests/unit/formats/conftest.py``), and every test reads the same scratch cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.paths import SHARED

CRANFIELD = SHARED / "data" / "cranfield"
FILES = (("cran.all.1400", "docs.txt"), ("cran.qry", "queries.txt"), ("cranqrel", "qrels.txt"))
"""ir_datasets/datasets/cranfield.py caches the files of cran.tar.gz under these names."""


def fill_cranfield_cache(home: Path) -> Path:
    """Put Cranfield where ir_datasets (home ``home``) looks for it; skips when it cannot."""
    if not (CRANFIELD / "cran.all.1400").is_file():
        pytest.skip("../shared/data/cranfield is not beside this checkout")
    pytest.importorskip("ir_datasets")
    from ir_datasets.util import home_path

    cache = home_path() / "cranfield"
    if not cache.is_relative_to(home):
        pytest.skip("ir_datasets was imported before IR_DATASETS_HOME could point at a scratch cache")
    cache.mkdir(parents=True, exist_ok=True)
    for source, target in FILES:
        (cache / target).write_bytes((CRANFIELD / source).read_bytes())
    return cache
