"""Sign-in: users with argon2 password hashes, a signed session cookie (Starlette's SessionMiddleware, which signs
with itsdangerous), roles `admin` and `viewer`, and CSRF protection by a signed double-submit token.

CSRF: every session carries a random `csrf` id; forms carry `csrf_token = sign(csrf id)` (itsdangerous, timed),
and every unsafe request must send it back (form field `csrf_token` or header `X-CSRF-Token`). A cross-site post
cannot read the token, so it fails."""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel

from smepulse.errors import InputError
from smepulse.web.db import Database, now

ROLES = ("admin", "viewer")
CSRF_MAX_AGE = 12 * 3600
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password")


@dataclass(frozen=True)
class User:
    username: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Problem(BaseModel):
    """The body of an error answer: {"detail": "what went wrong"}, or for a request FastAPI itself refused
    (a body that is not JSON, a parameter of the wrong type) its list of the fields and what is wrong with each."""
    detail: str | list[dict]


# what every signed-in API route declares in its OpenAPI responses
SIGNED_IN = {401: {"model": Problem, "description": "not signed in"}}


class SignInRequired(Exception):  # noqa: N818 (a control-flow signal handled by the app, not an error)
    """Raised by `require_user`; the app answers 401 for the API and redirects pages to /signin."""


# -------------------------------------------------------------------------------------------------- users

def add_user(db: Database, username: str, password: str, role: str = "viewer") -> User:
    if role not in ROLES:
        raise InputError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not username or len(username) > 64 or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise InputError(f"user name {username!r}: use 1-64 letters, digits, '.', '-' or '_'")
    if len(password) < 8:
        raise InputError("password: use at least 8 characters")
    with db.transaction() as con:
        if con.execute("SELECT 1 FROM web_user WHERE username = ?", [username]).fetchall():
            con.execute("UPDATE web_user SET password_hash = ?, role = ? WHERE username = ?",
                        [_hasher.hash(password), role, username])
        else:
            con.execute("INSERT INTO web_user VALUES (?, ?, ?, ?)", [username, _hasher.hash(password), role, now()])
    return User(username, role)


def authenticate(db: Database, username: str, password: str) -> User | None:
    rows = db.rows("SELECT password_hash, role FROM web_user WHERE username = ?", [username])
    stored = rows[0][0] if rows else _DUMMY  # same work for unknown users: no timing oracle on names
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return User(username, rows[0][1]) if rows else None


# -------------------------------------------------------------------------------------------------- dependencies

def get_db(request: Request) -> Database:
    return request.app.state.db


def current_user(request: Request) -> User | None:
    data = request.session.get("user")
    if not data:
        return None
    return User(data["name"], data["role"])


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise SignInRequired()
    return user


def require_admin(user: User = Depends(require_user)) -> User:
    if not user.is_admin:
        raise HTTPException(403, "this needs the admin role")
    return user


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret, salt="smepulse-csrf")


def csrf_token(request: Request) -> str:
    """The token to put in this session's forms (creates the session's csrf id on first use)."""
    cid = request.session.get("csrf")
    if not cid:
        cid = secrets.token_urlsafe(18)
        request.session["csrf"] = cid
    return _serializer(request).dumps(cid)


async def csrf_protect(request: Request) -> None:
    """Dependency for every unsafe route: 403 unless the request carries this session's signed token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    token = request.headers.get("x-csrf-token")
    if not token and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        token = (await request.form()).get("csrf_token")
    cid = request.session.get("csrf")
    if not token or not cid:
        raise HTTPException(403, "CSRF token missing: reload the page and try again")
    try:
        signed = _serializer(request).loads(str(token), max_age=CSRF_MAX_AGE)
    except BadSignature:
        raise HTTPException(403, "CSRF token invalid or expired: reload the page and try again") from None
    if not hmac.compare_digest(str(signed), str(cid)):
        raise HTTPException(403, "CSRF token does not belong to this session: reload the page and try again")


# -------------------------------------------------------------------------------------------------- routes

router = APIRouter(tags=["sign-in"])


@router.get("/signin", include_in_schema=False)
def signin_page(request: Request, next: str = "/admin", error: str = ""):
    return request.app.state.render(request, "signin.html", next=_safe_next(next), error=error)


@router.post("/signin", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def signin(request: Request, username: str = Form(...), password: str = Form(...), next: str = Form("/admin"),
           db: Database = Depends(get_db)):
    user = authenticate(db, username, password)
    if user is None:
        return request.app.state.render(request, "signin.html", next=_safe_next(next), status_code=401,
                                        error="signin_failed")
    request.session.clear()
    request.session["user"] = {"name": user.username, "role": user.role}
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/signout", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def signout(request: Request):
    request.session.clear()
    return RedirectResponse("/", status_code=303)


def _safe_next(target: str) -> str:
    """Only same-site paths: an attacker's link cannot bounce a fresh sign-in to another site."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/admin"
