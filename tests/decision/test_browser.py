"""The applicant's run in a real browser (Debian Chromium via the session `browser` fixture): apply in
zh on a phone-sized viewport, see the decision and its reasons, ask for a human review; then risk staff
sign in and find the request in the review queue. The applicant's run is timed (the issue: well under
three minutes for a new user; a script is faster than a person, so this bounds the machine's part)."""
from __future__ import annotations

import re
import time

from smepulse.decision.uscc import firm_code

from .conftest import STAFF

PHONE = {"width": 390, "height": 844}


def test_apply_in_zh_on_a_phone_then_staff_see_the_review_queue(browser, server, sim_book):
    code = firm_code(sim_book["firms"][90])
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    page = ctx.new_page()
    t0 = time.perf_counter()
    page.goto(f"{server}/apply")  # zh is the default language
    assert page.locator("h1").inner_text() == "申请经营贷款"
    page.fill("#uscc", code)
    page.fill("#amount", "2000000")  # beyond any limit here: a lower limit or a decline, explained
    page.select_option("#term", "12")
    page.select_option("#purpose", "working_capital")
    page.check("#consent")
    page.click("#submit")
    page.wait_for_selector("#decision")
    outcome = page.locator("#decision").inner_text()
    assert outcome in ("已批准", "未通过", "已转人工审核")
    reasons = page.locator("#reasons li").all_inner_texts()
    assert reasons and all(re.search("[\u4e00-\u9fff]", r) for r in reasons)
    # the form fits the phone: nothing wider than the viewport
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.fill("#note", "上月营业额已到账")
    page.click("#review")
    page.wait_for_selector("#review-sent")
    elapsed = time.perf_counter() - t0
    assert "复核申请已进入队列" in page.locator("#review-sent").inner_text()
    decision_id = page.url.split("/apply/decisions/")[1].split("?")[0]
    ctx.close()
    assert elapsed < 60, f"the applicant's run took {elapsed:.1f} s"
    print(f"\napplicant's run (apply, decision, review request) in Chromium: {elapsed:.2f} s")

    staff = browser.new_context(viewport={"width": 1280, "height": 800})
    p = staff.new_page()
    p.goto(f"{server}/admin/credit/reviews")
    assert "/signin" in p.url  # staff only
    p.fill("input[name=username]", STAFF[0])
    p.fill("input[name=password]", STAFF[1])
    p.click("button[type=submit]")
    p.goto(f"{server}/admin/credit/reviews")
    p.wait_for_selector("#queue")
    assert decision_id in p.locator("#queue").inner_text()
    assert "上月营业额已到账" in p.locator("#queue").inner_text()  # the applicant's note, for the reviewer
    staff.close()


def test_a_wrong_check_character_is_explained_in_the_pages_language(browser, server, sim_book):
    good = firm_code(sim_book["firms"][91])
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    for lang, viewport, words, other in (("zh", PHONE, "校验码", "check character"),
                                         ("en", {"width": 1280, "height": 800}, "check character", "校验码")):
        ctx = browser.new_context(viewport=viewport)
        page = ctx.new_page()
        page.goto(f"{server}/apply?lang={lang}")
        page.fill("#uscc", wrong)
        page.check("#consent")
        page.click("#submit")
        alert = page.locator("p.error[role=alert]")
        alert.wait_for()
        assert words in alert.inner_text() and other not in page.content()
        assert page.input_value("#uscc") == wrong  # the code is kept to correct it
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        ctx.close()
