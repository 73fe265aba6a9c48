"""A child process for the JVM tests: ``python -m support.jvm_child MODE``, with tests/ on the path.

It starts the JVM as ragbench does (``indexers.jvm.start_jvm``) on its main thread, then:

- ``stack``: parses JSON nested 20,000 deep (native recursion on the main thread, about 2 MiB of
  stack) and prints ``parsed``;
- ``torch``: prints ``ready`` and multiplies matrices with torch for up to 60 s (the test signals it).
"""

from __future__ import annotations

import json
import sys
import time


def main(mode: str) -> None:
    if mode == "torch":
        import torch
    from indexers.jvm import jclass

    assert jclass("java.lang.Math").abs(-3) == 3  # the JVM runs
    if mode == "stack":
        depth = 20_000
        sys.setrecursionlimit(10 * depth)
        assert len(json.dumps(json.loads("[" * depth + "]" * depth))) == 2 * depth
        print("parsed", flush=True)
        return
    x = torch.randn(128, 128)
    print("ready", flush=True)
    started = time.monotonic()
    while time.monotonic() - started < 60:
        x = torch.tanh(x @ x.T / 128)
    print("not interrupted", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
