"""create_app: one FastAPI app over one store. Routers come from ROUTERS (add yours in one line)."""
from __future__ import annotations

import os
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from smepulse.methodology import load_methodology
from smepulse.web import admin, api_docs, apply, auth, cli_api, portal, respond, survey_admin
from smepulse.web.config import WebConfig
from smepulse.web.db import Database, open_database
from smepulse.web.fieldwork import load_policy
from smepulse.web.i18n import pick_lang, t
from smepulse.web.mail import load_smtp
from smepulse.web.submissions import RespondentWriter

# Every router of the app, in order. Another part adds its routes with one line here. The respondent's form
# first: a request is matched against the routes in order, and a burst of submissions is the app's hot path.
ROUTERS = [respond.router, auth.router, portal.router, admin.router, apply.router, survey_admin.router,
           cli_api.router, api_docs.router]
# The JSON API routes answered past the middleware stack (FastRoutes below); each is declared on a router too.
FAST_ROUTES = {**apply.FAST_ROUTES}

STATIC = Path(__file__).parent / "static"


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413 before any handler reads them."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await PlainTextResponse("request body too large", status_code=413)(scope, receive, send)
            return
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise ValueError("request body too large")
            return message

        await self.app(scope, limited, send)


class FastRoutes:
    """Send a few hot JSON API routes ((method, exact path) -> plain ASGI app) straight to their handler, past the
    session middleware, the router's walk over every route and FastAPI's parameter solving (~0.3 ms of CPU of a
    ~2 ms decision; docs/benchmarks.md "Credit decisions"). It sits inside the server-error handler and the body
    limit, so a fast route answers a crash with 500 and a big body with 413 as any route does; each fast route is
    still declared on its router (OpenAPI, and the same code when reached another way). Only for routes that
    read no session and set no cookie: a fast route needs no CSRF token because it only takes application/json
    (a cross-site form cannot send that without a pre-flight the app never allows) and authorises its caller
    itself, if it needs to, exactly as its declared route does."""

    def __init__(self, app: ASGIApp, routes: dict[tuple[str, str], ASGIApp]):
        self.app, self.routes = app, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = self.routes.get((scope.get("method"), scope.get("path"))) if scope["type"] == "http" else None
        await (fast or self.app)(scope, receive, send)


def templates() -> Jinja2Templates:
    env = Environment(loader=PackageLoader("smepulse.web", "templates"),
                      autoescape=select_autoescape(["html"], default_for_string=True), trim_blocks=True,
                      lstrip_blocks=True)
    return Jinja2Templates(env=env)


def create_app(config: WebConfig | None = None, db: Database | None = None, routers: list | None = None) -> FastAPI:
    """The app over `config`'s store (or an already open `db`). `routers`: extra routers after ROUTERS."""
    config = config or WebConfig()
    db = db or open_database(config.target)
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.respondents.close()  # what respondents posted last is written before the process ends
        service = getattr(app.state, "decision_service", None)  # built on the first credit request, if any
        if service is not None:  # its refresher reads the store each second: stopped before the store closes
            service.close()

    # FastAPI's native OpenTelemetry is off unless SMEPULSE_TELEMETRY=1: the app configures no provider, and its
    # per-request check that none is configured costs ~0.05 ms of CPU a request (docs/benchmarks.md)
    telemetry = None if os.environ.get("SMEPULSE_TELEMETRY") == "1" else {"tracing": False, "metrics": False,
                                                                          "logs": False}
    app = FastAPI(title="smepulse", version="1", summary="SME confidence indices: portal, read API, survey "
                  "operations", docs_url=None, redoc_url=None, telemetry=telemetry,
                  lifespan=lifespan)  # /docs: web/api_docs.py
    app.state.config = config
    app.state.db = db
    app.state.methodology = load_methodology(config.methodology)
    app.state.smtp = load_smtp(config.smtp_config)
    app.state.fieldwork = load_policy(config.config_file)
    app.state.respondents = RespondentWriter(db, app.state.methodology, lambda: app.state.fieldwork)
    app.state.secret = db.secret()
    app.state.cache = {}
    app.state.cli_token, app.state.cli_runner, app.state.cli_lock = None, None, threading.Lock()
    tpl = templates()

    def render(request: Request, name: str, status_code: int = 200, **ctx):
        lang = pick_lang(request.query_params.get("lang") or request.cookies.get("lang"),
                         request.headers.get("accept-language"))
        ctx.setdefault("lang", lang)
        return tpl.TemplateResponse(request, name, {
            "t": lambda key: t(key, ctx["lang"]), "user": auth.current_user(request),
            "csrf_token": auth.csrf_token(request), "methodology": app.state.methodology, **ctx},
            status_code=status_code)

    app.state.render = render
    app.state.templates = tpl
    for router in [*ROUTERS, *(routers or [])]:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(auth.SignInRequired)
    async def _signin(request: Request, exc: auth.SignInRequired):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        return RedirectResponse(f"/signin?next={request.url.path}", status_code=303)

    app.add_middleware(SessionMiddleware, secret_key=app.state.secret, session_cookie="smepulse_session",
                       max_age=12 * 3600, same_site="lax", https_only=config.secure_cookies)
    app.add_middleware(FastRoutes, routes=dict(FAST_ROUTES))  # outside the session, inside the body limit
    app.add_middleware(BodyLimit, limit=config.max_body)
    return app


def take_cli_commands(app: FastAPI, runner: Callable[[list[str]], int]) -> str:
    """Let the CLI on this machine run its commands in this process (web/cli_api.py) with `runner` (the CLI's
    own `run`); returns the token the caller writes into the store's descriptor (web/forward.py)."""
    app.state.cli_token = secrets.token_urlsafe(32)
    app.state.cli_runner = runner
    return app.state.cli_token
