"""The CLI against a DuckDB store that `smepulse serve` holds: the server's descriptor and the client side.

A DuckDB file takes one writing process. While `smepulse serve` holds a store it writes `<store>.serve.json`
next to it (pid, loopback URL, a random token; mode 0600, removed on shutdown). A CLI command whose `--store`
is that file sends its arguments to the server (POST /_cli/run, web/cli_api.py), which runs the same command
functions on its own store handle and streams back stdout, stderr and the exit code. Paths on the command line
are made absolute here, so the server (same machine, same user) reads and writes the files the user named.

Standard library only: every CLI invocation imports this module, so it stays light. Commands are read from the
command tree `typer.main.get_command` builds (duck-typed: name, params with opts, is_flag, prompt, default and
the annotation in `type_descriptor`), so this module needs no particular click."""
from __future__ import annotations

import http.client
import json
import os
import re
import sys
import time
import typing
from pathlib import Path

from smepulse.errors import InputError

SUFFIX = ".serve.json"
# str options that name a file to be made (they need not exist yet) are recognised by a folder or a suffix
FILE_SUFFIXES = {".csv", ".tsv", ".parquet", ".xlsx", ".xls", ".json", ".yaml", ".yml", ".toml", ".html", ".pdf",
                 ".md", ".txt", ".png", ".svg", ".duckdb", ".gz", ".zip"}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CONNECT_WAIT = 3.0  # seconds a just-started server may take to listen after writing its descriptor


def descriptor_path(store: str | Path) -> Path:
    return Path(f"{store}{SUFFIX}")


def write_descriptor(store: str | Path, url: str, token: str) -> Path:
    """Atomically, readable by this user only (the token lets its holder run commands as the server's user)."""
    path = descriptor_path(store)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    data = {"pid": os.getpid(), "url": url, "token": token, "store": os.path.realpath(store),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.chmod(tmp, 0o600)  # an existing file keeps its mode through O_CREAT
    os.replace(tmp, path)
    return path


def remove_descriptor(store: str | Path, token: str) -> None:
    """Only our own: a newer server on the same store may have replaced it."""
    path = descriptor_path(store)
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("token") == token:
            path.unlink()
    except (OSError, ValueError):
        pass


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def live_descriptor(store: str | Path) -> dict | None:
    """The descriptor of a live server holding `store`, or None: missing, unreadable, not this user's alone,
    for another file, of a dead process (stale: ignored, the store is opened directly) or of this process."""
    path = descriptor_path(store)
    try:
        info = path.stat()
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    if not isinstance(data, dict) or not {"pid", "url", "token", "store"} <= set(data):
        return None
    if data["store"] != os.path.realpath(store) or not isinstance(data["pid"], int):
        return None
    if data["pid"] == os.getpid() or not pid_alive(data["pid"]):
        return None
    return data


# -------------------------------------------------------------------------------------------------- arguments

def _leaf(group, argv: list[str]) -> tuple[object, int] | None:
    """The command argv names and where its own arguments start (None for help or an unknown command)."""
    cmd, i = group, 0
    while hasattr(cmd, "commands"):  # a group
        if i >= len(argv) or argv[i].startswith("-"):
            return None
        cmd = cmd.get_command(None, argv[i])
        if cmd is None:
            return None
        i += 1
    return cmd, i


def _absolute(value: str, cwd: str, always: bool) -> str:
    if not value or value == "-" or "://" in value or os.path.isabs(value):
        return value
    path = Path(os.path.expanduser(value))
    if path.is_absolute():
        return str(path)
    local = Path(cwd) / path
    if always or local.exists() or "/" in value or path.suffix.lower() in FILE_SUFFIXES:
        return str(local)
    return value


def _is_path(param) -> bool:
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    return annotation is not None and Path in (annotation, *typing.get_args(annotation))


def _is_option(param) -> bool:
    return getattr(param, "param_type_name", "") == "option"


def plan(group, argv: list[str], cwd: str) -> tuple[str, list[str], list[str]] | None:
    """(the store file, argv with paths made absolute, options it would prompt for) when argv is a command on
    a DuckDB store, else None.

    Options typed as paths are always made absolute; text options and arguments when they name an existing
    file, contain a folder or end in a file suffix (so `--out report.html` lands in the user's folder)."""
    found = _leaf(group, argv)
    if found is None:
        return None
    cmd, start = found
    if cmd.name == "serve" or any(a in ("--help", "-h") for a in argv[start:]):
        return None
    options = {o: p for p in cmd.params if _is_option(p) for o in [*p.opts, *p.secondary_opts]}
    arguments = [p for p in cmd.params if getattr(p, "param_type_name", "") == "argument"]
    out, given, store = list(argv[:start]), set(), None
    tokens, k, positional = argv[start:], 0, 0
    while k < len(tokens):
        tok = tokens[k]
        if tok == "--":
            out.extend(tokens[k:])
            break
        name, _, inline = tok.partition("=")
        param = options.get(name if tok.startswith("--") else tok)
        if param is not None:
            given.add(param.name)
            if param.is_flag or param.count:
                out.append(tok)
                k += 1
                continue
            raw = inline if tok not in options else (tokens[k + 1] if k + 1 < len(tokens) else None)
            if raw is None:
                out.append(tok)
                break
            value = _absolute(raw, cwd, _is_path(param) or param.name == "store")
            if param.name == "store":
                store = value
            out.append(f"{name}={value}" if tok not in options else tok)
            if tok in options:
                out.append(value)
            k += 1 if tok not in options else 2
            continue
        if tok.startswith("-"):
            out.append(tok)
        else:
            param = arguments[min(positional, len(arguments) - 1)] if arguments else None
            out.append(_absolute(tok, cwd, param is not None and _is_path(param)))
            positional += 1
        k += 1
    if store is None:
        default = next((p.default for p in cmd.params if p.name == "store"), None)
        if not isinstance(default, str | Path) or not str(default):
            return None
        store = _absolute(str(default), cwd, True)
        out += ["--store", store]
    if "://" in store:
        return None
    asks = [p.opts[-1] for p in cmd.params if _is_option(p) and p.prompt and p.name not in given]
    return store, out, asks


# -------------------------------------------------------------------------------------------------- client

def _post(url: str, token: str, payload: dict) -> http.client.HTTPResponse:
    host, _, port = url.removeprefix("http://").rstrip("/").rpartition(":")
    deadline = time.monotonic() + CONNECT_WAIT
    while True:
        conn = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=None)
        try:
            conn.request("POST", "/_cli/run", body=json.dumps(payload).encode(),
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            return conn.getresponse()
        except ConnectionRefusedError:
            conn.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def forward_if_held(group, argv: list[str]) -> int | None:
    """Run argv in the `smepulse serve` that holds its store and return the exit code; None when no live
    server holds it (the command then opens the store itself)."""
    planned = plan(group, argv, os.getcwd())
    if planned is None:
        return None
    store, args, asks = planned
    desc = live_descriptor(store)
    if desc is None:
        return None
    if asks:  # the server has no terminal to ask on
        raise InputError(f"store {store} is held by a running `smepulse serve` (PID {desc['pid']}), which "
                         f"cannot ask for {', '.join(asks)}: give {' and '.join(asks)} on the command line")
    try:
        resp = _post(desc["url"], desc["token"], {"argv": args, "cwd": os.getcwd()})
    except OSError:  # not listening: not our server after all; opening the store says who holds it
        return None
    print(f"smepulse: {store} is held by `smepulse serve` (PID {desc['pid']}); running the command in that "
          "server", file=sys.stderr, flush=True)
    if resp.status != 200:
        detail = resp.read().decode("utf-8", "replace")
        try:
            detail = json.loads(detail).get("detail", detail)
        except ValueError:
            pass
        raise InputError(f"the running server at {desc['url']} refused the command (HTTP {resp.status}: "
                         f"{' '.join(str(detail).split())[:200]})")
    streams = {"out": sys.stdout, "err": sys.stderr}
    for line in resp:
        msg = json.loads(line)
        if "exit" in msg:
            return int(msg["exit"])
        stream = streams["err" if "err" in msg else "out"]
        text = msg.get("out", msg.get("err", ""))
        stream.write(text if stream.isatty() else ANSI.sub("", text))
        stream.flush()
    raise InputError(f"the running server at {desc['url']} stopped before the command finished; look at the "
                     "store (e.g. `smepulse series`) to see whether it ran")
