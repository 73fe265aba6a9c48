"""A scratch ir_datasets home for the session (see support.irds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def irds_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``IR_DATASETS_HOME`` pointing at an empty scratch folder for the whole session."""
    home = tmp_path_factory.mktemp("ir_datasets")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IR_DATASETS_HOME", str(home))
        yield home
