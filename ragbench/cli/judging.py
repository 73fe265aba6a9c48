"""What the judge commands share: reading their inputs, building a judge from the options, and
judging pairs with a progress bar (in process, or on Ray actors with ``--ray``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from ragbench.cli.console import err
from ragbench.errors import InputError

Qrels = dict[str, dict[str, int]]
Run = dict[str, dict[str, float]]

CorpusOpt = Annotated[Path, typer.Option("--corpus", help="JSONL corpus: the documents' texts.")]
TopicsOpt = Annotated[
    Path, typer.Option("--topics", help="Topics file (TREC, TSV or JSONL): the queries' texts.")
]
DepthOpt = Annotated[int, typer.Option("--depth", help="Judge each run's top DEPTH documents per topic.")]
PromptOpt = Annotated[
    str, typer.Option("--prompt", help="umbrela, basic, or a prompt file with {query} and {passage}.")
]
BackendOpt = Annotated[
    str, typer.Option("--backend", help="local (transformers here) or openai (an endpoint).")
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", help="Local: SmolLM2-135M-Instruct (default) or a directory; openai: the model id."
    ),
]
BaseUrlOpt = Annotated[
    str | None, typer.Option("--base-url", help="openai: the endpoint, e.g. http://127.0.0.1:8080/v1.")
]
KeyEnvOpt = Annotated[
    str | None, typer.Option("--api-key-env", help="openai: the NAME of the variable holding the API key.")
]
SamplesOpt = Annotated[int, typer.Option("--samples", help="Samples per pair; the label is their mode.")]
TemperatureOpt = Annotated[
    float | None,
    typer.Option("--temperature", help="Sampling temperature (default 0: greedy; > 0 for --samples)."),
]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", help="openai: requests in flight.")]
BatchOpt = Annotated[int, typer.Option("--batch-size", help="local: prompts per forward pass.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="openai: seconds per request.")]
RetriesOpt = Annotated[
    int, typer.Option("--retries", help="Follow-up turns after a reply with no readable grade.")
]
MaxTokensOpt = Annotated[int | None, typer.Option("--max-tokens", help="Tokens per reply (default 96).")]
DocWordsOpt = Annotated[int, typer.Option("--doc-words", help="Words of each document shown to the judge.")]
MaxTopicsOpt = Annotated[
    int | None, typer.Option("--max-topics", help="Judge only the first N common topics.")
]
DeviceOpt = Annotated[str | None, typer.Option("--device", help="local: auto, cpu, cuda or cuda:N.")]
CacheOpt = Annotated[
    str | None,
    typer.Option("--cache", help="LM cache file (default lm.sqlite in the cache folder); 'off' for none."),
]
MethodOpt = Annotated[
    str,
    typer.Option("--method", help="generate (parse the reply) or logprobs (the most probable grade token)."),
]
RayOpt = Annotated[bool, typer.Option("--ray/--no-ray", help="Judge on Ray actors (one model per actor).")]


@dataclass
class JudgeOptions:
    """The judge's settings as given on the command line."""

    prompt: str = "umbrela"
    backend: str = "local"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    samples: int = 1
    temperature: float | None = None
    concurrency: int = 4
    batch_size: int = 8
    timeout: float = 60.0
    retries: int = 1
    max_tokens: int | None = None
    doc_words: int = 300
    device: str | None = None
    cache: str | None = None
    ray: bool = False
    method: str = "generate"

    def lm_mapping(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "backend": self.backend,
            "model": self.model,
            "batch_size": self.batch_size,
            "concurrency": self.concurrency,
            "timeout": self.timeout,
        }
        if self.backend == "openai":
            values.update({"base_url": self.base_url, "api_key_env": self.api_key_env})
        elif self.base_url or self.api_key_env:
            raise InputError("--base-url and --api-key-env go with --backend openai")
        if self.device is not None:
            values["device"] = self.device
        if self.cache is not None:
            values["cache"] = False if self.cache.lower() in ("off", "none", "false") else self.cache
        return values

    def stage_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "lm": self.lm_mapping(),
            "prompt": self.prompt,
            "samples": self.samples,
            "retries": self.retries,
            "doc_words": self.doc_words,
            "method": self.method,
        }
        if self.temperature is not None:
            options["temperature"] = self.temperature
        if self.max_tokens is not None:
            options["max_tokens"] = self.max_tokens
        return options


def read_inputs(qrels: Path, runs: Sequence[Path]) -> tuple[Qrels, dict[str, Run]]:
    from ragbench.formats.trec import read_qrels, read_run

    for path in (qrels, *runs):
        if not path.is_file():
            raise InputError(f"{path}: no such file")
    judged = read_qrels(qrels).to_dict()
    read = {}
    for path in runs:
        name = path.name if path.name not in read else str(path)
        read[name] = read_run(path).to_dict()
    return judged, read


def topic_texts(path: Path, wanted: Sequence[str]) -> dict[str, str]:
    from ragbench.formats.topics import read_topics

    if not path.is_file():
        raise InputError(f"{path}: no such topics file")
    texts = {t.query_id: " ".join(t.title.split()) for t in read_topics(path)}
    missing = [q for q in wanted if not texts.get(q)]
    if missing:
        raise InputError(f"{path}: no text for topic{'s' * (len(missing) > 1)} {', '.join(missing[:10])}")
    return {q: texts[q] for q in wanted}


def corpus_texts(path: Path, wanted: set[str]) -> dict[str, str]:
    """The texts of the ``wanted`` documents (a document missing from the corpus is left out)."""
    from ragbench.formats.corpus import iter_corpus

    if not path.is_file():
        raise InputError(f"{path}: no such corpus file")
    found: dict[str, str] = {}
    for doc in iter_corpus(path, empty="warning"):
        if doc.doc_id in wanted:
            found[doc.doc_id] = doc.contents
    return found


def build_judge(options: JudgeOptions) -> Any:
    """A :class:`rankers.judges.relevance.RelevanceJudge` in this process."""
    from ragbench.jobs.registry import build

    return build(judge_spec(options))


def judge_spec(options: JudgeOptions) -> Any:
    from ragbench.jobs.config import StageSpec

    return StageSpec("judge", "relevance", "judge", options.stage_options(), None, str(Path.cwd()), "judge")


def judge_pairs(
    options: JudgeOptions,
    pairs: Sequence[tuple[str, str, str, str]],
    describe: dict[str, Any],
    *,
    label: str = "judging",
) -> tuple[list[Any], dict[str, Any]]:
    """Judgments of ``pairs`` with a progress bar, and the LM usage; in process or on Ray."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bars = Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )
    with bars:
        task = bars.add_task(label, total=len(pairs) * options.samples)

        def tick(n: int) -> None:
            bars.advance(task, n)

        if not options.ray:
            judge = build_judge(options)
            describe.update(judge.describe())
            found = judge.judge_pairs(pairs, on_done=tick)
            usage = judge.client.pop_usage().to_dict()
            judge.client.close()
            return found, usage
        return _on_ray(options, pairs, describe, tick)


def _on_ray(
    options: JudgeOptions, pairs: Sequence[tuple[str, str, str, str]], describe: dict[str, Any], tick: Any
) -> tuple[list[Any], dict[str, Any]]:
    from ragbench.jobs.execute import run_batches
    from rankers.judges.relevance import Judgment

    spec = judge_spec(options)
    size = 16
    batches, sizes = [], []
    for start in range(0, len(pairs), size):
        chunk = pairs[start : start + size]
        queries = {q: text for q, text, _, _ in chunk}
        items: dict[str, dict[str, str]] = {}
        for q, _, d, passage in chunk:
            items.setdefault(q, {})[d] = passage
        batches.append((queries, items))
        sizes.append(len(chunk) * options.samples)
    results = run_batches(spec, "judge", batches, sizes, use_ray=True, on_done=tick)
    found = []
    for result in results:
        for q, docs in result.items():
            for d, v in docs.items():
                found.append(Judgment(q, d, v["label"], v["failure"], v["provenance"]))
    order = {(q, d): i for i, (q, _, d, _) in enumerate(pairs)}
    found.sort(key=lambda j: order[(j.query_id, j.doc_id)])
    if found:
        describe.update(
            {
                k: v
                for k, v in found[0].provenance.items()
                if k not in ("grades", "attempts", "created", "cached", "prompt_hash")
            }
        )
    return found, {"calls": None, "note": "usage is counted inside the Ray actors"}


def restrict(qrels: Mapping[str, Any], topics: Sequence[str]) -> dict[str, Any]:
    keep = set(topics)
    return {q: v for q, v in qrels.items() if q in keep}


def dump_json(path: Path | None, data: dict[str, Any]) -> None:
    """Write a report as JSON when ``--json`` asks for it."""
    import json

    from ragbench.cli.console import out

    if path is not None:
        path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
        out.print(f"{path}: written")
