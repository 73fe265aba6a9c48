"""Statistics for comparing retrieval runs: paired tests, corrections, bootstrap CIs, tiers; and
for the arena: Bradley–Terry ratings with clustered bootstrap intervals, style control, rater
agreement and agreement between arena and offline rankings.

Everything works on per-topic scores of paired systems (same topics, same order) and needs only
numpy and scipy; pandas is imported only to read or produce a DataFrame.

Paired tests return a two-sided p-value; each is also in the :data:`STAT_TESTS` registry::

    paired_randomization(a, b, trials=10_000, seed=0)   # "randomization"
    paired_ttest(a, b)                                  # "ttest"
    paired_wilcoxon(a, b, zero_method="wilcox")         # "wilcoxon"
    paired_bootstrap(a, b, trials=10_000, seed=0)       # "bootstrap"

:func:`compare` runs them over many runs and measures with a multiple-comparison correction and
returns a :class:`ComparisonReport`; :func:`significance_tiers` groups a leaderboard into tiers.

Across a suite of benchmarks: :func:`aggregate_suite` (per-benchmark CIs and tiers, the mean over
systems covering every benchmark, Borda ranks with an explicit missing policy via :func:`borda`,
Friedman's test with a Nemenyi or Holm-Wilcoxon post-hoc via :func:`friedman`, and DerSimonian–Laird
meta-analyses via :func:`random_effects`).
"""

from ragbench.stats._agreement import (
    LabelAgreement,
    RankingAgreement,
    cohen_kappa,
    confusion,
    krippendorff_alpha,
    label_agreement,
    ranking_agreement,
)
from ragbench.stats._arena import ArenaRatings, SystemRating, WinMatrix, arena_ratings, interval_ranks
from ragbench.stats._bootstrap import CI_METHODS, ConfidenceInterval, bootstrap_ci, paired_bootstrap
from ragbench.stats._borda import BORDA_POLICIES, BordaEntry, BordaResult, borda
from ragbench.stats._bradley_terry import fit_bradley_terry, mle_exists, pair_table, to_rating
from ragbench.stats._compare import PairComparison, compare
from ragbench.stats._correction import CORRECTIONS, Correction, correct
from ragbench.stats._correlation import COEFFICIENTS, Correlation, correlate
from ragbench.stats._effect import TIE_TOLERANCE, WinsTiesLosses, cohens_d, wins_ties_losses
from ragbench.stats._friedman import POSTHOCS, FriedmanResult, PairDifference, friedman
from ragbench.stats._meta import MetaAnalysis, MetaStudy, paired_effect, paired_meta_analysis, random_effects
from ragbench.stats._randomization import paired_randomization
from ragbench.stats._ranking_agreement import (
    OfflineAgreement,
    VoteAgreement,
    offline_agreement,
    vote_agreement,
)
from ragbench.stats._rater_agreement import RaterAgreement, rater_agreement
from ragbench.stats._report import ComparisonReport
from ragbench.stats._scores import MISSING_POLICIES, PerTopicScores, ScoreTable, to_score_table
from ragbench.stats._style_control import Coefficient, StyleControlled, style_control
from ragbench.stats._suite import (
    AGGREGATION_DEFAULTS,
    SuiteAggregate,
    SuiteCell,
    SuiteRow,
    aggregate_suite,
    aggregation_problem,
    aggregation_settings,
)
from ragbench.stats._tests import STAT_TESTS, StatTest, get_test, paired_ttest, paired_wilcoxon, significance
from ragbench.stats._tiers import TierEntry, significance_tiers

__all__ = (
    "AGGREGATION_DEFAULTS",
    "BORDA_POLICIES",
    "CI_METHODS",
    "COEFFICIENTS",
    "CORRECTIONS",
    "MISSING_POLICIES",
    "POSTHOCS",
    "STAT_TESTS",
    "TIE_TOLERANCE",
    "ArenaRatings",
    "BordaEntry",
    "BordaResult",
    "Coefficient",
    "ComparisonReport",
    "ConfidenceInterval",
    "Correction",
    "Correlation",
    "FriedmanResult",
    "LabelAgreement",
    "MetaAnalysis",
    "MetaStudy",
    "OfflineAgreement",
    "PairComparison",
    "PairDifference",
    "PerTopicScores",
    "RankingAgreement",
    "RaterAgreement",
    "ScoreTable",
    "StatTest",
    "StyleControlled",
    "SuiteAggregate",
    "SuiteCell",
    "SuiteRow",
    "SystemRating",
    "TierEntry",
    "VoteAgreement",
    "WinMatrix",
    "WinsTiesLosses",
    "aggregate_suite",
    "aggregation_problem",
    "aggregation_settings",
    "arena_ratings",
    "bootstrap_ci",
    "borda",
    "cohen_kappa",
    "cohens_d",
    "compare",
    "confusion",
    "correct",
    "correlate",
    "fit_bradley_terry",
    "friedman",
    "get_test",
    "interval_ranks",
    "krippendorff_alpha",
    "label_agreement",
    "mle_exists",
    "offline_agreement",
    "pair_table",
    "paired_bootstrap",
    "paired_effect",
    "paired_meta_analysis",
    "paired_randomization",
    "paired_ttest",
    "paired_wilcoxon",
    "random_effects",
    "ranking_agreement",
    "rater_agreement",
    "significance",
    "significance_tiers",
    "style_control",
    "to_rating",
    "to_score_table",
    "vote_agreement",
    "wins_ties_losses",
)
