"""POST /_cli/run: a CLI command sent by `smepulse` on this machine (web/forward.py), run in this server process.

Only when `smepulse serve` enabled it (app.state.cli_token, the token in its descriptor file), only from a
loopback address, only with that token. The command is the CLI's own (the runner smepulse.cli hands to `serve`),
on the server's store (store.lend: a connection of its own, so its transaction runs beside the web's and a web
answer is never blocked or lost). One such command runs at a time; its stdout and stderr come back as
NDJSON lines `{"out": text}` / `{"err": text}`, then `{"exit": code}`. Not part of the public API."""
from __future__ import annotations

import hmac
import io
import json
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse

from smepulse.store.store import lend

router = APIRouter(include_in_schema=False)
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
MAX_ARGS, MAX_ARG = 200, 8192


class _Routed(io.TextIOBase):
    """sys.stdout / sys.stderr while a sent command runs: the command thread's writes go to its client, every
    other thread's (the web's) to the server's own stream."""

    def __init__(self, original, owner: int, kind: str, out: queue.Queue):
        self.original, self.owner, self.kind, self.out = original, owner, kind, out

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # a text stream (click probes with bytes to tell text from binary)
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if threading.get_ident() == self.owner:
            self.out.put({self.kind: text})
        else:
            self.original.write(text)
        return len(text)

    def flush(self) -> None:
        if threading.get_ident() != self.owner:
            self.original.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return "utf-8"

    @property
    def errors(self) -> str:
        return "strict"


class _NoInput(io.TextIOBase):
    """sys.stdin for the command thread: nothing to read (a prompt ends the command instead of waiting on the
    server's terminal); other threads read the server's own stdin."""

    def __init__(self, original, owner: int):
        self.original, self.owner = original, owner

    def readline(self, size: int = -1) -> str:
        return "" if threading.get_ident() == self.owner else self.original.readline(size)

    def read(self, size: int = -1) -> str:
        return "" if threading.get_ident() == self.owner else self.original.read(size)

    def isatty(self) -> bool:
        return False


@contextmanager
def _routed(out: queue.Queue) -> Iterator[None]:
    me = threading.get_ident()
    saved = sys.stdout, sys.stderr, sys.stdin
    sys.stdout = _Routed(saved[0], me, "out", out)
    sys.stderr = _Routed(saved[1], me, "err", out)
    sys.stdin = _NoInput(saved[2], me)
    try:
        yield
    finally:
        sys.stdout, sys.stderr, sys.stdin = saved


def _argv(body: object) -> list[str]:
    argv = body.get("argv") if isinstance(body, dict) else None
    if (not isinstance(argv, list) or not argv or len(argv) > MAX_ARGS
            or not all(isinstance(a, str) and len(a) <= MAX_ARG for a in argv)):
        raise HTTPException(422, "argv must be a non-empty list of strings")
    if argv[0] == "serve":
        raise HTTPException(422, "a server does not start another server")
    return argv


@router.post("/_cli/run", include_in_schema=False)
async def run_command(request: Request) -> StreamingResponse:
    token = getattr(request.app.state, "cli_token", None)
    runner: Callable[[list[str]], int] | None = getattr(request.app.state, "cli_runner", None)
    if not token or runner is None:
        raise HTTPException(404, "Not Found")
    if request.client is None or request.client.host not in LOOPBACK:
        raise HTTPException(403, "CLI commands are taken from this machine only (loopback)")
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise HTTPException(401, "wrong or missing token (read it from the server's descriptor file)")
    try:
        argv = _argv(await request.json())
    except ValueError:
        raise HTTPException(422, "the body must be JSON: {\"argv\": [...]}") from None
    out: queue.Queue = queue.Queue()
    store = request.app.state.db.store
    lock: threading.Lock = request.app.state.cli_lock

    def work() -> None:
        code = 1
        try:
            with lock, _routed(out), lend(store):  # one at a time: stdout and stderr are per process
                code = runner(argv)
        except BaseException as exc:  # noqa: BLE001 (the runner prints its own errors; this is a last resort)
            out.put({"err": f"error: the server could not run the command ({type(exc).__name__})\n"})
        finally:
            out.put({"exit": code})

    threading.Thread(target=work, name="smepulse-cli", daemon=True).start()

    def lines() -> Iterator[bytes]:
        while True:
            msg = out.get()
            yield (json.dumps(msg, ensure_ascii=False) + "\n").encode()
            if "exit" in msg:
                return

    return StreamingResponse(lines(), media_type="application/x-ndjson")

