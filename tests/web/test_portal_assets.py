"""Every page the app serves loads its scripts, styles and images from the app itself, never from a CDN or
another site: read in the HTML (script/link/img/iframe/source addresses and CSS url()) and watched in Chromium
(every request a page makes, at phone and desktop width). A server of its own: a wave is opened for the
respondent's form."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from decision.conftest import sim_book  # noqa: F401 (the credit book fixture: the apply page needs a champion)
from live_server import Server
from smepulse.web.app import create_app
from smepulse.web.auth import add_user
from smepulse.web.config import WebConfig

pytestmark = pytest.mark.backends("duckdb")  # what a page links to does not depend on the store
ASSET = re.compile(r"<(script|link|img|iframe|source|embed)\b[^>]*?\b(src|href|srcset)\s*=\s*[\"']?([^\"' >]+)",
                   re.I)
CSS_URL = re.compile(r"url\(\s*[\"']?(https?:)?//", re.I)
REGISTER = b"firm_id,name,sector,region,size,exporter,weight,email\nA1,One,manufacturing,east,small,no,1,a@e.x\n"


@pytest.fixture(scope="module")
def site(store_copy, sim_book, web):  # noqa: F811 (sim_book is the imported fixture)
    """(server, signed-in client, the pages to walk)."""
    app = create_app(WebConfig(store=store_copy("assets"), release_charts=False,
                               extra={"credit_model": str(sim_book["model_dir"])}))
    add_user(app.state.db, *web.ADMIN, role="admin")
    srv = Server(app).start()
    with httpx.Client(base_url=srv.url, timeout=60) as admin:
        csrf = web.sign_in(admin)
        admin.post("/admin/panel/import", files={"register": ("r.csv", REGISTER, "text/csv")},
                   data={"csrf_token": csrf})
        today = datetime.now(UTC).date()
        r = admin.post("/admin/waves", data={"period": "2025-03", "opens": str(today - timedelta(days=1)),
                                             "closes": str(today + timedelta(days=5)), "csrf_token": csrf})
        assert r.status_code == 303, r.text
        link = next(csv.DictReader(io.StringIO(admin.get("/admin/waves/smei-2025-03/links.csv").text)))["link"]
        public = ["/release?lang=zh", "/release?lang=en", "/explore?lang=zh", "/explore?as_of=bad", "/apply",
                  "/signin", "/r/" + link.rsplit("/", 1)[1], "/docs"]
        private = ["/admin", "/admin/panel", "/admin/waves", "/admin/waves/smei-2025-03", "/admin/credit/reviews"]
        yield srv, admin, public, private
    srv.stop()
    svc = getattr(app.state, "decision_service", None)
    if svc is not None:  # as test_schemathesis: its refresher thread reads the store, stopped before closing it
        svc.close()
    app.state.db.close()


def test_no_page_references_an_asset_on_another_site(site):
    srv, admin, public, private = site
    seen = set()
    for path in public + private:
        r = admin.get(path)
        assert r.status_code in (200, 422), (path, r.status_code)
        assert "text/html" in r.headers["content-type"], path
        for _, _, url in ASSET.findall(r.text):
            assert not re.match(r"(https?:)?//", url), (path, url)
            if url.startswith("/static/"):
                seen.add(url)
        assert not CSS_URL.search(r.text), path
    assert {"/static/app.css", "/static/vendor/swagger-ui/swagger-ui.css"} <= seen, seen
    for url in seen:  # the assets themselves are served, and a stylesheet fetches nothing from elsewhere
        r = admin.get(url)
        assert r.status_code == 200 and r.content, url
        if url.endswith(".css"):
            assert not CSS_URL.search(r.text), url


@pytest.mark.parametrize("width", [390, 1280])
def test_in_chromium_every_request_of_every_page_goes_to_the_app(site, browser, width, web):
    srv, _, public, private = site
    ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    page.goto(f"{srv.url}/signin")
    page.fill("input[name=username]", web.ADMIN[0])
    page.fill("input[name=password]", web.ADMIN[1])
    page.click("form[action='/signin'] button[type=submit]")
    page.wait_for_url("**/admin")
    for path in public + private:
        page.goto(srv.url + path, wait_until="networkidle")
        if path == "/docs":  # Swagger UI drew the description from /openapi.json
            page.wait_for_selector(".opblock-summary-path", timeout=20000)
    ctx.close()
    outside = [u for u in requests if not u.startswith((srv.url, "data:", "blob:"))]
    assert not outside, outside
    assert any(u.endswith("/static/vendor/swagger-ui/swagger-ui-bundle.js") for u in requests)
