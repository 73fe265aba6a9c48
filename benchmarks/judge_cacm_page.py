"""The judge leaderboard of CACM as the service shows it (not a test).

    python benchmarks/judge_cacm_page.py --runs DIR --judged LLM_QRELS [--out benchmarks/results/judge_cacm_page.html]

A scratch SQLite database gets the CACM benchmark (its human qrels), the demo's four runs and the
LLM qrels ``ragbench judge --all`` wrote (with their provenance sidecar); the judge leaderboard page
is rendered by the real app (Litestar's test client) and saved, and its figures are printed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACM = HERE.parent.parent / "shared" / "data" / "cacm"
RUNS = ("bm25.run", "bm25-rm3.run", "dense.run", "hybrid.run")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument(
        "--judged", type=Path, required=True, help="qrels from ragbench judge --all (with sidecar)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "judge_cacm_page.html")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="judge-page-"))
    os.environ["RAGBENCH_DATABASE_URL"] = f"sqlite:///{home / 'db.sqlite'}"
    from litestar.testing import TestClient

    from api.app import create_app
    from ragbench.settings import get_settings
    from ragbench.store import service
    from ragbench.store.db import make_engine, session_factory, upgrade

    get_settings.cache_clear()
    upgrade(os.environ["RAGBENCH_DATABASE_URL"])
    factory = session_factory(make_engine(os.environ["RAGBENCH_DATABASE_URL"]))
    with factory() as s, s.begin():
        admin = service.create_user(s, "admin", role="admin")
        service.create_benchmark(
            s, admin, "cacm", qrels_text=(CACM / "qrels.cacm.txt").read_text(),
            topics_text=(CACM / "topics.cacm.txt").read_text(), corpus_ref=str(CACM / "cacm.jsonl"),
            measures=["nDCG@10", "AP", "P@10"],
        )  # fmt: skip
    for name in RUNS:
        with factory() as s, s.begin():
            admin = service.user_by_name(s, "admin")
            service.submit_run(
                s, admin, "cacm", (args.runs / name).read_bytes(), name=name.removesuffix(".run")
            )
    with factory() as s, s.begin():
        admin = service.user_by_name(s, "admin")
        sidecar = Path(f"{args.judged}.provenance.jsonl").read_text()
        service.add_judged_qrels(s, admin, "cacm", sidecar)
    with factory() as s:
        for row in service.judge_board(s, "cacm", service.user_by_name(s, "admin")):
            print(row)
    with TestClient(app=create_app()) as client:
        page = client.get("/benchmarks/cacm/judges")
        board = client.get("/benchmarks/cacm", params={"qrels": "llm"})
    assert page.status_code == 200 and board.status_code == 200, (page.text[:500], board.text[:500])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page.text)
    print(f"{args.out}: written")


if __name__ == "__main__":
    main()
