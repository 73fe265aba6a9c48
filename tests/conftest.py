"""Test layers are chosen by directory (unit/, integration/, e2e/) and marked automatically."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.paths import SHARED

# Before any test imports Ray: its SIGSEGV handler would crash a process that also runs the JVM
# (see ragbench/jobs/__init__.py).
os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")

ROOT = Path(__file__).parent
LAYERS = {"unit", "integration", "e2e"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path))
        parts = path.relative_to(ROOT).parts if path.is_relative_to(ROOT) else ()
        if parts and parts[0] in LAYERS:
            item.add_marker(getattr(pytest.mark, parts[0]))


@pytest.fixture(scope="session")
def trec_eval_data() -> Path:
    """trec_eval 10.0's own test files (../shared/data/trec_eval); skips when absent."""
    path = SHARED / "data" / "trec_eval"
    if not path.is_dir():
        pytest.skip("../shared/data/trec_eval is not beside this checkout")
    return path


@pytest.fixture(scope="session")
def cacm_data() -> Path:
    """The CACM collection (../shared/data/cacm: cacm.jsonl, topics.cacm.txt, qrels.cacm.txt)."""
    path = SHARED / "data" / "cacm"
    if not (path / "cacm.jsonl").is_file():
        pytest.skip("../shared/data/cacm is not beside this checkout")
    return path


@pytest.fixture(scope="session")
def smollm2():  # -> rankers.lm.LoadedLM (imported lazily: torch loads only for tests that ask)
    """The packaged SmolLM2-135M-Instruct on CPU in float32 (converted from GGUF on first use)."""
    pytest.importorskip("torch")
    from rankers.lm import load_lm

    return load_lm(device="cpu")


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """The converted SmolLM2 directory under the models folder (converted on first use)."""
    pytest.importorskip("transformers")
    from rankers.lm import resolve_lm

    return resolve_lm(None)[0]


@pytest.fixture(scope="session")
def served_smollm2(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory):  # -> base URL
    """A real ``transformers serve`` of the converted SmolLM2 on the loopback, one per test session:
    yields ``(base_url, model_id)`` for the ``openai`` backend. Skips without ``transformers[serving]``."""
    pytest.importorskip("fastapi")
    from support.lm_server import transformers_serve

    with transformers_serve(smollm2_dir, tmp_path_factory.mktemp("serve") / "serve.log") as url:
        yield url, str(smollm2_dir)
