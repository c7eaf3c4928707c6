"""The producer's side, behind sign-in: the admin home (vintages, waves, panel links)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from smepulse.web.auth import SIGNED_IN, User, get_db, require_user
from smepulse.web.db import Database

router = APIRouter()


@router.get("/admin", include_in_schema=False)
def admin_home(request: Request, user: User = Depends(require_user), db: Database = Depends(get_db)):
    vintages = db.rows("SELECT vintage_id, kind, as_of, note FROM vintage WHERE survey = ? ORDER BY as_of DESC, "
                       "created_at DESC LIMIT 20", [request.app.state.methodology.name])
    return request.app.state.render(request, "admin.html", vintages=vintages)


@router.get("/api/v1/admin/me", tags=["admin"], responses=SIGNED_IN)
def whoami(user: User = Depends(require_user)) -> dict:
    """The signed-in user (401 without a session)."""
    return {"username": user.username, "role": user.role}
