"""`/docs`: the OpenAPI page (Swagger UI) with its script, style and icon served from the package's own static
files (static/vendor/, versions in its README.md), never from a CDN; the app turns FastAPI's CDN page off."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter()
VENDOR = "/static/vendor/swagger-ui"
# an inline icon: no request to any other site (FastAPI's default is fastapi.tiangolo.com's)
ICON = ("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' "
        "height='16' rx='3' fill='%23205493'/%3E%3C/svg%3E")


@router.get("/docs", include_in_schema=False)
def api_docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url=request.app.openapi_url, title=f"{request.app.title}: API",
                               swagger_js_url=f"{VENDOR}/swagger-ui-bundle.js",
                               swagger_css_url=f"{VENDOR}/swagger-ui.css", swagger_favicon_url=ICON,
                               swagger_ui_parameters={"validatorUrl": None})
