"""Judge prompts (placeholders checked) and the strict grade parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragbench.errors import InputError
from rankers.judges.prompts import load_prompt, parse_grade
from rankers.judges.relevance import mode_grade


@pytest.mark.parametrize(
    ("reply", "grade"),
    [
        ("2", 2),
        (" 3.\n", 3),
        ("The passage is about sorting.\nGrade: 1", 1),
        ("**Grade:** 0", 0),
        ("Final score = 2", 2),
        ("Grade: 2\nGrade: 2", 2),
        ("grade: 3", 3),
        ("Grade: 5", None),  # off the scale
        ("4", None),
        ("Grade: 1\nGrade: 2", None),  # two grades that disagree
        ("It is relevant, 2 out of 3.", None),  # a number in the text is not a grade
        ("I think 3", None),
        ("", None),
        ("Relevant.", None),
    ],
)
def test_parse_grade_is_strict(reply: str, grade: int | None) -> None:
    assert parse_grade(reply) == grade


def test_builtin_prompts_render_and_files_need_both_placeholders(tmp_path: Path) -> None:
    umbrela = load_prompt("umbrela")
    text = umbrela.render("time sharing {passage}", "A passage about {query} and {{braces}}.")
    assert "time sharing {passage}" in text and "A passage about {query} and {{braces}}." in text
    assert text.rstrip().endswith("where N is 0, 1, 2 or 3.")
    assert load_prompt("basic").sha256 != umbrela.sha256
    good = tmp_path / "good.txt"
    good.write_text("Q: {query}\nP: {passage}\nUse {{json}}. Grade: N")
    assert load_prompt(str(good)).render("q", "p") == "Q: q\nP: p\nUse {json}. Grade: N"
    missing = tmp_path / "missing.txt"
    missing.write_text("Judge this: {query}")
    with pytest.raises(InputError, match=r"missing.txt: the prompt must contain .* \{passage\} missing"):
        load_prompt(str(missing))
    unknown = tmp_path / "unknown.txt"
    unknown.write_text("{query} {passage} {doc}")
    with pytest.raises(InputError, match=r"unknown placeholder \{doc\}"):
        load_prompt(str(unknown))
    with pytest.raises(InputError, match="neither umbrela nor basic nor a prompt file"):
        load_prompt(str(tmp_path / "nope.txt"))


def test_the_mode_of_samples_and_its_tie_rule() -> None:
    assert mode_grade([2, 2, 1]) == 2
    assert mode_grade([3, 1, None, None]) == 1  # a tie goes to the lowest; failures do not vote
    assert mode_grade([None, None]) is None
