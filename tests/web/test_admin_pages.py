"""The admin pages as a producer meets them, over real HTTP (and Chromium where the look matters): messages only
from signed codes, both languages, the publish form's checks and default, JSON twins, the register's update log,
and no asset from another site on any page the app serves.

One module server (a copy of the session's store) with a register of firms that are all in one region and a wave
of 2025-03 that some answered: weighting that month to the methodology's region targets fails (raking), the
rest of the module never publishes. Pages and messages, not the store: on the embedded default only (the store
writes behind these forms run on both backends in test_survey_ops.py)."""
from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer

from smepulse.methodology import load_methodology
from smepulse.web import i18n

pytestmark = pytest.mark.backends("duckdb")
M = load_methodology("smei")
PERIOD = "2025-03"
WAVE = f"smei-{PERIOD}"
SECTORS = M.classifications["sector"].values
N = 16


def fieldwork() -> dict:
    today = datetime.now(UTC).date()
    return {"opens": str(today - timedelta(days=7)), "closes": str(today + timedelta(days=7))}


@contextmanager
def signed_in(server, web) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        c.csrf = web.sign_in(c)
        yield c


def token_of(row: dict) -> str:
    return row["link"].rsplit("/", 1)[1]


def submit(url: str, token: str, seed: int) -> None:
    with httpx.Client(base_url=url, timeout=60) as c:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get(f"/r/{token}").text).group(1)
        answers = {q.id: q.codes[(seed + k) % 3] for k, q in enumerate(M.questions)}
        r = c.post(f"/r/{token}", data={**answers, "action": "submit", "lang": "en", "csrf_token": csrf})
        assert r.status_code == 200, r.text


def sector(i: int) -> str:
    return SECTORS[0] if i % 2 == 0 else SECTORS[1 + i % (len(SECTORS) - 1)]


def register(n: int = N, sector_of=sector, name_of=lambda i: f"East {i}") -> bytes:
    """n firms: the manufacturers in the east, every other sector in the west (so the sector and region targets
    cannot both be met)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["firm_id", "name", "sector", "region", "size", "exporter", "weight", "email"])
    for i in range(n):
        region = "east" if sector_of(i) == SECTORS[0] else "west"
        w.writerow([f"E{i:03d}", name_of(i), sector_of(i), region, ["micro", "small", "medium"][i % 3],
                    ["yes", "no"][i % 2], 1, f"e{i}@example.com"])
    return buf.getvalue().encode()


@pytest.fixture(scope="module")
def server(own_server):
    with own_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def admin(server, web):
    with signed_in(server, web) as c:
        r = c.post("/admin/panel/import", files={"register": ("east.csv", register(), "text/csv")},
                   data={"csrf_token": c.csrf})
        assert r.status_code == 303 and f"added={N}" in r.headers["location"], r.headers["location"]
        r = c.post("/admin/waves", data={"period": PERIOD, **fieldwork(), "csrf_token": c.csrf})
        assert r.status_code == 303, r.text
        c.links = list(csv.DictReader(io.StringIO(c.get(f"/admin/waves/{WAVE}/links.csv").text)))
        for i, row in enumerate(c.links[:10]):
            submit(server.url, token_of(row), i)
        yield c


def shown(client: httpx.Client, r: httpx.Response, lang: str = "en") -> tuple[str, str]:
    """Follow a form's redirect in `lang`: (the page's #msg text, its #error text)."""
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"] + f"&lang={lang}").text
    got = [re.search(rf'id="{k}">([^<]*)<', page) for k in ("msg", "error")]
    return tuple(html.unescape(m.group(1)) if m else "" for m in got)


def vintages(server) -> int:
    return server.app.state.db.rows("SELECT count(*) FROM vintage")[0][0]


# -------------------------------------------------------------------------------------------------- messages

def test_text_in_a_crafted_link_is_never_shown(admin, server):
    spoof = "Session expired: e-mail your password to evil@example.com"
    for query in (f"?error={spoof}", f"?msg={spoof}", "?msg=imported&added=999&updated=0",
                  "?msg=imported&added=999&updated=0&sig=forged", f"?error=failed&detail={spoof}&sig=x.y.z"):
        for path in ("/admin/panel", "/admin/waves", f"/admin/waves/{WAVE}"):
            page = admin.get(path + query).text
            assert "evil@example.com" not in page and "999" not in page and 'id="error"' not in page, (path, query)
            assert 'id="msg"' not in page
    # a link the server signed with a code it does not know shows nothing either
    signer = URLSafeTimedSerializer(server.app.state.secret, salt="smepulse-admin-flash")
    fields = {"msg": "free_text", "detail": spoof}
    page = admin.get("/admin/panel", params={**fields, "sig": signer.dumps(fields)}).text
    assert spoof not in page and 'id="msg"' not in page
    # and a link it signed with a known code shows that code's words, in the page's language
    fields = {"msg": "imported", "added": "3", "updated": "1"}
    page = admin.get("/admin/panel", params={**fields, "sig": signer.dumps(fields), "lang": "zh"}).text
    assert 'id="msg">名册已导入：新增3家，更新1家。<' in page


def test_every_message_code_the_admin_sends_has_both_languages():
    source = open(i18n.__file__.replace("i18n.py", "survey_admin.py"), encoding="utf-8").read()
    codes = set(re.findall(r'(msg|error)="(\w+)"', source))
    codes |= {("msg", f"sent_{k}") for k in ("invitation", "reminder")}
    codes |= {("msg", f"published_{k}") for k in ("flash", "final")}
    assert len(codes) >= 14, codes
    for kind, code in codes:
        entry = i18n.MESSAGES[f"{kind}_{code}"]
        assert entry["en"] and entry["zh"] and entry["en"] != entry["zh"], code
        assert set(re.findall(r"{\w+}", entry["en"])) == set(re.findall(r"{\w+}", entry["zh"])), code


# -------------------------------------------------------------------------------------------------- publish form

def test_publish_form_adjusts_seasonally_by_default_as_the_cli_does(admin):
    page = admin.get(f"/admin/waves/{WAVE}").text
    box = re.search(r'<input type="checkbox" name="seasonal"[^>]*>', page).group(0)
    assert "checked" in box


def test_commentary_over_the_limit_is_refused_naming_the_field_and_nothing_is_published(admin, server):
    before = vintages(server)
    for field in ("commentary_en", "commentary_zh"):
        r = admin.post(f"/admin/waves/{WAVE}/publish", data={"kind": "final", "replicates": "0", "frame": "design",
                                                             field: "x" * 4001, "csrf_token": admin.csrf})
        msg, error = shown(admin, r)
        assert not msg and f"({field}) has 4001 characters; at most 4000" in error, error
        _, error = shown(admin, r, "zh")
        assert f"点评（{field}）有4001个字符，最多允许4000个" in error
    assert vintages(server) == before


def test_a_bad_cut_off_is_a_message_about_the_field(admin, server):
    before = vintages(server)
    r = admin.post(f"/admin/waves/{WAVE}/publish", data={"kind": "flash", "cutoff": "notadate", "replicates": "0",
                                                         "csrf_token": admin.csrf})
    _, error = shown(admin, r)
    assert error == 'Not published: the cut-off "notadate" is not a date; give it as YYYY-MM-DD.', error
    assert "isoformat" not in error
    _, error = shown(admin, r, "zh")
    assert "截止日期“notadate”不是有效日期" in error
    assert vintages(server) == before


def test_a_raking_failure_names_the_weights_field_not_a_cli_flag(admin, server):
    before = vintages(server)
    r = admin.post(f"/admin/waves/{WAVE}/publish", data={"kind": "final", "frame": "methodology", "replicates": "0",
                                                         "csrf_token": admin.csrf})
    _, error = shown(admin, r)
    assert error.startswith("Not published: the answers cannot be weighted to the methodology") and \
        '"Weights: design weights only"' in error and "--frame" not in error, error
    _, error = shown(admin, r, "zh")
    assert "“权重”中选择“仅设计权重”" in error and "--frame" not in error
    assert vintages(server) == before


# -------------------------------------------------------------------------------------------------- languages

ENGLISH_ON_ADMIN_PAGES = re.compile(
    r">\s*(firm_id|sector|region|size|exporter|manufacturing|construction|east|micro|small|medium|yes|no|active|"
    r"retired|open|closed|final|flash|added|update|add)\s*<|\(flash\)|updated \d")


def test_admin_pages_in_chinese_show_no_english_label(admin):
    r = admin.post("/admin/panel/import", files={"register": ("east.csv", register(2), "text/csv")},
                   data={"csrf_token": admin.csrf})
    msg, _ = shown(admin, r, "zh")
    assert msg == "名册已导入：新增0家，更新0家。"
    for path in ("/admin/panel", "/admin/waves", f"/admin/waves/{WAVE}", f"/admin/waves/{WAVE}?stratum=sector",
                 f"/admin/waves/{WAVE}?stratum=region"):
        page = admin.get(path, params={"lang": "zh"}).text
        body = page[page.index("<main>"):]
        assert not ENGLISH_ON_ADMIN_PAGES.search(body), (path, ENGLISH_ON_ADMIN_PAGES.search(body))
    panel = admin.get("/admin/panel", params={"lang": "zh"}).text
    assert "<th>行业</th>" in panel and "<td>制造业</td>" in panel and "<td>东部地区</td>" in panel
    assert '<option value="manufacturing">制造业</option>' in panel  # the form posts the code, shows the words
    assert "<th>企业编号</th>" in panel and "<td>在样本中</td>" in panel and "<td>添加</td>" in panel
    wave = admin.get(f"/admin/waves/{WAVE}", params={"lang": "zh", "stratum": "sector"}).text
    assert "(<span id=\"status\">进行中</span>)" in wave and "<td>制造业</td>" in wave
    assert '<option value="final">终值</option>' in wave
    english = admin.get("/admin/panel", params={"lang": "en"}).text
    assert "<th>Sector</th>" in english and "<td>manufacturing</td>" in english


def test_after_publication_the_benchmark_page_names_the_sector_in_chinese(admin, server):
    r = admin.post(f"/admin/waves/{WAVE}/publish", data={"kind": "final", "frame": "design", "replicates": "0",
                                                         "csrf_token": admin.csrf})
    msg, error = shown(admin, r, "zh")
    assert msg.startswith("已发布终值，版本") and not error, error
    page = httpx.get(f"{server.url}/r/{token_of(admin.links[0])}", params={"lang": "zh"}).text
    sector = M.release.groups[f"sector={SECTORS[0]}"].zh.removesuffix("中小企业")
    assert f'您的行业: <span id="sector">{sector}</span> · 终值' in page, page[page.index("<main>"):][:600]
    english = httpx.get(f"{server.url}/r/{token_of(admin.links[0])}", params={"lang": "en"}).text
    assert f'Your sector: <span id="sector">{SECTORS[0]}</span> · final' in english


# -------------------------------------------------------------------------------------------------- JSON twins

def test_panel_and_waves_have_json_twins_behind_sign_in(admin, server):
    assert httpx.get(f"{server.url}/api/v1/admin/panel").status_code == 401
    assert httpx.get(f"{server.url}/api/v1/admin/waves").status_code == 401
    doc = admin.get("/api/v1/admin/panel").json()
    page = admin.get("/admin/panel", params={"lang": "en"}).text
    firms = {f["firm_id"]: f for f in doc["firms"]}
    assert '<a id="json" href="/api/v1/admin/panel">' in page
    assert '<a id="json" href="/api/v1/admin/waves">' in admin.get("/admin/waves").text
    assert firms["E003"] == {"firm_id": "E003", "name": "East 3", "sector": sector(3), "region": "west",
                             "size": "micro", "exporter": "no", "weight": 1.0, "status": "active"}
    assert len(firms) == page.count("<tr><td>", page.index('id="firms"'), page.index('id="log"'))
    assert doc["log"][0].keys() == {"logged_at", "firm_id", "action", "reason", "by_user", "other_firm"}
    waves = admin.get("/api/v1/admin/waves").json()
    assert {"wave_id": WAVE, "period": PERIOD, **fieldwork(), "status": "open"} in waves


# -------------------------------------------------------------------------------------------------- register log

def test_a_register_update_is_logged_with_what_changed(admin, server):
    changed = register(N, sector_of=lambda i: "construction" if i == 5 else sector(i),
                       name_of=lambda i: "East Five Ltd" if i == 5 else f"East {i}")
    r = admin.post("/admin/panel/import", files={"register": ("east-v2.csv", changed, "text/csv")},
                   data={"csrf_token": admin.csrf})
    assert parse_qs(urlsplit(r.headers["location"]).query)["updated"] == ["1"], r.headers["location"]
    log = server.app.state.db.rows("SELECT action, reason, by_user FROM firm_log WHERE firm_id = 'E005' "
                                   "ORDER BY logged_at")
    assert log[-1] == ("update", f"register east-v2.csv: name 'East 5' -> 'East Five Ltd'; sector '{sector(5)}' -> "
                                 "'construction'", "admin")
    again = admin.post("/admin/panel/import", files={"register": ("east-v2.csv", changed, "text/csv")},
                       data={"csrf_token": admin.csrf})
    assert parse_qs(urlsplit(again.headers["location"]).query)["updated"] == ["0"]
    assert len(server.app.state.db.rows("SELECT 1 FROM firm_log WHERE firm_id = 'E005'")) == len(log)
    assert "East Five Ltd" in admin.get("/admin/panel", params={"lang": "en"}).text


# -------------------------------------------------------------------------------------------------- live rate (htmx)

def test_the_live_rate_is_an_htmx_fragment_in_the_pages_language(admin):
    page = admin.get(f"/admin/waves/{WAVE}", params={"lang": "zh"}).text
    assert '<script src="/static/vendor/htmx/htmx.min.js" defer></script>' in page
    assert f'hx-get="/admin/waves/{WAVE}/rate.html?stratum=size&amp;lang=zh" hx-trigger="every 3s"' in page
    part = admin.get(f"/admin/waves/{WAVE}/rate.html", params={"stratum": "region", "lang": "zh"}).text
    assert part.startswith("<section") and "<html" not in part and "<th>地区</th>" in part
    assert "<td>东部地区</td>" in part and "<noscript>" in part  # without JavaScript: a link to reload


def test_in_chromium_the_rate_moves_while_the_admin_watches_on_a_phone_in_chinese(admin, server, browser, web):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{server.url}/signin")
    page.fill("input[name=username]", web.ADMIN[0])
    page.fill("input[name=password]", web.ADMIN[1])
    page.click("form[action='/signin'] button[type=submit]")
    page.wait_for_url("**/admin")
    page.goto(f"{server.url}/admin/waves/{WAVE}?lang=zh&stratum=sector")
    before = admin.get(f"/api/v1/admin/waves/{WAVE}/rate").json()
    assert page.inner_text("#answered") == str(before["answered"])
    row = next(r for r in admin.links if r["firm_id"] == "E012")  # never answered in this module
    submit(server.url, token_of(row), 12)
    page.wait_for_function(f"document.querySelector('#answered').textContent === '{before['answered'] + 1}'",
                           timeout=15000)
    assert "制造业" in page.inner_text("#strata") and "manufacturing" not in page.inner_text("#live-rate")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ctx.close()
