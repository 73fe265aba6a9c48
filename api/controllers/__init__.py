"""REST controllers under ``/api/v1``: thin handlers that call the store service and convert."""

from api.controllers.arena import ArenaController
from api.controllers.benchmarks import BenchmarkController
from api.controllers.compare import CompareController
from api.controllers.judging import JudgingController
from api.controllers.leaderboard import LeaderboardController
from api.controllers.runs import RunController
from api.controllers.suites import SuiteController
from api.controllers.tokens import TokenController

__all__ = (
    "ArenaController",
    "BenchmarkController",
    "CompareController",
    "JudgingController",
    "LeaderboardController",
    "RunController",
    "SuiteController",
    "TokenController",
)
