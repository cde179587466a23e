"""The core flow in a real browser, one person per browser context, through the pages only.

An official sets up a county subsidy; an SME registers (choosing its password through the
e-mailed link), fills its profile, posts a need, sees recommendations with reasons, searches,
requests a package; the provider quotes; the SME sees the price after subsidy and accepts;
delivery and acceptance; the official approves and pays the claim; the region's dashboard
counts the deal. Each step asserts what the page shows and
saves a screenshot; any console error, uncaught error or CSP violation fails the test.
"""

from __future__ import annotations

import random
import re
import time

import pytest

from marketplace import creditcode

try:
    from playwright.sync_api import expect
except ImportError:
    pytest.skip("browser journeys need the playwright package: pip install -e '.[test]'",
                allow_module_level=True)

PROGRAM = "虎丘区中小企业智改数转普惠补贴"
SME_EMAIL = "li@hqzs.example"
SME_COMPANY = "苏州虎丘精密注塑有限公司"
NEED_TITLE = "注塑车间设备联网，看清停机原因"
QUOTE_YUAN = "36000"
PAYMENT_REFERENCE = "HQCZ-2026-0001"


def login(actor, email: str, password: str) -> None:
    page = actor.page
    page.goto("/auth/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def mailed_link(server, to: str, kind: str) -> str:
    """The link of the newest e-mail of ``kind`` to ``to``: the default (logging) backend
    writes each e-mail as a line of the server's log."""
    pattern = re.compile(rf"email to={re.escape(to)} kind={kind} subject=.* link=(\S+)")
    deadline = time.monotonic() + 10
    while True:
        found = pattern.findall(server.log.read_text(errors="replace"))
        if found or time.monotonic() > deadline:
            assert found, f"no {kind} e-mail to {to} in the server log:\n{server.log_tail()}"
            return found[-1]
        time.sleep(0.1)


def open_menu(page, menu: str, item: str) -> None:
    """A navigation dropdown (Bootstrap's script must work under the CSP) and one of its items."""
    page.get_by_role("button", name=menu, exact=True).click()
    page.locator(".dropdown-menu.show").get_by_role("link", name=item, exact=True).click()


def flash(page, text: str):
    return expect(page.get_by_role("alert").filter(has_text=text)).to_be_visible()


def test_sme_buys_a_subsidised_package_and_the_official_pays(journey, world, live_server):
    seeded, _workdir = world

    # -- the county official starts a subsidy program ------------------------------------------
    official = journey.actor("official")
    login(official, seeded.official_email, seeded.password)
    page = official.page
    open_menu(page, "政府工作", "补贴政策")
    expect(page.get_by_role("heading", name="本地区的补贴政策")).to_be_visible()
    page.get_by_role("link", name="设立补贴政策").click()
    expect(page.get_by_role("heading", name="设立补贴政策")).to_be_visible()
    page.fill("#name", PROGRAM)
    page.fill("#policy_basis", "虎工信〔2026〕8号")
    page.select_option("#mode", "percent")
    page.fill("#rate_bp", "50")
    page.fill("#per_order_cap_fen", "10000")
    page.fill("#per_enterprise_cap_fen", "20000")
    page.fill("#budget_fen", "100000")
    page.fill("#starts_on", seeded.days_from_today(-1))
    page.fill("#ends_on", seeded.days_from_today(365))
    official.shot("program-form")
    page.get_by_role("button", name="保存").click()
    flash(page, "补贴政策已保存为草稿")
    page.get_by_role("button", name="启动实施").click()
    flash(page, "政策已启动实施。")
    expect(page.get_by_text(f"{seeded.county_label} · 实施中")).to_be_visible()
    official.shot("program-active")

    # -- an SME registers and fills its profile ------------------------------------------------
    sme = journey.actor("sme")
    page = sme.page
    page.goto("/")
    page.get_by_role("link", name="注册", exact=True).click()
    page.check("input[name=role][value=sme]")
    page.fill("#display_name", "李经理")
    page.fill("#email", SME_EMAIL)
    sme.shot("register")
    page.get_by_role("button", name="注册").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    flash(page, "请按邮件中的链接设置密码、完成注册")
    page.goto(mailed_link(live_server, SME_EMAIL, "signup"))
    expect(page.get_by_role("heading", name="完成注册")).to_be_visible()
    page.fill("#password", seeded.password)
    page.fill("#confirm", seeded.password)
    sme.shot("choose-password")
    page.get_by_role("button", name="完成注册").click()
    expect(page).to_have_url(re.compile(r"/profile/edit$"))
    flash(page, "注册成功。请先完善单位信息。")
    code = creditcode.generate(random.Random(2026), seeded.county_code)
    page.fill("#name", SME_COMPANY)
    page.fill("#credit_code", code)
    page.fill("#employees", "80")
    page.fill("#revenue_wan", "1500")
    page.select_option("#county_code", seeded.county_code)
    page.select_option("#industry_code", "C29")
    sme.shot("enterprise-profile")
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    flash(page, "企业信息已保存，规模类型：小型")
    sme.shot("dashboard")

    # -- posts a need and sees recommendations with reasons ------------------------------------
    open_menu(page, "我的企业", "发布需求")
    page.fill("#title", NEED_TITLE)
    page.fill("#description", "车间二十台注塑机老是停机，停多久、为什么停都靠班组长手写记录，"
                              "想把机器联网，实时看到开机率和停机原因。")
    page.select_option("#category_code", "device_monitoring")
    page.select_option("#scenario_level_code", "workshop")
    page.fill("#budget_min_fen", "20000")
    page.fill("#budget_max_fen", "50000")
    sme.shot("need-form")
    # the page posts back what it recommended (a script, with the CSRF token)
    with page.expect_response(lambda r: r.url.endswith("/impressions")) as beacon:
        page.get_by_role("button", name="保存").click()
    assert beacon.value.status == 204
    expect(page).to_have_url(re.compile(r"/needs/\d+$"))
    flash(page, "需求已发布。")
    expect(page.get_by_role("heading", name="为这条需求推荐的方案包")).to_be_visible()
    suggestion = page.locator(".list-group-item").filter(
        has=page.get_by_role("link", name=seeded.package_title, exact=True))
    expect(suggestion).to_have_count(1)
    reasons = suggestion.locator(".badge")
    expect(reasons.first).to_be_visible()
    expect(suggestion).to_contain_text(re.compile("都涉及|共同关键词|类别一致"))
    expect(suggestion).to_contain_text("补贴后 ¥6,400")
    expect(suggestion.get_by_role("button", name="申请对接")).to_be_visible()
    sme.shot("need-with-recommendations")

    # -- searches from the navigation bar and requests the package from its page ---------------
    page.get_by_role("searchbox", name="搜索").fill("注塑机 停机")
    page.get_by_role("searchbox", name="搜索").press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q="))
    expect(page.get_by_text(re.compile(r"找到 \d+ 条结果"))).to_be_visible()
    hit = page.get_by_role("link", name=seeded.package_title)
    expect(hit).to_be_visible()
    sme.shot("search-results")
    hit.click()
    expect(page.get_by_role("heading", name=seeded.package_title, level=1)).to_be_visible()
    expect(page.get_by_text("补贴后 ¥6,400")).to_be_visible()
    expect(page.get_by_text(f"{PROGRAM} 补贴 ¥6,400")).to_be_visible()
    page.select_option("#need_id", label=NEED_TITLE)
    page.fill("#message", "希望下个月开始实施，先接十台机器。")
    sme.shot("package-page")
    page.get_by_role("button", name="申请对接").click()
    expect(page).to_have_url(re.compile(r"/deals/requests/\d+$"))
    flash(page, "已向服务商发出对接申请。")
    expect(page.get_by_role("heading", name="对接申请 · 待回复")).to_be_visible()
    request_url = page.url
    sme.shot("request-sent")

    # -- the provider quotes -------------------------------------------------------------------
    provider = journey.actor("provider")
    login(provider, seeded.provider_email, seeded.password)
    page = provider.page
    expect(page.get_by_role("link", name=re.compile(r"通知\s*1"))).to_be_visible()
    page.get_by_role("link", name="对接与订单").click()
    page.get_by_role("link", name=NEED_TITLE).click()
    expect(page).to_have_url(request_url)
    expect(page.get_by_text("希望下个月开始实施，先接十台机器。")).to_be_visible()
    page.fill("#price_fen", QUOTE_YUAN)
    page.fill("#scope", "十台注塑机加装边缘网关，开机率与停机原因看板，一年云服务，现场培训两次。")
    page.fill("#delivery_days", "10")
    page.fill("#valid_until", seeded.days_from_today(30))
    provider.shot("quote-form")
    page.get_by_role("button", name="提交报价").click()
    flash(page, "报价已发送。")
    expect(page.get_by_role("heading", name="对接申请 · 已报价")).to_be_visible()
    provider.shot("quoted")

    # -- the SME sees the price after subsidy and accepts --------------------------------------
    page = sme.page
    page.goto(request_url)
    expect(page.get_by_text("¥36,000", exact=True)).to_be_visible()
    expect(page.get_by_text("补贴后 ¥26,000")).to_be_visible()
    expect(page.get_by_text(f"（{PROGRAM} 补贴 ¥10,000）")).to_be_visible()
    sme.shot("quote-with-subsidy")
    page.get_by_role("button", name="接受报价并下单").click()
    expect(page).to_have_url(re.compile(r"/deals/orders/\d+$"))
    flash(page, "已下单。服务商交付后请验收。")
    expect(page.get_by_role("heading", name=re.compile(r"订单 #\d+ · 待交付"))).to_be_visible()
    expect(page.get_by_text(f"{PROGRAM} · ¥10,000 · 已预留")).to_be_visible()
    expect(page.get_by_text("企业实付 ¥26,000")).to_be_visible()
    order_url = page.url
    sme.shot("order-placed")

    # -- the provider delivers -----------------------------------------------------------------
    page = provider.page
    page.get_by_role("link", name="对接与订单").click()
    page.locator("a[href^='/deals/orders/']").filter(has_text=NEED_TITLE).click()
    expect(page).to_have_url(order_url)
    page.get_by_role("button", name="标记已交付").click()
    flash(page, "已标记交付，等待企业验收。")
    expect(page.get_by_role("heading", name=re.compile(r"订单 #\d+ · 待验收"))).to_be_visible()
    provider.shot("delivered")

    # -- the SME accepts the delivery ----------------------------------------------------------
    page = sme.page
    page.goto(order_url)
    page.get_by_role("button", name="验收通过").click()
    flash(page, "已验收。欢迎评价这次服务。")
    expect(page.get_by_role("heading", name=re.compile(r"订单 #\d+ · 已验收"))).to_be_visible()
    sme.shot("delivery-accepted")

    # -- the official approves the claim in 补贴审批 and pays it -------------------------------
    page = official.page
    open_menu(page, "政府工作", "补贴审批")
    row = page.locator("tbody tr").filter(has_text=SME_COMPANY)
    expect(row).to_contain_text("已验收")
    expect(row).to_contain_text("已预留")
    official.shot("claims-queue")
    row.locator("a[href^='/subsidies/claims/']").click()
    expect(page.get_by_role("heading", name=re.compile(r"补贴 #\d+ · 已预留"))).to_be_visible()
    page.get_by_role("button", name="批准", exact=True).click()
    flash(page, "已批准。")
    expect(page.get_by_role("heading", name=re.compile(r"补贴 #\d+ · 已批准"))).to_be_visible()
    page.fill("#reference", PAYMENT_REFERENCE)
    page.get_by_role("button", name="标记已拨付").click()
    flash(page, "已标记拨付。")
    expect(page.get_by_role("heading", name=re.compile(r"补贴 #\d+ · 已拨付"))).to_be_visible()
    expect(page.get_by_text(f"凭证号 {PAYMENT_REFERENCE}")).to_be_visible()
    official.shot("claim-paid")

    # -- the region's dashboard shows the deal -------------------------------------------------
    open_menu(page, "政府工作", "地区统计")
    expect(page.get_by_role("heading", name=re.compile("地区统计 · .*虎丘区"))).to_be_visible()

    def figure(title: str):  # the title, then the ⓘ that shows its 口径 on hover
        return page.locator(".card-body").filter(
            has=page.get_by_text(re.compile(rf"^{re.escape(title)}\s*ⓘ?$"))).locator(".fs-3")

    expect(figure("发布需求")).to_have_text("1")
    expect(figure("已对接")).to_have_text("1")
    expect(figure("已成交")).to_have_text("1")
    expect(page.locator("canvas").first).to_be_visible()  # Chart.js drew under the CSP
    official.shot("region-dashboard")

    # -- and the SME sees its subsidy paid -----------------------------------------------------
    page = sme.page
    page.get_by_role("link", name="补贴", exact=True).click()
    claim_row = page.locator("tbody tr").filter(has=page.locator("a[href^='/deals/orders/']"))
    expect(claim_row).to_have_count(1)
    expect(claim_row).to_contain_text(PROGRAM)
    expect(claim_row).to_contain_text("已拨付")
    sme.shot("my-subsidies")

    for actor in journey.actors:
        actor.assert_no_page_errors()
    assert live_server.tracebacks() == [], live_server.log_tail()


def test_the_watch_catches_csp_violations_and_uncaught_errors(journey):
    """The journey's guard can fail: an inline style and script (refused by our CSP) and an
    uncaught exception on a real page are each recorded."""
    visitor = journey.actor("visitor")
    page = visitor.page
    page.goto("/auth/login")
    visitor.shot("clean-page")
    with page.expect_console_message(lambda message: message.type == "error"):
        page.evaluate("""() => {
            const style = document.createElement('style');
            style.textContent = 'body { color: red }';
            document.head.appendChild(style);
        }""")
    with page.expect_console_message(lambda message: message.type == "error"):
        page.evaluate("""() => {
            const script = document.createElement('script');
            script.textContent = 'window.inlineRan = true';
            document.head.appendChild(script);
        }""")
    with page.expect_event("pageerror"):
        page.evaluate("() => { setTimeout(() => { throw new Error('boom from the test') }) }")
    assert page.evaluate("() => window.inlineRan === undefined")
    text = "\n".join(visitor.problems)
    assert "style-src" in text and "script-src" in text, text
    assert "boom from the test" in text, text
    with pytest.raises(AssertionError, match="boom from the test"):
        visitor.assert_no_page_errors()
