"""A trec_eval-compatible command: ``main(["-q", "-m", "all_trec", QRELS, RUN], sys.stdout)``.

Options are trec_eval 10.0's (GNU ``getopt_long`` rules: clustered flags, attached or separate
values, options after the file names, unambiguous prefixes of the long names):

``-q`` per-topic lines, ``-m measure[.params]`` (repeatable; default ``official``), ``-c``
average over every qrels topic, ``-n`` no summary, ``-l N`` relevance level, ``-M N`` documents
per topic, ``-J`` judged documents only, ``-N N`` collection size (``utility``), ``-Z FILE``
z-scores, ``-R qrels`` and ``-T trec_results`` (the only formats supported), ``-h``, ``-v``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

from ragbench.errors import InputError
from ragbench.evaluation.prepare import prepare
from ragbench.evaluation.trec_eval._evaluate import evaluate_trec, select_measures, to_zscores
from ragbench.evaluation.trec_eval._output import format_report
from ragbench.evaluation.trec_eval._params import c_strtol
from ragbench.evaluation.trec_eval._zscores import read_zscores
from ragbench.formats.trec import read_qrels, read_run

__all__ = ["USAGE", "main"]

VERSION = "10.0"
USAGE = """Usage: trec_eval [-h] [-q] {-m measure}* trec_rel_file trec_top_file
   -h: Give full help information, including other options
   -q: In addition to summary evaluation, give evaluation for each query
   -m: calculate and print measures indicated by 'measure'
       ('-m all_qrels' prints all qrels measures, '-m official' is default)
"""

HELP = """trec_eval [-h] [-q] [-m measure[.params] [-c] [-n] [-l <num>]
   [-N <num>] [-M <num>] [-J] [-R rel_format] [-T results_format] [-Z zscore_file]
   rel_info_file  results_file

Calculate and print trec_eval 10.0 evaluation measures of results_file ('-' reads standard
input) against the relevance judgments in rel_info_file (ragbench reimplementation).

 -q: print the measures of each topic as well as the summary.
 -m measure[.params]: add measure (or a set: official, all_trec, set) to those printed;
    parameters follow the first '.', e.g. -m P.5,10  -m ndcg.1=3,2=9  -m iprec_at_recall..1,.2
 -c: average over every topic of the qrels; topics the run lacks count as empty rankings.
 -n: no summary.
 -l <num>: least judgment value counted as relevant (default 1).
 -N <num>: number of documents in the collection (utility's fourth coefficient).
 -M <num>: evaluate only the first <num> documents of each topic.
 -J: evaluate only judged documents (unjudged ones are removed first). DO NOT USE lightly.
 -R format: relevance format; only 'qrels' (prefs, qrels_prefs, qrels_jg are not supported).
 -T format: results format; only 'trec_results'.
 -Z file: print z-scores against the 'query_id measure mean stddev' lines of file.
 -v: print the version.
"""

_SHORT_WITH_VALUE = set("mlDNMRTZ")
_SHORT_FLAGS = set("hvqcnJo")
_LONG = {
    "help": ("h", False),
    "version": ("v", False),
    "query_eval_wanted": ("q", False),
    "measure": ("m", True),
    "complete_rel_info_wanted": ("c", False),
    "level_for_rel": ("l", True),
    "nosummary": ("n", False),
    "Debug_level": ("D", True),
    "Judged_docs_only": ("J", False),
    "Number_docs_in_coll": ("N", True),
    "Max_retrieved_per_topic": ("M", True),
    "Rel_info_format": ("R", True),
    "Results_format": ("T", True),
    "Output_old_results_format": ("o", True),
    "Zscore": ("Z", True),
}


@dataclass
class Options:
    """Parsed command line."""

    per_query: bool = False
    measures: list[str] = field(default_factory=list)
    complete: bool = False
    summary: bool = True
    relevance_level: int = 1
    num_docs_in_coll: int = 0
    max_docs: int | None = None
    judged_only: bool = False
    rel_format: str = "qrels"
    results_format: str = "trec_results"
    zscores: str | None = None
    help: bool = False
    version: bool = False
    files: list[str] = field(default_factory=list)


def _apply(opts: Options, key: str, value: str | None) -> None:
    if key == "h":
        opts.help = True
    elif key == "v":
        opts.version = True
    elif key == "q":
        opts.per_query = True
    elif key == "m":
        opts.measures.append(value or "")
    elif key == "c":
        opts.complete = True
    elif key == "l":
        opts.relevance_level = c_strtol(value or "")
    elif key == "n":
        opts.summary = False
    elif key == "D":
        raise InputError("trec_eval: -D (debug output) is not supported by this implementation")
    elif key == "J":
        opts.judged_only = True
    elif key == "N":
        opts.num_docs_in_coll = c_strtol(value or "")
    elif key == "M":
        opts.max_docs = c_strtol(value or "")
    elif key == "R":
        opts.rel_format = value or ""
    elif key == "T":
        opts.results_format = value or ""
    elif key == "Z":
        opts.zscores = value


def _long_option(opts: Options, arg: str, rest: list[str]) -> None:
    name, eq, value = arg[2:].partition("=")
    matches = [k for k in _LONG if k.startswith(name)]
    exact = [k for k in matches if k == name]
    if len(exact) == 1:
        matches = exact
    if len(matches) != 1:
        kind = "ambiguous" if matches else "unrecognized"
        raise InputError(f"trec_eval: {kind} option '--{name}'\n{USAGE}")
    key, takes_value = _LONG[matches[0]]
    if takes_value and not eq:
        if not rest:
            raise InputError(f"trec_eval: option '--{matches[0]}' requires an argument\n{USAGE}")
        value = rest.pop(0)
    elif not takes_value and eq:
        raise InputError(f"trec_eval: option '--{matches[0]}' doesn't allow an argument\n{USAGE}")
    _apply(opts, key, value if takes_value else None)


def parse_args(argv: list[str]) -> Options:
    """trec_eval's options, GNU ``getopt_long`` style (options may follow the file names).

    Raises:
        InputError: an unknown option or a missing option value (with the usage text).
    """
    opts = Options()
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            opts.files.extend(rest)
            break
        if arg.startswith("--"):
            _long_option(opts, arg, rest)
        elif arg.startswith("-") and arg != "-":
            i = 1
            while i < len(arg):
                key = arg[i]
                if key in _SHORT_WITH_VALUE:
                    value = arg[i + 1 :]
                    if not value:
                        if not rest:
                            raise InputError(f"trec_eval: option requires an argument -- '{key}'\n{USAGE}")
                        value = rest.pop(0)
                    _apply(opts, key, value)
                    break
                if key not in _SHORT_FLAGS:
                    raise InputError(f"trec_eval: invalid option -- '{key}'\n{USAGE}")
                _apply(opts, key, None)
                i += 1
        else:
            opts.files.append(arg)
    return opts


def _check_formats(opts: Options) -> None:
    if opts.rel_format in ("prefs", "qrels_prefs", "qrels_jg"):
        raise InputError(
            f"trec_eval: rel_info format '{opts.rel_format}' (preference / judgment-group measures) is not "
            "supported by ragbench; only '-R qrels' is"
        )
    if opts.rel_format != "qrels":
        raise InputError(f"trec_eval: Illegal rel_format '{opts.rel_format}' (only 'qrels' is supported)")
    if opts.results_format != "trec_results":
        raise InputError(
            f"trec_eval: Illegal retrieval results format '{opts.results_format}' (only 'trec_results')"
        )


def main(argv: list[str], out: TextIO) -> int:
    """Run trec_eval on ``argv`` (without the program name), writing its report to ``out``.

    Returns:
        0 on success (also after ``-h``/``-v``).

    Raises:
        InputError: bad options, unsupported formats, unknown measures (a ``MeasureError``),
            unreadable or malformed files (a ``FormatError``), or no topic with both results
            and judgments.
    """
    opts = parse_args(argv)
    if opts.help:
        out.write(HELP)
        return 0
    if opts.version:
        sys.stderr.write(f"trec_eval version {VERSION} (ragbench)\n")
        return 0
    if len(opts.files) != 2:
        raise InputError(f"trec_eval: expected a rel_info_file and a results_file\n{USAGE}")
    _check_formats(opts)
    selected = select_measures(opts.measures)  # fail on bad measures before reading files
    del selected
    qrels_path, run_path = opts.files
    qrels = read_qrels(qrels_path)
    run = read_run(sys.stdin.buffer.read(), name="<stdin>") if run_path == "-" else read_run(run_path)
    zscores = read_zscores(opts.zscores) if opts.zscores is not None else None
    prepared = prepare(
        qrels,
        run,
        relevance_level=opts.relevance_level,
        complete=opts.complete,
        max_docs=opts.max_docs,
        judged_only=opts.judged_only,
    )
    if prepared.num_topics == 0:
        raise InputError("trec_eval: No queries with both results and relevance info")
    run_topics = {run.strings[c] for c in np.unique(run.query).tolist()}
    absent = np.fromiter(
        (q not in run_topics for q in prepared.query_ids), dtype=bool, count=prepared.num_topics
    )
    placeholder_ranked = not opts.judged_only and (opts.max_docs is None or opts.max_docs >= 1)
    result = evaluate_trec(
        prepared,
        opts.measures,
        absent=absent,
        placeholder_ranked=placeholder_ranked,
        num_docs_in_coll=opts.num_docs_in_coll,
    )
    measures = to_zscores(result, zscores) if zscores is not None else result.measures
    out.write(
        format_report(
            measures,
            result.query_ids,
            result.run_id,
            per_query=opts.per_query,
            summary=opts.summary,
            zscore=zscores is not None,
        )
    )
    return 0
