"""LLM-judged qrels in the store: versions with provenance, leaderboard views, judge jobs on the
worker (with a deterministic judge function: the LM judges are tested in tests/integration/cli),
and the judge leaderboard's figures against scikit-learn and scipy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy.stats import kendalltau
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import select

from ragbench.errors import InputError, PermissionDenied
from ragbench.formats.judgments import LabelRecord, sidecar_text
from ragbench.store import service
from ragbench.store.models import JudgeJob, LLMLabel, QrelsOrigin, QrelsVersion

TOPICS = "1\ttime sharing\n2\tsorting algorithms\n3\tcompilers\n"
HUMAN = {
    "1": {"d1": 1, "d2": 0, "d3": 1, "d4": 0},
    "2": {"d5": 1, "d6": 0, "d7": 1},
    "3": {"d8": 1, "d9": 0, "d10": 0},
}


def qrels_of(labels: dict[str, dict[str, int]]) -> str:
    return "".join(f"{q} 0 {d} {g}\n" for q, ds in labels.items() for d, g in ds.items())


def run_text(order: dict[str, list[str]], tag: str) -> str:
    return "".join(
        f"{q} Q0 {d} {rank} {20 - rank} {tag}\n"
        for q, docs in order.items()
        for rank, d in enumerate(docs, 1)
    )


RUNS = {
    "good": {"1": ["d1", "d3", "u1", "d2"], "2": ["d5", "d7", "u2"], "3": ["d8", "u3", "d9"]},
    "holey": {"1": ["u1", "u4", "u5", "d1"], "2": ["u2", "u6", "d5"], "3": ["u3", "u7", "u8"]},
    "mid": {"1": ["d2", "d1", "u4"], "2": ["d6", "u6", "d5"], "3": ["d9", "d8", "u7"]},
}


@pytest.fixture
def judged_benchmark(factory, users, tmp_path: Path):
    corpus = tmp_path / "corpus.jsonl"
    docs = {f"d{i}" for i in range(1, 11)} | {f"u{i}" for i in range(1, 9)}
    corpus.write_text(
        "".join(
            json.dumps({"id": d, "contents": f"text of {d} " * (3 + len(d))}) + "\n" for d in sorted(docs)
        )
    )
    with factory() as s, s.begin():
        service.create_benchmark(
            s, users["root"], "jb", qrels_text=qrels_of(HUMAN), topics_text=TOPICS, corpus_ref=str(corpus),
            measures=["P@3", "nDCG@10"],
        )  # fmt: skip
    ids = {}
    for name, order in RUNS.items():
        with factory() as s, s.begin():
            ids[name] = service.submit_run(
                s, users["alice"], "jb", run_text(order, name).encode(), name=name
            ).id
    return ids


def sidecar_for(llm: dict[tuple[str, str], int | None], human: bool) -> str:
    records = (
        [LabelRecord(q, d, g, "human") for q, ds in HUMAN.items() for d, g in ds.items()] if human else []
    )
    records += [
        LabelRecord(
            q,
            d,
            g,
            "llm",
            {"model": "m", "prompt": "basic", "prompt_hash": "h"},
            None if g is not None else "no grade",
        )
        for (q, d), g in llm.items()
    ]
    return sidecar_text(records, {"judge": {"judge": "m + basic", "model": "m", "prompt": "basic"}})


FILL = {("1", "u1"): 2, ("1", "u4"): 0, ("1", "u5"): 1, ("2", "u2"): 3, ("2", "u6"): None, ("3", "u3"): 1}


def test_filled_qrels_keep_provenance_and_the_leaderboard_never_mixes_silently(
    factory,
    users,
    judged_benchmark,
) -> None:
    with factory() as s, s.begin(), pytest.raises(PermissionDenied):
        service.add_judged_qrels(s, users["alice"], "jb", sidecar_for(FILL, human=True))
    with factory() as s, s.begin():
        version = service.add_judged_qrels(s, users["root"], "jb", sidecar_for(FILL, human=True))
        assert (version.version, version.label_source) == (2, "llm")
        origin = s.get(QrelsOrigin, version.id)
        assert origin.label_sources == "mixed" and origin.judge["judge"] == "m + basic"
        labels = service.label_provenance(s, version)
        assert labels[("1", "u1")].relevance == 2 and labels[("1", "u1")].provenance["prompt_hash"] == "h"
        assert labels[("2", "u6")].relevance is None and labels[("2", "u6")].failure == "no grade"
        assert version.num_judgments == 10 + 5  # human labels + LLM labels; the failure has no line
    with factory() as s:
        human = service.leaderboard(s, "jb", "P@3")
        filled = service.leaderboard(s, "jb", "P@3", qrels="filled")
        with pytest.raises(InputError, match="no llm qrels"):
            service.leaderboard(s, "jb", "P@3", qrels="llm")
    assert (human.qrels_view, human.qrels_version, filled.qrels_view, filled.qrels_version) == (
        "human",
        1,
        "filled",
        2,
    )
    assert human.views == ("human", "filled")
    rows = {r.system_name: r for r in filled.rows}
    # the holey run's top 3: human: only d5 (topic 2) is relevant; filled: u1, u5 | u2, d5 | u3
    assert {r.system_name: r.value for r in human.rows}["holey"] == pytest.approx((0 + 1 / 3 + 0) / 3)
    assert rows["holey"].value == pytest.approx((2 / 3 + 2 / 3 + 1 / 3) / 3)
    # LLM share of the top 10, computed here: LLM-labelled documents among each run's top
    # min(10, retrieved) documents (Judged@10's denominator), averaged over topics
    llm_pairs = {k for k, g in FILL.items() if g is not None}
    for name, order in RUNS.items():
        top = {q: docs[:10] for q, docs in order.items()}
        share = sum(sum((q, d) in llm_pairs for d in docs) / len(docs) for q, docs in top.items()) / 3
        judged = sum(sum(d in HUMAN[q] for d in docs) / len(docs) for q, docs in top.items()) / 3
        assert rows[name].llm_share_at_10 == pytest.approx(share)
        assert rows[name].human_judged_at_10 == pytest.approx(judged)
        assert rows[name].llm_badge == (share > 0.2)
    assert rows["holey"].llm_share_at_10 > rows["good"].llm_share_at_10 > rows["mid"].llm_share_at_10
    assert rows["holey"].llm_badge and not rows["mid"].llm_badge
    assert all(r.llm_share_at_10 is None for r in human.rows)

    # a run submitted now is scored under both views
    with factory() as s, s.begin():
        late = service.submit_run(
            s, users["bob"], "jb", run_text({"1": ["u1", "d1"]}, "late").encode(), name="late"
        )
    with factory() as s:
        assert late.id in {r.run_id for r in service.leaderboard(s, "jb", "P@3").rows}
        assert late.id in {r.run_id for r in service.leaderboard(s, "jb", "P@3", qrels="filled").rows}
    with factory() as s, s.begin(), pytest.raises(InputError, match="no LLM label"):
        service.add_judged_qrels(s, users["root"], "jb", sidecar_for({}, human=True))


def fake_judge(config, pairs, progress):
    """A deterministic judge: grade = the document number mod 4; u8 fails."""
    from rankers.judges.relevance import Judgment

    found = []
    for q, _, d, passage in pairs:
        assert passage.startswith(f"text of {d}")
        label = None if d == "u8" else int(d[1:]) % 4
        found.append(Judgment(q, d, label, "no grade" if label is None else None, {"model": config["model"]}))
        progress(1)
    return found, {"judge": f"{config['model']} + umbrela", "model": config["model"]}


def test_a_judge_job_fills_the_holes_on_the_worker(factory, users, judged_benchmark) -> None:
    with factory() as s, s.begin():
        with pytest.raises(InputError, match="unknown judge option api_key"):
            service.request_judging(s, users["root"], "jb", {"api_key": "sk-x"})
        with pytest.raises(InputError, match="built-in prompt"):
            service.request_judging(s, users["root"], "jb", {"prompt": "/etc/passwd"})
        job = service.request_judging(s, users["root"], "jb", {"model": "fake", "depth": 3})
        job_id = job.id
    assert service.process_judge_jobs(factory, fake_judge) == 1
    with factory() as s:
        job = s.get(JudgeJob, job_id)
        assert job.status == "done", job.error
        # holes in the runs' top 3: u1 u4 u5 (1), u2 u6 (2), u3 u7 u8 (3)
        assert (job.done, job.total) == (8, 8) and job.counts == {"pairs": 8, "llm_labels": 7, "failures": 1}
        version = s.get(QrelsVersion, job.result_version_id)
        assert s.get(QrelsOrigin, version.id).label_sources == "mixed"
        labels = {
            (r.query_id, r.doc_id): r.relevance
            for r in s.scalars(select(LLMLabel).where(LLMLabel.qrels_version_id == version.id))
        }
        assert labels == {("1", "u1"): 1, ("1", "u4"): 0, ("1", "u5"): 1, ("2", "u2"): 2, ("2", "u6"): 2,
                          ("3", "u3"): 3, ("3", "u7"): 3, ("3", "u8"): None}  # fmt: skip
        assert service.leaderboard(s, "jb", "P@3", qrels="filled").qrels_version == version.version

    def broken(config, pairs, progress):
        raise InputError("http://127.0.0.1:9/v1/chat/completions: cannot connect")

    with factory() as s, s.begin():
        job_id = service.request_judging(s, users["root"], "jb", {"model": "fake"}).id
    assert service.process_judge_jobs(factory, broken) == 1
    with factory() as s:
        job = s.get(JudgeJob, job_id)
        assert job.status == "failed" and "cannot connect" in job.error and job.result_version_id is None


def test_the_judge_leaderboard_figures(factory, users, judged_benchmark) -> None:
    # an LLM-only judge of every human pair, agreeing on most
    llm = {
        (q, d): (g if (q, d) not in {("1", "d2"), ("3", "d10")} else 1 - g)
        for q, ds in HUMAN.items()
        for d, g in ds.items()
    }
    with factory() as s, s.begin():
        service.add_judged_qrels(s, users["root"], "jb", sidecar_for(llm, human=False))
    with factory() as s:
        (row,) = service.judge_board(s, "jb", None, "P@3")
        board_h = {r.run_id: r.value for r in service.leaderboard(s, "jb", "P@3").rows}
        board_l = {r.run_id: r.value for r in service.leaderboard(s, "jb", "P@3", qrels="llm").rows}
    pairs = [(g, llm[(q, d)]) for q, ds in HUMAN.items() for d, g in ds.items()]
    assert row.pairs == 10 and row.llm_labels == 10 and row.label_sources == "llm"
    assert row.kappa == pytest.approx(cohen_kappa_score([a for a, _ in pairs], [b for _, b in pairs]))
    ids = sorted(board_h)
    assert row.kendall_tau == pytest.approx(
        kendalltau([board_h[i] for i in ids], [board_l[i] for i in ids]).statistic
    )
    assert row.runs == 3 and row.kendall_ci is not None
    with factory() as s, s.begin():
        service.set_hidden(s, users["root"], "jb", True)
    with factory() as s:
        (hidden,) = service.judge_board(s, "jb", users["alice"], "P@3")
        (admin,) = service.judge_board(s, "jb", users["root"], "P@3")
    assert hidden.kappa is None and hidden.kendall_tau is None and hidden.llm_labels == 10
    assert admin.kappa == pytest.approx(row.kappa)
