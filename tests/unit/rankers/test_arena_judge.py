"""The LM arena judge's protocol: strict reading, both orders, position-inconsistent pairs as ties."""

from __future__ import annotations

from rankers.arena_judge import combine, conversation, parse


def test_parse_is_strict() -> None:
    assert parse("1") == "first" and parse(" 2.") == "second" and parse("Tie") == "tie"
    assert parse('"1" because it cites more') == "first" and parse("The answer is 1.") == "first"
    assert parse("1. The first is better") == "first" and parse("2, clearly; 2") == "second"
    for bad in ("", "12", "first", "tied", "Response 1 is worse than 2", "1 or tie", "1.5", "v2"):
        assert parse(bad) is None, bad


def test_both_orders_must_agree() -> None:
    # in_order saw a first; swapped saw b first.
    assert combine("first", "second") == ("a", True)  # a both times
    assert combine("second", "first") == ("b", True)  # b both times
    assert combine("tie", "tie") == ("tie", True)
    assert combine("first", "first") == ("tie", False)  # always the first shown: position bias
    assert combine("second", "second") == ("tie", False)
    assert combine("first", "tie") == ("tie", False)


def test_conversation_shows_both_sides_in_the_order_given() -> None:
    ranking = {"kind": "ranking", "items": [{"rank": 1, "doc_id": "D1", "title": "T", "text": "body"}]}
    answer = {"kind": "answer", "text": "An answer.", "passages": [{"id": "p1", "text": "passage"}]}
    chat = conversation("q?", "evidence", ranking, answer)
    assert [m["role"] for m in chat] == ["system", "user"]
    user = chat[1]["content"]
    assert user.index("1. [D1] T body") < user.index("An answer.") and "[p1] passage" in user
    assert "Which result list better serves the query?" in user
