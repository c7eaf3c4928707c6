"""The decision API and the apply flow over real HTTP (uvicorn on loopback)."""
from __future__ import annotations

import json
import re
import shutil
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from datetime import date as date_
from html import unescape

import httpx
import pytest

from live_server import Server
from smepulse.decision.errors import DecisionUnavailable
from smepulse.decision.policy import DEFAULT_DIR
from smepulse.decision.prefill import SECTOR_WORDS
from smepulse.decision.uscc import firm_code
from smepulse.web.app import create_app
from smepulse.web.apply import check_at_start
from smepulse.web.config import WebConfig

from .conftest import ADMIN, AS_OF, STAFF


def body(fid, amount=80_000):
    return {"uscc": firm_code(fid), "amount": amount, "term_months": 12, "application_date": AS_OF.isoformat(),
            "consent": {"given": True, "text_version": "consent-2026-12", "given_at": "2024-12-01T08:00:00Z"}}


def test_decision_api_contract_and_idempotency(server, sim_book):
    fid = sim_book["firms"][5]
    r = httpx.post(f"{server}/api/v1/credit/decisions", json=body(fid), headers={"Idempotency-Key": "k-1"})
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["decision"] in ("approve", "decline", "refer") and a["decision_id"].startswith("dec-")
    for k in ("pd", "limit", "annual_rate", "reasons", "programmes"):
        assert k in a
    assert all(set(x) >= {"code", "en", "zh"} for x in a["reasons"])
    again = httpx.post(f"{server}/api/v1/credit/decisions", json=body(fid), headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 200 and again.json()["decision_id"] == a["decision_id"] and again.json()["replayed"]
    other = httpx.post(f"{server}/api/v1/credit/decisions", json=body(fid, 90_000), headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 409
    bad = httpx.post(f"{server}/api/v1/credit/decisions", json={**body(fid), "uscc": "9144030071526726XH"})
    assert bad.status_code == 422 and "check character" in bad.json()["detail"]
    form = httpx.post(f"{server}/api/v1/credit/decisions", content=b"uscc=x", headers={
        "content-type": "application/x-www-form-urlencoded"})
    assert form.status_code in (415, 422)


def test_openapi_examples_are_valid_applications(server):
    """Valid against this book (the example firms are not in it: referred); test_demo_examples decides
    them on a demo-built book."""
    spec = httpx.get(f"{server}/openapi.json").json()
    op = spec["paths"]["/api/v1/credit/decisions"]["post"]
    for name, ex in op["requestBody"]["content"]["application/json"]["examples"].items():
        r = httpx.post(f"{server}/api/v1/credit/decisions", json={**ex["value"], "application_date": AS_OF.isoformat()})
        assert r.status_code == 201 and r.json()["decision"] == "refer", (name, r.text)


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_apply_in_zh_see_reasons_request_review_staff_queue(server, sim_book):
    with httpx.Client(base_url=server, follow_redirects=True) as c:
        page = c.get("/apply?lang=zh")
        assert page.status_code == 200 and "统一社会信用代码" in page.text and "授权书版本" in page.text
        fid = sim_book["firms"][7]
        d = c.post("/apply?lang=zh", data={"csrf_token": _token(page.text), "uscc": firm_code(fid),
                                            "amount": "2000000", "term_months": "12", "purpose": "working_capital",
                                            "consent": "yes", "lang": "zh"})
        assert d.status_code == 200 and "审批结果" in d.text, d.text[:500]
        assert "<ol id='reasons'>" in d.text  # 2,000,000 is beyond any limit here: lower limit or decline, explained
        assert re.search("[\u4e00-\u9fff]", d.text.split("<ol id='reasons'>")[1])
        no_token = c.post(d.url.path + "/review", data={})
        assert no_token.status_code == 403
        sent = c.post(d.url.path + "/review?lang=zh", data={"csrf_token": _token(d.text)})
        assert "复核申请已进入队列" in sent.text
        decision_id = d.url.path.rsplit("/", 1)[1]
    with httpx.Client(base_url=server) as anon:
        assert anon.get("/admin/credit/reviews").status_code in (303, 401)
    with httpx.Client(base_url=server, follow_redirects=True) as staff:
        p = staff.get("/signin")
        staff.post("/signin", data={"csrf_token": _token(p.text), "username": STAFF[0], "password": STAFF[1],
                                    "next": "/admin/credit/reviews"})
        q = staff.get("/admin/credit/reviews")
        assert q.status_code == 200 and decision_id in q.text


def _approved(server, sim_book, start: int, amount=30_000) -> tuple[int, dict]:
    for fid in sim_book["firms"][start:]:
        r = httpx.post(f"{server}/api/v1/credit/decisions", json=body(fid, amount))
        if r.json()["decision"] == "approve":
            return fid, r.json()
    raise AssertionError("no approval in the book")


def test_accept_api_books_one_loan_and_refuses_what_is_not_an_approval(server, sim_book):
    fid, dec = _approved(server, sim_book, 20)
    url = f"{server}/api/v1/credit/decisions/{dec['decision_id']}/accept"
    first = httpx.post(url)
    assert first.status_code == 201, first.text
    loan = first.json()
    assert loan["amount"] == dec["limit"] == 30_000 and loan["annual_rate"] == dec["annual_rate"]
    assert loan["start_date"] == "2024-12-01" and loan["maturity_date"] == "2025-12-01" and not loan["replayed"]
    again = httpx.post(url)
    assert again.status_code == 200 and again.json()["loan_id"] == loan["loan_id"] and again.json()["replayed"]
    assert httpx.post(f"{server}/api/v1/credit/decisions/dec-nope/accept").status_code == 404
    refused = httpx.post(f"{server}/api/v1/credit/decisions", json={**body(fid), "consent": {
        "given": False, "text_version": "consent-2026-12"}}).json()
    assert refused["decision"] == "decline"
    no = httpx.post(f"{server}/api/v1/credit/decisions/{refused['decision_id']}/accept")
    assert no.status_code == 409 and "only an approved offer" in no.json()["detail"]
    spec = httpx.get(f"{server}/openapi.json").json()
    assert "/api/v1/credit/decisions/{decision_id}/accept" in spec["paths"]


def test_accept_on_the_decision_page(server, sim_book):
    _, dec = _approved(server, sim_book, 40)
    with httpx.Client(base_url=server, follow_redirects=True) as c:
        page = c.get(f"/apply/decisions/{dec['decision_id']}?lang=en")
        assert 'id="accept"' in page.text
        assert c.post(f"/apply/decisions/{dec['decision_id']}/accept", data={}).status_code == 403  # CSRF
        done = c.post(f"/apply/decisions/{dec['decision_id']}/accept?lang=en", data={"csrf_token": _token(page.text)})
        assert done.status_code == 200 and "Your loan is booked" in done.text and 'id="accept"' not in done.text
        assert f"loan-{dec['decision_id']}" in done.text


def _sign_in(c: httpx.Client) -> None:
    p = c.get("/signin")
    c.post("/signin", data={"csrf_token": _token(p.text), "username": STAFF[0], "password": STAFF[1], "next": "/admin"})


def test_invitation_link_prefills_what_the_lender_knows(server, sim_book):
    fid = sim_book["firms"][60]
    code = firm_code(fid)
    prior = httpx.post(f"{server}/api/v1/credit/decisions", json={**body(fid, 77_000), "term_months": 24,
                                                                  "purpose": "inventory"})
    assert prior.status_code == 201
    snap = sim_book["features"]
    with httpx.Client(base_url=server) as anon:
        assert anon.get(f"/admin/credit/invite?uscc={code}").status_code in (303, 401)
    with httpx.Client(base_url=server, follow_redirects=True) as staff:
        _sign_in(staff)
        page = staff.get(f"/admin/credit/invite?uscc={code}")
        link = re.search(r"id='invite' href='([^']+)'", page.text).group(1).replace("&amp;", "&")
        assert "invite=" in link and code not in link  # the token names the firm; the link does not show it
        assert "check character" in staff.get("/admin/credit/invite?uscc=911101080000000195").text
    with httpx.Client(follow_redirects=True) as firm:
        p = firm.get(link + "&lang=zh")
        assert f'value="{code}"' in p.text and 'value="77000"' in p.text
        assert "<option selected>24</option>" in p.text and '<option value="inventory" selected>备货</option>' in p.text
        sector = snap.loc[snap["firm_id"] == fid, "sector"].iloc[0]
        assert "我们已掌握的企业信息" in p.text and SECTOR_WORDS[sector][1] in p.text
        assert "revenue" not in p.text.lower() and "营业收入" not in p.text
    with httpx.Client(base_url=server) as other:
        bad = other.get("/apply?lang=en&invite=" + link.split("invite=")[1][:-3] + "xyz")
        assert "invalid or expired" in bad.text and 'id="known"' not in bad.text and code not in bad.text


def test_the_session_remembers_the_last_application(server, sim_book):
    code = firm_code(sim_book["firms"][61])
    with httpx.Client(base_url=server, follow_redirects=True) as c:
        page = c.get("/apply?lang=en")
        assert 'id="uscc" name="uscc" required maxlength="18"\n value=""' in page.text and 'value="100000"' in page.text
        c.post("/apply?lang=en", data={"csrf_token": _token(page.text), "uscc": code, "amount": "45000",
                                       "term_months": "6", "purpose": "equipment", "consent": "yes", "lang": "en"})
        again = c.get("/apply?lang=en")
        assert f'value="{code}"' in again.text and 'value="45000"' in again.text
        assert "<option selected>6</option>" in again.text and "What we already know" in again.text


def test_two_open_offers_for_one_firm_cannot_both_be_booked_above_its_limit(server, sim_book):
    """Both decisions see the same exposure (nothing booked yet), so each offers the firm's whole
    capacity; once the first is booked the second would go over it: 409, no loan, the first stays."""
    big = 2_000_000  # above any capacity here: each offer is the firm's capacity
    fid, first = next((f, r) for f in sim_book["firms"][100:]
                      for r in [httpx.post(f"{server}/api/v1/credit/decisions", json=body(f, big)).json()]
                      if r["decision"] == "approve" and 20_000 <= r["limit"] < big)
    second = httpx.post(f"{server}/api/v1/credit/decisions", json=body(fid, first["limit"])).json()
    assert second["decision"] == "approve" and second["limit"] == first["limit"]  # fits alone
    ok = httpx.post(f"{server}/api/v1/credit/decisions/{first['decision_id']}/accept")
    assert ok.status_code == 201 and ok.json()["amount"] == first["limit"]
    no = httpx.post(f"{server}/api/v1/credit/decisions/{second['decision_id']}/accept")
    assert no.status_code == 409 and "no longer fits the firm's exposure limit" in no.json()["detail"], no.text
    assert "apply again" in no.json()["detail"]
    again = httpx.post(f"{server}/api/v1/credit/decisions/{first['decision_id']}/accept")
    assert again.status_code == 200 and again.json()["loan_id"] == ok.json()["loan_id"]  # the first stays booked
    with httpx.Client(base_url=server, follow_redirects=True) as c:  # the decision page says why, no button
        page = c.get(f"/apply/decisions/{second['decision_id']}?lang=zh")
        done = c.post(f"/apply/decisions/{second['decision_id']}/accept?lang=zh",
                      data={"csrf_token": _token(page.text)})
        assert "授信上限" in done.text and 'id="accept"' not in done.text and "贷款已发放" not in done.text
    refused = httpx.post(f"{server}/api/v1/credit/decisions/{second['decision_id']}/accept")
    assert refused.status_code == 409  # still nothing booked for the second offer
    page = httpx.get(f"{server}/apply/decisions/{second['decision_id']}?lang=en")
    assert 'id="accept"' in page.text and "Your loan is booked" not in page.text



def _post_apply(server: str, lang: str, code: str, amount: str = "100000") -> httpx.Response:
    with httpx.Client(base_url=server, follow_redirects=True) as c:
        page = c.get(f"/apply?lang={lang}")
        return c.post(f"/apply?lang={lang}", data={"csrf_token": _token(page.text), "uscc": code, "amount": amount,
                                                    "term_months": "12", "purpose": "working_capital",
                                                    "consent": "yes", "lang": lang})


def _alert(html: str) -> str:
    return unescape(re.search(r'<p class="error" role="alert">([^<]*)</p>', html).group(1))


def test_the_apply_page_says_what_is_wrong_in_its_own_language(server, sim_book):
    good = firm_code(sim_book["firms"][3])
    wrong = good[:17] + ("0" if good[17] != "0" else "1")  # a wrong check character
    zh = _post_apply(server, "zh", wrong)
    assert zh.status_code == 422 and 'value="' + wrong + '"' in zh.text  # the form again, the code kept
    assert _alert(zh.text) == (f"统一社会信用代码“{wrong}”的校验码为“{wrong[17]}”，"
                               f"按前17位应为“{good[17]}”，请按营业执照重新输入")
    assert not re.search("[A-Za-z]{3,}", _alert(zh.text).replace(wrong, ""))  # no English words in the message
    en = _post_apply(server, "en", wrong)
    assert en.status_code == 422 and _alert(en.text) == (
        f"unified social credit code '{wrong}': check character is '{wrong[17]}', the first 17 characters give "
        f"'{good[17]}'; re-type the code from the licence")
    assert not re.search("[\u4e00-\u9fff]", _alert(en.text))
    assert _alert(_post_apply(server, "zh", good[:10]).text) == f"统一社会信用代码“{good[:10]}”为10位，应为18位"
    for amount in ("-5", "abc", "nan", "60000000"):  # other fields: the page's words too, no JSON error
        r = _post_apply(server, "zh", good, amount)
        assert r.status_code == 422 and _alert(r.text) == "金额须为大于0且不超过50,000,000元的数字。", amount
    assert _alert(_post_apply(server, "en", good, "0").text).startswith("The amount must be a number")
    assert "call us" not in httpx.get(f"{server}/apply?lang=zh&error=call+us").text  # no message from the URL


HAN = re.compile("[\u4e00-\u9fff]")


def _api(server, payload, lang_header=None, key=None, **kw):
    headers = {**({"Accept-Language": lang_header} if lang_header else {}), **({"Idempotency-Key": key} if key else {})}
    if "content" in kw:
        headers["content-type"] = kw.pop("content_type", "application/json")
        return httpx.post(f"{server}/api/v1/credit/decisions", headers=headers, **kw)
    return httpx.post(f"{server}/api/v1/credit/decisions", json=payload, headers=headers)


def test_api_applicants_choose_chinese_by_lang_or_accept_language(server, sim_book):
    unknown = {**body(99_999_001), "lang": "zh"}  # a valid code the lender has no data on: referred, one reason
    r = _api(server, unknown, key="zh-1")
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["lang"] == "zh" and a["decision"] == "refer"
    assert a["reasons"] == [{"code": "RF_UNKNOWN_FIRM", "en": "We hold no data on this business yet",
                             "zh": "我们尚无该企业的数据", "text": "我们尚无该企业的数据"}]  # both kept (contract)
    assert a["message"] == "已转人工审核：我们的工作人员将审阅本次申请。主要原因：我们尚无该企业的数据。"
    # a retry in English is the same application (lang is not part of it): a replay, said in English
    again = _api(server, {**unknown, "lang": "en"}, key="zh-1")
    assert again.status_code == 200 and again.json()["decision_id"] == a["decision_id"]
    assert again.json()["message"].startswith("Referred to our team") and again.json()["reasons"][0]["text"] == \
        "We hold no data on this business yet"
    by_header = _api(server, body(99_999_002), lang_header="zh-CN,zh;q=0.9,en;q=0.8").json()
    assert by_header["lang"] == "zh" and HAN.search(by_header["message"])
    default = _api(server, body(99_999_003)).json()
    assert default["lang"] == "en" and not HAN.search(default["message"])
    approved = _api(server, {**body(sim_book["firms"][5]), "lang": "zh"}).json()
    assert all(x["text"] == x["zh"] and x["en"] for x in approved["reasons"])
    if approved["decision"] == "approve":
        assert approved["message"].startswith("已批准：额度") and f"{approved['annual_rate'] * 100:.2f}%" in \
            approved["message"]


def test_api_errors_follow_the_applicants_language(server, sim_book):
    good = firm_code(sim_book["firms"][3])
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    r = _api(server, {**body(sim_book["firms"][3]), "uscc": wrong, "lang": "zh"})
    assert r.status_code == 422 and r.json()["detail"] == (
        f"统一社会信用代码“{wrong}”的校验码为“{wrong[17]}”，按前17位应为“{good[17]}”，请按营业执照重新输入")
    assert "check character" in r.json()["detail_en"]  # the English text kept for operators
    en = _api(server, {**body(sim_book["firms"][3]), "uscc": wrong})
    assert en.status_code == 422 and "check character" in en.json()["detail"] and "detail_en" not in en.json()
    cases = {  # field -> (bad body, Chinese message)
        "amount": ({"amount": -5}, "金额须为大于0且不超过50,000,000元的数字。"),
        "term": ({"term_months": 99}, "期限须为1至60之间的整月数。"),
        "purpose": ({"purpose": "holiday"}, "请从列表中选择用途。"),
        "consent": ({"consent": {"given": True}}, None),
        "extra": ({"colour": "red"}, "“colour”不是申请中的字段"),
        "date": ({"application_date": "yesterday"}, "application_date 须为日期（YYYY-MM-DD）"),
    }
    for name, (change, zh) in cases.items():
        r = _api(server, {**body(sim_book["firms"][3]), **change}, lang_header="zh-CN")
        assert r.status_code == 422 and r.json()["lang"] == "zh", (name, r.text)
        d = r.json()["detail"]
        assert d == zh if zh else d.startswith("consent 须包含 given"), (name, d)
        assert HAN.search(d), name
    missing = _api(server, {k: v for k, v in body(sim_book["firms"][3]).items() if k != "uscc"} | {"lang": "zh"})
    assert missing.status_code == 422 and missing.json()["detail"] == "请填写统一社会信用代码（18位）"
    assert _api(server, {**body(sim_book["firms"][3]), "lang": "fr"}).json()["detail"] == "lang must be 'en' or 'zh'"
    not_json = _api(server, None, lang_header="zh", content=b"{not json")
    assert not_json.status_code == 422 and not_json.json()["detail"].startswith("请求内容不是有效的 JSON")
    assert _api(server, None, lang_header="zh", content=b"[1, 2]").json()["detail"] == "申请须为一个 JSON 对象"
    assert _api(server, None, lang_header="zh", content=b'{"uscc": "\xff"}').status_code == 400
    form = _api(server, None, lang_header="zh", content=b"uscc=x", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415 and form.json()["detail"] == "请以 application/json 格式提交申请"
    _api(server, body(99_999_004), key="zh-2")
    clash = _api(server, {**body(99_999_004, 90_000), "lang": "zh"}, key="zh-2")
    assert clash.status_code == 409 and clash.json()["detail"] == \
        "Idempotency-Key 'zh-2' 已用于另一份申请内容；新申请请使用新的键"


def test_openapi_documents_the_language_choice(server):
    op = httpx.get(f"{server}/openapi.json").json()["paths"]["/api/v1/credit/decisions"]["post"]
    assert "Accept-Language" in op["description"] and '"lang": "zh"' in op["description"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["lang"]["enum"] == ["zh", "en"] and "uscc" in schema["required"]


def test_application_dates_in_the_future_or_too_old_and_odd_amounts_are_refused(server, sim_book):
    today = datetime.now(UTC).date()
    fid = sim_book["firms"][9]
    too_old = AS_OF - timedelta(days=400)  # the test server's policy reaches back to AS_OF plus a year (conftest)
    for d in (today + timedelta(days=1), date_(2099, 1, 1), too_old):
        r = _api(server, {**body(fid), "application_date": d.isoformat()})
        assert r.status_code == 422, (d, r.text)
        assert r.json()["detail"].startswith(f"application field 'application_date': {d.isoformat()} is "), r.text
    zh = _api(server, {**body(fid), "application_date": "2099-01-01", "lang": "zh"}).json()["detail"]
    assert zh == f"申请日期 2099-01-01 晚于今天（{today.isoformat()}，UTC），不能受理未来日期的申请"
    assert _api(server, {**body(fid), "application_date": today.isoformat()}).status_code == 201
    nan = _api(server, None, content=json.dumps({**body(fid), "amount": float("nan")}).encode())
    assert nan.status_code == 422 and "amount must be a finite number" in nan.json()["detail"], nan.text
    text = _api(server, {**body(fid), "amount": "200000"})
    assert text.status_code == 422 and "application field 'amount'" in text.json()["detail"]
    assert _api(server, {**body(fid), "term_months": "12"}).status_code == 422


def test_a_tampered_model_or_a_bad_policy_closes_applications_with_one_line(sim_book, tmp_path):
    bad_model = tmp_path / "champion"
    shutil.copytree(sim_book["model_dir"], bad_model)
    with open(bad_model / "lightgbm.txt", "a", encoding="utf-8") as fh:
        fh.write("\n")  # one byte more than its manifest says
    bad_policy = tmp_path / "policy"
    shutil.copytree(DEFAULT_DIR, bad_policy)
    (bad_policy / "bands.json").write_text("{not json", encoding="utf-8")
    for extra, why in (({"credit_model": str(bad_model)}, "does not match its sha256"),
                       ({"credit_model": str(sim_book["model_dir"]), "credit_policy": str(bad_policy)},
                        "bands.json is not a JSON decision model")):
        store = tmp_path / f"store-{len(why)}.duckdb"
        shutil.copy(sim_book["store"], store)
        app = create_app(WebConfig(store=store, release_charts=False, extra=extra))
        with pytest.raises(DecisionUnavailable, match=f"the decision service cannot start: .*{why}") as err:
            check_at_start(app)  # what `serve` runs before it listens
        assert "\n" not in str(err.value)
        srv = Server(app).start()
        try:
            r = httpx.post(f"{srv.url}/api/v1/credit/decisions", json={**body(sim_book["firms"][1]), "lang": "zh"})
            assert r.status_code == 503
            assert r.json()["detail"] == "审批服务暂不可用（模型或政策文件无法加载），请稍后再试"
            assert why in r.json()["detail_en"]
            page = httpx.get(f"{srv.url}/apply?lang=zh")
            assert page.status_code == 503 and "暂时无法受理申请" in page.text and "Traceback" not in page.text
            assert httpx.get(f"{srv.url}/apply?lang=en").status_code == 503
        finally:
            srv.stop()
            app.state.db.close()


@contextmanager
def _signed_in(server, who):
    with httpx.Client(base_url=server, follow_redirects=True) as c:
        p = c.get("/signin")
        c.post("/signin", data={"csrf_token": _token(p.text), "username": who[0], "password": who[1], "next": "/admin"})
        yield c


def test_review_requests_once_with_the_note_then_an_admin_resolves_and_the_applicant_sees_it(server, sim_book):
    with httpx.Client(base_url=server, follow_redirects=True) as c:
        page = c.get("/apply?lang=zh")
        code = firm_code(sim_book["firms"][11])
        d = c.post("/apply?lang=zh", data={"csrf_token": _token(page.text), "uscc": code, "amount": "3000000",
                                            "term_months": "12", "purpose": "working_capital", "consent": "yes",
                                            "lang": "zh"})
        decision_id = d.url.path.rsplit("/", 1)[1]
        note = "营业额上月刚入账 <b>"
        for _ in range(2):  # a second tap: the same request
            c.post(d.url.path + "/review?lang=zh", data={"csrf_token": _token(d.text), "note": note})
    with _signed_in(server, STAFF) as viewer:
        q = viewer.get("/admin/credit/reviews?lang=zh")
        mine = [row for row in q.text.split("<tr id='")[1:] if decision_id in row]
        assert len(mine) == 1  # deduplicated
        assert "营业额上月刚入账 &lt;b&gt;" in mine[0] and "申请人留言" in q.text and "自动审批结果" in q.text
        assert "处理复核需要管理员权限" in mine[0] and "<form" not in mine[0]  # viewers see, admins resolve
        review_id = mine[0].split("'")[0]
        token = _token(viewer.get("/apply").text)  # a valid CSRF token of the viewer's session
        refused = viewer.post(f"/admin/credit/reviews/{review_id}/resolve", data={"csrf_token": token,
                                                                                 "outcome": "upheld"})
        assert refused.status_code == 403 and "admin role" in refused.text
    with _signed_in(server, ADMIN) as admin:
        q = admin.get("/admin/credit/reviews?lang=en")
        assert "Applicant&#x27;s note" in q.text or "Applicant's note" in q.text
        assert admin.post(f"/admin/credit/reviews/{review_id}/resolve",
                          data={"outcome": "upheld"}).status_code == 403  # no CSRF token
        r = admin.post(f"/admin/credit/reviews/{review_id}/resolve?lang=en",
                       data={"csrf_token": _token(q.text), "outcome": "upheld", "note": "revenue checked"})
        assert r.status_code == 200 and review_id not in r.text.split("id='resolved'")[0]
        resolved = r.text.split("id='resolved'")[1]
        assert decision_id in resolved and "Upheld" in resolved and ADMIN[0] in resolved
        assert "revenue checked" in resolved
        again = admin.post(f"/admin/credit/reviews/{review_id}/resolve?lang=en",
                           data={"csrf_token": _token(q.text), "outcome": "revised"})
        assert again.status_code == 409 and "already resolved" in again.text
    seen = httpx.get(f"{server}{d.url.path}?lang=zh")
    assert "人工复核结果" in seen.text and "维持（原决定有效）" in seen.text and "revenue checked" in seen.text


def test_the_decision_api_fast_route_keeps_the_body_limit_and_the_documented_route(server, sim_book):
    """POST /api/v1/credit/decisions is answered past the session and the router (web/app.py FastRoutes) but
    inside the body limit, and the route stays declared: another method on the path is still a 405, a body over
    the app's limit a 413 before anything is decided, and a signed-in browser's session cookie is neither read
    nor re-issued by the API."""
    too_big = b'{"uscc": "' + b"9" * 2_100_000 + b'"}'
    r = _api(server, None, content=too_big)
    assert r.status_code == 413, r.text
    assert httpx.get(f"{server}/api/v1/credit/decisions").status_code == 405
    with httpx.Client(base_url=server) as c:
        page = c.get("/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text[:300]
        c.post("/signin", data={"username": STAFF[0], "password": STAFF[1], "csrf_token": token.group(1)})
        assert "smepulse_session" in c.cookies
        r = c.post("/api/v1/credit/decisions", json=body(sim_book["firms"][3]), headers={"Idempotency-Key": "fast-1"})
        assert r.status_code == 201 and "set-cookie" not in r.headers, (r.status_code, r.headers)
        again = c.post("/api/v1/credit/decisions", json=body(sim_book["firms"][3]),
                       headers={"Idempotency-Key": "fast-1"})
        assert again.status_code == 200 and again.json()["decision_id"] == r.json()["decision_id"]
