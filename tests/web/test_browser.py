"""The survey cycle in a real browser (the session's Debian Chromium) against the session's running server:
a respondent on a phone answers in Chinese, saves, leaves, resumes from the link on another device, switches to
English and submits; the admin watches the response rate move, closes the wave and publishes; a reader sees the
new month and downloads CSV and a JSON twin. With SMEPULSE_SCREENSHOTS set, screenshots go to docs/img/.

This file runs its own wave (2025-04) with its own firms (B...), which it retires at the end, so the other survey
tests (wave 2025-03) see only their own panel.

Each Chromium flow runs on one backend (a browser flow costs seconds; what the store does under it is asserted on
both backends over HTTP in test_survey_ops.py): the respondent's on PostgreSQL, the admin's and reader's on the
embedded default."""
from __future__ import annotations

import csv
import io
import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from smepulse.methodology import load_methodology

M = load_methodology("smei")
PERIOD = "2025-04"
WAVE = f"smei-{PERIOD}"
N = 64
ANSWERING = 60
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"
PHONE = {"width": 390, "height": 844}
PHONE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
            "Mobile Safari/537.36")


def shot(page, name: str) -> None:
    if os.environ.get("SMEPULSE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def by_share(dimension: str, position: float) -> str:
    """The value of `dimension` at `position` (0-1) along its target shares: firms in proportion to the economy,
    so weighting to the targets leaves weights near 1 and the month publishable."""
    shares = M.targets_for(PERIOD)[dimension]
    total = 0.0
    for value, share in shares.items():
        total += share
        if position < total:
            return value
    return value


def register() -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["firm_id", "name", "sector", "region", "size", "exporter", "weight", "email"])
    sizes = M.classifications["size"].values
    for i in range(N):
        w.writerow([f"B{i:04d}", f"浏览器企业 {i}", by_share("sector", (i + 0.5) / N),
                    by_share("region", ((i * 37) % N + 0.5) / N), sizes[i % len(sizes)],
                    ["yes", "no"][i % 2], 1, ""])
    return buf.getvalue().encode()


def answers(seed: int) -> dict:
    return {q.id: q.codes[(seed + k) % 3] for k, q in enumerate(M.questions)}


def submit_over_http(url: str, token: str, seed: int) -> None:
    with httpx.Client(base_url=url, timeout=30) as c:
        page = c.get(f"/r/{token}")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = c.post(f"/r/{token}", data={**answers(seed), "action": "submit", "lang": "zh", "csrf_token": csrf})
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def admin_page(browser, server, web):
    ctx = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-GB")
    page = ctx.new_page()
    page.goto(f"{server.url}/signin")
    page.fill("input[name=username]", web.ADMIN[0])
    page.fill("input[name=password]", web.ADMIN[1])
    page.click("button[type=submit]")
    page.wait_for_url("**/admin")
    yield page
    ctx.close()


@pytest.fixture(scope="module")
def links(admin_page, server):
    page = admin_page
    page.goto(f"{server.url}/admin/panel?lang=en")
    page.set_input_files("input[name=register]", files=[{"name": "register.csv", "mimeType": "text/csv",
                                                         "buffer": register()}])
    page.click("form[action='/admin/panel/import'] button")
    assert f"added {N}" in page.inner_text("p.ok")
    page.goto(f"{server.url}/admin/waves?lang=en")
    page.fill("#open-wave input[name=period]", PERIOD)
    today = datetime.now(UTC).date()  # fieldwork around today: answers are taken only within its dates
    page.fill("#open-wave input[name=opens]", str(today - timedelta(days=7)))
    page.fill("#open-wave input[name=closes]", str(today + timedelta(days=7)))
    page.click("#open-wave button")
    page.wait_for_url(f"**/admin/waves/{WAVE}**")
    text = page.request.get(f"{server.url}/admin/waves/{WAVE}/links.csv").text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == N
    yield {r["firm_id"]: r["link"] for r in rows}
    for fid in [f"B{i:04d}" for i in range(N)]:  # leave the panel as the other survey tests expect it
        server.app.state.db.execute("UPDATE firm SET status = 'retired' WHERE firm_id = ?", [fid])


@pytest.mark.backends("postgresql")  # over HTTP on both: test_respondent_saves_resumes_switches_and_submits_once
def test_respondent_on_a_phone_saves_resumes_switches_language_and_submits(browser, server, links):
    link = links["B0000"]
    perf = [q for q in M.questions if q.block == "performance"]
    phone = browser.new_context(viewport=PHONE, user_agent=PHONE_UA, locale="zh-CN", is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.goto(link)
    assert page.inner_text("legend >> nth=0") == "本月与上月相比"
    for k, q in enumerate(perf):
        page.check(f"input[name={q.id}][value={q.codes[k % 3]}]")
    page.wait_for_function("document.querySelector('[data-status]').textContent === '已保存。'")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    shot(page, "respondent-zh-phone")
    page.click("#block-performance button.save")  # the block's own save button works too (no script needed)
    page.wait_for_selector("text=已保存。")
    phone.close()  # the respondent leaves

    other = browser.new_context(viewport=PHONE, user_agent=PHONE_UA, locale="zh-CN", is_mobile=True)
    page = other.new_page()  # another device, same link: the saved answers come back
    page.goto(link)
    assert page.locator("input[type=radio]:checked").count() == len(perf)
    page.click("#switch-lang")
    page.wait_for_selector("text=This month compared with last month")
    assert page.locator("input[type=radio]:checked").count() == len(perf)  # switching language keeps answers
    page.click("#submit")  # with blocks unanswered: inline errors, in English
    assert page.locator(".question.invalid").count() == len(M.questions) - len(perf)
    assert "Please choose an answer." in page.inner_text(".question.invalid >> nth=0")
    shot(page, "respondent-en-errors")
    rest = [q for q in M.questions if q.block != "performance"]
    for k, q in enumerate(rest):
        page.check(f"input[name={q.id}][value={q.codes[k % 3]}]")
    page.click("#submit")
    page.wait_for_selector("#outcome")
    assert "Thank you" in page.inner_text("#outcome")
    page.go_back()  # a retry from the browser history cannot make a second response
    page.reload()
    other.close()
    db = server.app.state.db
    got = db.rows("SELECT lang, device, saves, block_seconds FROM submission WHERE firm_id = 'B0000'")
    assert len(got) == 1 and got[0][0] == "en" and got[0][1] == "phone" and got[0][2] >= len(perf) + 1
    assert "performance" in json.loads(got[0][3])
    assert db.rows("SELECT count(*) FROM response WHERE firm_id = 'B0000' AND period = ?", [PERIOD]) == [(1,)]


@pytest.mark.backends("duckdb")  # over HTTP on both: test_survey_ops.py (rate, close, publish, the series API)
def test_admin_watches_the_rate_closes_publishes_and_the_portal_shows_the_month(admin_page, server, links,
                                                                               browser):
    page = admin_page
    if not server.app.state.db.rows("SELECT 1 FROM submission WHERE firm_id = 'B0000'"):
        submit_over_http(server.url, links["B0000"].rsplit("/", 1)[1], 0)  # its phone flow ran on the other backend
    page.goto(f"{server.url}/admin/waves/{WAVE}?lang=en")
    before = float(page.inner_text("#rate"))
    for i in range(1, ANSWERING):  # more firms answer while the admin watches
        submit_over_http(server.url, links[f"B{i:04d}"].rsplit("/", 1)[1], i)
    expected = round(100 * ANSWERING / N, 1)
    page.wait_for_function(f"document.querySelector('#rate').textContent === '{expected}'", timeout=15000)
    assert before < expected
    shot(page, "admin-wave")
    page.click("#close")
    page.wait_for_selector("#status:text('closed')")
    page.fill("#publish-form input[name=replicates]", "20")
    page.fill("#publish-form textarea[name=commentary_en]", "Firms answered on their phones <in time>.")
    page.click("#publish")
    page.wait_for_selector("#msg:text('published')", timeout=60000)

    reader = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-GB", accept_downloads=True)
    rp = reader.new_page()
    rp.goto(f"{server.url}/release?lang=en")
    assert "Firms answered on their phones &lt;in time&gt;." in rp.content()
    rp.goto(f"{server.url}/explore?series=headline&group=all&adjustment=nsa&lang=en")
    assert rp.inner_text("tbody tr >> nth=0").startswith(PERIOD)  # the new month, newest first
    shot(rp, "explorer")
    with rp.expect_download() as dl:
        rp.click("#csv")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))
    assert rows[-1]["period"] == PERIOD and int(rows[-1]["n"]) == ANSWERING and rows[-1]["value"]
    rp.click("#json")
    doc = json.loads(rp.inner_text("body"))
    assert doc["rows"][-1]["period"] == PERIOD and doc["rows"][-1]["n"] == ANSWERING
    assert abs(doc["rows"][-1]["value"] - float(rows[-1]["value"])) < 0.051  # CSV rounded as published
    reader.close()
