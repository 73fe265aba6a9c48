"""A real OpenAI-compatible server for the LM tests: ``transformers serve`` on the loopback, serving
the converted SmolLM2 directory offline; and small HTTP servers that misbehave on purpose."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from support.webserver import free_port

STARTUP_TIMEOUT_S = 180.0


@contextmanager
def transformers_serve(model_dir: Path, log: Path) -> Iterator[str]:
    """``transformers serve MODEL_DIR`` on a free loopback port (CPU, HF_HUB_OFFLINE=1); yields the
    base URL (``http://127.0.0.1:PORT/v1``) once ``/v1/models`` answers; stopped on exit."""
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    command = [
        str(Path(sys.executable).parent / "transformers"), "serve", str(model_dir),
        "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--log-level", "warning",
    ]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"transformers serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{url}/models", timeout=2.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"transformers serve did not answer in {STARTUP_TIMEOUT_S} s")
            time.sleep(0.3)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


Handler = Callable[[dict], tuple[int, bytes, float]]
"""request body -> (status, response bytes, seconds to wait before answering)."""


@contextmanager
def scripted_server(handler: Handler) -> Iterator[tuple[str, list[dict]]]:
    """A loopback HTTP server answering ``POST .../chat/completions`` with ``handler``; yields the
    base URL and the list of request bodies it received (each with the ``Authorization`` header
    it came with, under ``__authorization``)."""
    received: list[dict] = []

    class Answer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            received.append({**body, "__authorization": self.headers.get("Authorization")})
            status, data, wait = handler(body)
            time.sleep(wait)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", received
    finally:
        server.shutdown()
        server.server_close()


def completion(text: str, prompt_tokens: int = 10, completion_tokens: int = 2) -> bytes:
    """An OpenAI chat-completion answer with ``text``."""
    return json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
        }
    ).encode()
