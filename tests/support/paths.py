"""Where the tests' files are: fixtures in tests/fixtures, data in ../shared beside the checkout."""

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
FIXTURES = TESTS / "fixtures"
SHARED = REPO.parent / "shared"
"""../shared beside the clone: trec_eval's test suite, CACM, Cranfield. CI has it; users' machines do not."""
CACM = SHARED / "data" / "cacm"
