"""链式转型 in a real browser, through the pages only (issue 19): an enterprise applies to be a
链主, the city's official approves it, the 链主 invites a supplier by credit code, the supplier
confirms, and the 链主's workspace and profile show it. The accounts and company profiles of
the two enterprises and the city official are made through the services beforehand."""

from __future__ import annotations

import random
import re

import pytest

from marketplace import create_app, creditcode
from marketplace.extensions import db
from tests.e2e.conftest import _settings
from tests.e2e.test_journey import flash, login, open_menu

try:
    from playwright.sync_api import expect
except ImportError:
    pytest.skip("browser journeys need the playwright package: pip install -e '.[test]'",
                allow_module_level=True)

CITY_EMAIL, CITY_NAME = "city@e2e.example", "苏州市工信局"
LEADER_EMAIL, LEADER_COMPANY = "leader@e2e.example", "苏州虎丘装备集团有限公司"
SUPPLIER_EMAIL, SUPPLIER_COMPANY = "supplier@e2e.example", "苏州虎丘精密配套有限公司"
SUPPLIER_CODE = creditcode.generate(random.Random(77), "320500")


@pytest.fixture(scope="module")
def world(world):
    """The journeys' world, plus the city's official and the two enterprises."""
    from marketplace.services import accounts, profiles

    seeded, workdir = world
    app = create_app(_settings(workdir))
    with app.app_context():
        accounts.create_account(None, accounts.NewAccount(
            CITY_EMAIL, seeded.password, CITY_NAME, "gov", "320500"))
        for email, company, code, employees, revenue in (
                (LEADER_EMAIL, LEADER_COMPANY, creditcode.generate(random.Random(76), "320500"),
                 3000, 800_000),
                (SUPPLIER_EMAIL, SUPPLIER_COMPANY, SUPPLIER_CODE, 80, 1500)):
            user = accounts.create_account(None, accounts.NewAccount(
                email, seeded.password, company[:6], "sme"))
            profiles.save_enterprise(user, profiles.EnterpriseData(
                name=company, credit_code=code, employees=employees, revenue_wan=revenue,
                county_code=seeded.county_code, industry_code="C34", cluster_code=None))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return seeded, workdir


def test_apply_approve_invite_confirm(journey, world):
    seeded, _workdir = world

    leader = journey.actor("leader")
    login(leader, LEADER_EMAIL, seeded.password)
    page = leader.page
    open_menu(page, "我的企业", "产业链")
    page.get_by_text("申请成为链主", exact=True).click()
    page.fill("#revenue_wan", "800000")
    page.fill("#supplier_count", "120")
    page.fill("#evidence", "省内主机厂，配套供应商一百二十家，自建工业互联网平台。")
    leader.shot("apply")
    page.get_by_role("button", name="提交链主申请").click()
    flash(page, "链主申请已提交")
    expect(page.get_by_text("链主申请审核中")).to_be_visible()

    official = journey.actor("city")
    login(official, CITY_EMAIL, seeded.password)
    page = official.page
    open_menu(page, "政府工作", "链主认定")
    expect(page.get_by_role("heading", name=LEADER_COMPANY)).to_be_visible()
    page.check("input[name=decision][value=approve]")
    official.shot("decide")
    page.get_by_role("button", name="提交").click()
    flash(page, "已认定为链主。")

    page = leader.page
    page.goto("/chains/")
    page.get_by_role("link", name="进入产业链工作台").click()
    page.fill("#credit_code", SUPPLIER_CODE)
    leader.shot("invite")
    page.get_by_role("button", name="邀请加入产业链").click()
    flash(page, "邀请已发送")
    expect(page.get_by_text("链主已邀请，待供应商确认")).to_be_visible()

    supplier = journey.actor("supplier")
    login(supplier, SUPPLIER_EMAIL, seeded.password)
    page = supplier.page
    page.goto("/chains/")  # the menu's way is the leader's above
    expect(page.locator("#my-chain strong").filter(has_text=LEADER_COMPANY)).to_be_visible()
    page.get_by_role("button", name="确认加入").click()
    flash(page, "已确认，成员关系生效。")
    supplier.shot("confirmed")

    page = leader.page
    page.goto("/chains/workspace")
    expect(page.locator("#suppliers").get_by_text(SUPPLIER_COMPANY)).to_be_visible()
    expect(page.locator("#suppliers").get_by_text("尚未起步")).to_be_visible()
    leader.shot("workspace")
    page.goto("/profile/")
    expect(page).to_have_url(re.compile(r"/profile/enterprise/\d+$"))
    expect(page.locator("#leader-status")).to_contain_text(f"由 {CITY_NAME} 审核通过")
    leader.shot("profile")
