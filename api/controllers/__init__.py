"""REST controllers under ``/api/v1``: thin handlers that call the store service and convert."""

from api.controllers.arena import ArenaController
from api.controllers.benchmarks import BenchmarkController
from api.controllers.compare import CompareController
from api.controllers.leaderboard import LeaderboardController
from api.controllers.runs import RunController

__all__ = (
    "ArenaController",
    "BenchmarkController",
    "CompareController",
    "LeaderboardController",
    "RunController",
)
