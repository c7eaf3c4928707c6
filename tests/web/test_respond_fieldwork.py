"""Fieldwork dates over real HTTP: a link takes answers only from the day fieldwork opens to the day it closes
(plus late days where the web config file says so), refuses others with a bilingual message and keeps the saved
draft; links expire by the config. The clock cannot move in a test, so a wave's dates are moved instead.

Its own server over a copy of the session store, with its own firms and waves (2031-..), and a real config file."""
from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest

from live_server import Server
from smepulse.errors import InputError
from smepulse.methodology import load_methodology
from smepulse.web import survey_ops
from smepulse.web.app import create_app
from smepulse.web.config import WebConfig
from smepulse.web.fieldwork import LinkPolicy, load_policy
from smepulse.web.i18n import t

M = load_methodology("smei")
TODAY = datetime.now(UTC).date()
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"
CONFIG = """
[respondents]
link_expires_days = 30

[respondents.wave."smei-2031-03"]
late_days = 3
"""


# wave name: (period, fieldwork opens, closes in days from today)
WAVES = {"open": ("2031-01", -3, 3), "over": ("2031-02", -3, 3), "late": ("2031-03", -3, 3),
         "not_yet": ("2031-04", 2, 9), "expired": ("2031-05", -3, 3)}


def days(n: int):
    return TODAY + timedelta(days=n)


@pytest.fixture(scope="module")
def site(store_copy, tmp_path_factory):
    """A server with the config above and five waves, each with links for three firms of its own."""
    config = tmp_path_factory.mktemp("webconfig") / "web.toml"
    config.write_text(CONFIG, encoding="utf-8")
    app = create_app(WebConfig(store=store_copy("fieldwork"), release_charts=False, config_file=config))
    db = app.state.db
    db.execute("UPDATE firm SET status = 'retired'")  # only this file's firms get links
    firms = pd.DataFrame({"firm_id": ["FW1", "FW2", "FW3"], "name": ["甲", "乙", "丙"], "sector": "manufacturing",
                          "region": "east", "size": "small", "exporter": "no", "weight": "1", "email": ""})
    survey_ops.import_register(db, firms, M, "fieldwork", "test")
    links = {}
    for name, (period, opens, closes) in WAVES.items():
        w = survey_ops.open_wave(db, M, period, days(opens), days(closes))
        links[name] = {fid: tok for fid, tok in db.rows("SELECT firm_id, token FROM invitation WHERE wave_id = ?",
                                                         [w.wave_id])}
    srv = Server(app).start()
    yield {"url": srv.url, "db": db, "links": links}
    srv.stop()
    db.close()


def move(site, name: str, opens: int, closes: int) -> None:
    """The days pass: the wave's fieldwork dates move relative to today."""
    site["db"].execute("UPDATE wave SET opens = ?, closes = ? WHERE wave_id = ?",
                       [days(opens), days(closes), f"smei-{WAVES[name][0]}"])


def answers(seed: int = 0) -> dict:
    return {q.id: q.codes[(seed + k) % 3] for k, q in enumerate(M.questions)}


def text(html: str) -> str:
    """The words of a page, without its tags (dates are in no-break spans)."""
    return re.sub(r"<[^>]+>", "", html)


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def post(c: httpx.Client, token: str, data: dict, as_json: bool = False) -> httpx.Response:
    """Open the form (its CSRF token) and post it, as a respondent's browser does."""
    page = c.get(f"/r/{token}")
    return c.post(f"/r/{token}", data={**data, "csrf_token": csrf(page.text)},
                  headers={"Accept": "application/json"} if as_json else {})


def test_answers_inside_the_fieldwork_dates_are_taken(site):
    with httpx.Client(base_url=site["url"], timeout=30) as c:
        r = post(c, site["links"]["open"]["FW1"], {**answers(), "action": "submit", "lang": "en"})
    assert r.status_code == 200 and t("thanks", "en") in r.text
    assert site["db"].rows("SELECT count(*) FROM response WHERE period = '2031-01'") == [(1,)]


def test_after_fieldwork_answers_are_refused_in_both_languages_and_the_draft_is_kept(site):
    token = site["links"]["over"]["FW1"]
    with httpx.Client(base_url=site["url"], timeout=30) as c:
        q = M.questions[0]
        saved = post(c, token, {q.id: q.codes[0], "action": "save", "lang": "zh"}, as_json=True)
        assert saved.status_code == 200 and saved.json()["saved"], saved.text
        page = c.get(f"/r/{token}")  # the form, with a CSRF token, loaded while fieldwork is on
        move(site, "over", -20, -1)  # fieldwork closed yesterday; the admin has not closed the wave yet
        before = survey_ops.draft(site["db"], token)
        for lang in ("zh", "en"):
            r = c.post(f"/r/{token}", data={**answers(), "action": "submit", "lang": lang,
                                             "csrf_token": csrf(page.text)})
            assert r.status_code == 410
            says = t("fieldwork_over", lang).format(opens=days(-20), last=days(-1))
            assert says in text(r.text) and t("draft_kept", lang) in r.text
        late_save = c.post(f"/r/{token}", data={M.questions[1].id: M.questions[1].codes[0], "action": "save",
                                                 "lang": "en", "csrf_token": csrf(page.text)},
                           headers={"Accept": "application/json"})
        assert late_save.status_code == 410
        assert late_save.json() == {"saved": False, "submitted": False, "reason": "over", "draft_kept": True,
                                    "message": t("fieldwork_over", "en").format(opens=days(-20), last=days(-1))}
        form = c.get(f"/r/{token}", params={"lang": "zh"})
        assert form.status_code == 410 and t("fieldwork_over", "zh").split("{")[0] in form.text
    after = survey_ops.draft(site["db"], token)
    assert after == before and after["answers"] == {q.id: q.codes[0]}  # nothing lost, nothing added
    assert site["db"].rows("SELECT count(*) FROM response WHERE period = '2031-02'") == [(0,)]
    assert site["db"].rows("SELECT count(*) FROM submission WHERE wave_id = 'smei-2031-02'") == [(0,)]


def test_late_answers_are_taken_only_where_the_config_says_so(site):
    move(site, "late", -20, -2)  # closed two days ago: within this wave's three late days
    with httpx.Client(base_url=site["url"], timeout=30) as c:
        r = post(c, site["links"]["late"]["FW2"], {**answers(1), "action": "submit", "lang": "en"})
        assert r.status_code == 200 and t("thanks", "en") in r.text
        token = site["links"]["late"]["FW3"]
        page = c.get(f"/r/{token}")  # opened in time...
        move(site, "late", -20, -4)  # ...posted when fieldwork closed four days ago: past the late days
        r = c.post(f"/r/{token}", data={**answers(2), "action": "submit", "lang": "en", "csrf_token": csrf(page.text)})
        assert r.status_code == 410
        assert t("fieldwork_over", "en").format(opens=days(-20), last=days(-1)) in text(r.text)  # closes + 3 days
    assert site["db"].rows("SELECT firm_id FROM response WHERE period = '2031-03'") == [("FW2",)]


def test_before_fieldwork_opens_the_link_says_when(site):
    token = site["links"]["not_yet"]["FW1"]
    with httpx.Client(base_url=site["url"], timeout=30) as c:
        for lang in ("zh", "en"):
            r = c.get(f"/r/{token}", params={"lang": lang})
            assert r.status_code == 403 and t("fieldwork_not_yet", lang).format(opens=days(2)) in text(r.text)
            assert 'name="csrf_token"' not in r.text  # no form
        r = c.post(f"/r/{token}", data={**answers(), "action": "submit", "lang": "en"},
                   headers={"Accept": "application/json"})
        assert r.status_code in (403, 410)  # without a form there is no CSRF token: refused either way
    assert site["db"].rows("SELECT count(*) FROM draft d JOIN invitation i ON i.token = d.token "
                           "WHERE i.wave_id = 'smei-2031-04'") == [(0,)]


def test_links_expire_by_the_config_even_for_a_firm_that_answered(site):
    token = site["links"]["expired"]["FW1"]
    with httpx.Client(base_url=site["url"], timeout=30) as c:
        assert post(c, token, {**answers(), "action": "submit", "lang": "en"}).status_code == 200
        move(site, "expired", -60, -29)  # day 29 after fieldwork: still the firm's receipt
        receipt = c.get(f"/r/{token}", params={"lang": "en"})
        assert receipt.status_code == 200 and t("already_submitted", "en") in receipt.text
        move(site, "expired", -60, -31)  # day 31: link_expires_days = 30 has passed
        for lang in ("zh", "en"):
            r = c.get(f"/r/{token}", params={"lang": lang})
            assert r.status_code == 410 and t("link_expired", lang) in r.text and "received" not in r.text.lower()


def test_a_closed_wave_refuses_answers_by_default(site):
    token = site["links"]["open"]["FW2"]
    site["db"].execute("UPDATE wave SET status = 'closed' WHERE wave_id = 'smei-2031-01'")
    try:
        with httpx.Client(base_url=site["url"], timeout=30) as c:
            r = c.get(f"/r/{token}", params={"lang": "zh"})
            assert r.status_code == 410 and t("wave_closed", "zh") in r.text
    finally:
        site["db"].execute("UPDATE wave SET status = 'open' WHERE wave_id = 'smei-2031-01'")


@pytest.mark.backends("postgresql")  # Chromium on one backend: the refusals themselves are tested on both above
def test_the_refusal_pages_fit_a_phone_in_both_languages(site, browser):
    move(site, "over", -20, -1)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    try:
        for lang, name in (("zh", "over"), ("en", "over"), ("zh", "not_yet"), ("en", "not_yet")):
            page.goto(f"{site['url']}/r/{site['links'][name]['FW1']}?lang={lang}")
            shown = page.inner_text("#outcome")
            assert shown.startswith(t(f"fieldwork_{name}", lang).split("{")[0])
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
            assert page.evaluate("parseFloat(getComputedStyle(document.querySelector('#outcome')).fontSize)") >= 14
            # each date on one line (Chinese text may break after any character, "2026-12-" / "02" included)
            assert page.evaluate("[...document.querySelectorAll('#outcome .date')].map(e => e.getClientRects().length)"
                                 ) == [1] * (2 if name == "over" else 1)
            if os.environ.get("SMEPULSE_SCREENSHOTS"):
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SHOTS / f"respondent-{name}-{lang}-phone.png"))
        # a respondent whose form is open when fieldwork ends: the autosave says so instead of "saved"
        page.goto(f"{site['url']}/r/{site['links']['open']['FW3']}?lang=en")
        move(site, "open", -20, -1)
        q = M.questions[0]
        page.check(f"input[name={q.id}][value={q.codes[0]}]")
        over = t("fieldwork_over", "en").format(opens=days(-20), last=days(-1))
        page.wait_for_function("t => document.querySelector('[data-status]').textContent === t", arg=over)
    finally:
        move(site, "open", *WAVES["open"][1:])
        phone.close()


def test_the_policy_file_is_checked_key_by_key(tmp_path):
    assert load_policy(None) == LinkPolicy()
    good = tmp_path / "good.toml"
    good.write_text('[respondents]\nlate_days = 2\ntimezone = "Asia/Shanghai"\n[respondents.wave."smei-2031-01"]\n'
                    "late_days = 5\n", encoding="utf-8")
    p = load_policy(good)
    assert (p.late_days, p.timezone, p.for_wave("smei-2031-01").late_days, p.for_wave("x").late_days) == \
        (2, "Asia/Shanghai", 5, 2)
    assert p.for_wave("smei-2031-01").timezone == "Asia/Shanghai"  # a wave's table overrides only what it names
    for text, says in [("[respondents]\nlate_dayz = 1\n", "unknown key 'late_dayz'"),
                       ("[respondents]\nlate_days = -1\n", "respondents.late_days = -1"),
                       ("[respondents]\nlate_days = true\n", "respondents.late_days = True"),
                       ("[respondents]\ntimezone = \"Mars/Olympus\"\n", "not a time zone"),
                       ("[respondents]\nlate_days = 5\nlink_expires_days = 2\n", "before the last late day"),
                       ("[respondents.wave.w1]\nlate_days = \"3\"\n", "respondents.wave.w1.late_days"),
                       ("[smtp]\nhost = \"x\"\n", "unknown table [smtp]"),
                       ("[respondents\n", "not valid TOML")]:
        bad = tmp_path / "bad.toml"
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(InputError) as err:
            load_policy(bad)
        assert says in str(err.value) and "bad.toml" in str(err.value), str(err.value)
        assert "\n" not in str(err.value)  # one line
