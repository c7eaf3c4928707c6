"""A producer edits the methodology YAML (a new question, with its Chinese text) and serves it: the question is on
the respondent form, in the read API after answers and a publish, and in the release page, with no code change
(the app as `smepulse serve --methodology FILE` builds it, over real HTTP)."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

import smepulse.methodology as methodology_pkg
from live_server import Server
from smepulse.web.app import create_app
from smepulse.web.auth import add_user
from smepulse.web.config import WebConfig

pytestmark = pytest.mark.backends("duckdb")  # the methodology's path through the app, not the store's
PRESET = Path(methodology_pkg.__file__).parent / "presets" / "smei.yaml"
NEW = {"id": "digital_sales", "block": "performance", "text": {"en": "Online sales", "zh": "线上销售"}}
N = 32  # above the methodology's publication_minimum (30): the new index is published
CODES = ["up", "same", "down"]


def answer(i: int) -> str:
    return CODES[0] if i % 4 in (0, 1) else CODES[1] if i % 4 == 2 else CODES[2]  # 16 up, 8 same, 8 down


def test_a_question_added_to_the_yaml_reaches_form_index_and_release(store_copy, tmp_path, web):
    doc = yaml.safe_load(PRESET.read_text(encoding="utf-8"))
    doc["questions"].insert(3, NEW)
    edited = tmp_path / "smei-digital.yaml"
    edited.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    app = create_app(WebConfig(store=store_copy("yaml-edit"), methodology=str(edited), release_charts=False))
    m = app.state.methodology
    add_user(app.state.db, *web.ADMIN, role="admin")
    srv = Server(app).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=60) as admin:
            csrf = web.sign_in(admin)
            rows = ["firm_id,name,sector,region,size,exporter,weight,email"] + [
                f"D{i:03d},Firm {i},manufacturing,east,small,no,1," for i in range(N)]
            admin.post("/admin/panel/import", files={"register": ("r.csv", "\n".join(rows).encode(), "text/csv")},
                       data={"csrf_token": csrf})
            today = datetime.now(UTC).date()
            admin.post("/admin/waves", data={"period": "2025-03", "opens": str(today - timedelta(days=1)),
                                             "closes": str(today + timedelta(days=5)), "csrf_token": csrf})
            links = list(csv.DictReader(io.StringIO(admin.get("/admin/waves/smei-2025-03/links.csv").text)))
            assert len(links) == N
            for i, link in enumerate(links):
                with httpx.Client(timeout=60) as firm:
                    form = firm.get(link["link"], params={"lang": "zh"}).text
                    if i == 0:  # the new question, in Chinese, with the methodology's answer codes
                        assert "线上销售" in form
                        assert all(f'name="digital_sales" value="{c}"' in form for c in CODES)
                    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
                    answers = {q.id: "same" for q in m.questions if q.block != "external"} | {
                        q.id: q.codes[1] for q in m.questions if q.block == "external"}
                    r = firm.post(link["link"], data={**answers, "digital_sales": answer(i), "action": "submit",
                                                      "lang": "zh", "csrf_token": token})
                    assert r.status_code == 200, r.text
            admin.post("/admin/waves/smei-2025-03/close", data={"csrf_token": csrf})
            r = admin.post("/admin/waves/smei-2025-03/publish", data={"kind": "final", "frame": "design",
                                                                       "replicates": "0", "csrf_token": csrf})
            assert "msg=published_final" in r.headers["location"], r.headers["location"]
            got = admin.get("/api/v1/series", params={"series": "digital_sales", "adjustment": "nsa"}).json()
            march = [x for x in got if x["period"] == "2025-03"]
            # diffusion: % up + half % same, every firm weighing the same: 50 + 25/2 = 62.5
            assert march and march[0]["n"] == N and march[0]["value"] == pytest.approx(100 * (16 + 0.5 * 8) / N)
            assert "digital_sales" in admin.get("/api/v1/choices").json()["series"]
            page = admin.get("/release", params={"lang": "en"}).text
            assert "Online sales" in page
            assert "线上销售" in admin.get("/release", params={"lang": "zh"}).text
    finally:
        srv.stop()
        app.state.db.close()
