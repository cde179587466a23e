"""Subsidy eligibility cannot be gamed by editing the profile: a claim keeps a snapshot of what
made it eligible, approval judges it again, the facts a program reads stay fixed while a claim
is open, and the credit code's region digits must lie in Jiangsu (a mismatch with the chosen
county is shown to officials)."""

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace import creditcode
from marketplace.extensions import db
from marketplace.models import (
    AuditEntry,
    ClaimStatus,
    DealRequest,
    Enterprise,
    OrderStatus,
    Quote,
    Region,
    SubsidyClaim,
    SubsidyProgram,
    User,
)
from marketplace.services import deals, subsidies
from marketplace.services.errors import IllegalTransition
from tests.conftest import PASSWORD

YUAN = 100
QINHUAI, JIANYE, NANJING, GULOU_XUZHOU = "320104", "320105", "320100", "320302"


def login(app, user):
    client = app.test_client()
    with app.app_context():
        email = db.session.get(User, user.id).email
    assert client.post("/auth/login", data={"email": email,
                                            "password": PASSWORD}).status_code == 302
    return client


def program(actor, **changes) -> int:
    values = dict(name="南京市智改数转普惠补贴", policy_basis="宁工信〔2026〕1号", mode="percent",
                  rate_bp=5000, fixed_fen=0, per_order_cap_fen=5_000 * YUAN,
                  per_enterprise_cap_fen=10_000 * YUAN, budget_fen=100_000 * YUAN,
                  starts_on=deals.today() - timedelta(days=30),
                  ends_on=deals.today() + timedelta(days=300))
    values.update(changes)
    made = subsidies.create_program(actor, subsidies.ProgramData(**values))
    subsidies.change_program_status(actor, made, "activate")
    return made.id


@pytest.fixture
def nanjing(app, make_user, make_enterprise, make_need, make_package):
    """The issue's case: an SME in 建邺区, the city's 50 % program (¥3,990 on a ¥7,980 order)
    and 秦淮区's procurement program (free: ¥7,980), a quote of ¥7,980 waiting."""
    enterprise = make_enterprise(county=JIANYE, name="南京建邺精工有限公司", employees=80,
                                 revenue_wan=5000)  # 小型
    sme = make_user(enterprise_id=enterprise.id)
    provider = make_user(role="provider")
    officials = {"city": make_user(role="gov", region_code=NANJING),
                 "qinhuai": make_user(role="gov", region_code=QINHUAI),
                 "jianye": make_user(role="gov", region_code=JIANYE)}
    with app.app_context():
        provider_id = db.session.get(User, provider.id).provider_id
        city = db.session.get(User, officials["city"].id)
        qinhuai = db.session.get(User, officials["qinhuai"].id)
        programs = {"city": program(city, size_classes=["small", "micro"]),
                    "qinhuai": program(qinhuai, name="秦淮区设备上云政府采购包",
                                       mode="procurement", rate_bp=0,
                                       per_order_cap_fen=10_000 * YUAN)}
        db.session.commit()
    package = make_package(provider_id)
    need = make_need(enterprise.id)
    with app.app_context():
        request = DealRequest(need_id=need, package_id=package, enterprise_id=enterprise.id,
                              provider_id=provider_id, status="quoted")
        db.session.add(request)
        db.session.flush()
        db.session.add(Quote(request_id=request.id, price_fen=7_980 * YUAN, scope="全部实施",
                             delivery_days=10, valid_until=deals.today() + timedelta(days=10)))
        db.session.commit()
        request_id = request.id
    return {"sme": sme, "enterprise": enterprise.id, "request": request_id,
            "programs": programs, **officials}


def profile_form(app, enterprise_id: int, **changes) -> dict:
    with app.app_context():
        found = db.session.get(Enterprise, enterprise_id)
        data = {"name": found.name, "credit_code": found.credit_code,
                "employees": str(found.employees), "revenue_wan": str(found.revenue_wan),
                "county_code": found.county.code, "industry_code": found.industry_code,
                "cluster_code": found.cluster_code or "",
                "chain_leader_id": str(found.chain_leader_id or "")}
    data.update(changes)
    return data


def accept(app, world) -> SubsidyClaim:
    with app.app_context():
        order = deals.accept_quote(db.session.get(User, world["sme"].id),
                                   db.session.get(DealRequest, world["request"]), 1)
        db.session.commit()
        claim = db.session.scalar(select(SubsidyClaim).where(SubsidyClaim.order_id == order.id))
        db.session.expunge(claim)
        return claim


def delivery_accepted(app, claim_id: int) -> None:
    with app.app_context():
        order = db.session.get(SubsidyClaim, claim_id).order
        order.status = OrderStatus.ACCEPTED
        db.session.commit()


def county_of(app, enterprise_id: int) -> str:
    with app.app_context():
        return db.session.get(Enterprise, enterprise_id).county.code


def set_directly(app, enterprise_id: int, **values) -> None:
    """A change that did not pass the profile form (an import, a fix in the database)."""
    with app.app_context():
        enterprise = db.session.get(Enterprise, enterprise_id)
        for name, value in values.items():
            setattr(enterprise, name, value)
        db.session.commit()


# -- the snapshot -------------------------------------------------------------------------------


def test_a_claim_keeps_what_made_it_eligible(app, nanjing):
    claim = accept(app, nanjing)
    assert claim.program_id == nanjing["programs"]["city"] and claim.amount_fen == 3_990 * YUAN
    assert claim.eligibility == {
        "county_code": JIANYE, "size_class_code": "small", "employees": 80, "revenue_wan": 5000,
        "industry_code": "C34", "cluster_code": "high_end_equipment",
        "category_code": "device_monitoring", "scenario_level_codes": [],
        "provider_tier": "regional", "provider_verified": True, "provider_standing": "normal"}


def test_the_reproduced_game_is_refused(app, nanjing):
    """建邺区 → 秦淮区 to get 秦淮区's ¥7,980, then back: the way back is refused while the
    claim is open, and the move is in the audit trail with its old and new county."""
    sme = login(app, nanjing["sme"])
    moved = sme.post("/profile/edit", data=profile_form(app, nanjing["enterprise"],
                                                        county_code=QINHUAI))
    assert moved.status_code == 302  # no open claim yet: allowed, and audited
    claim = accept(app, nanjing)
    assert claim.program_id == nanjing["programs"]["qinhuai"]
    assert claim.amount_fen == 7_980 * YUAN and claim.eligibility["county_code"] == QINHUAI

    back = sme.post("/profile/edit", data=profile_form(app, nanjing["enterprise"],
                                                       county_code=JIANYE))
    page = back.get_data(as_text=True)
    assert back.status_code == 200 and "1 笔补贴尚未办结" in page
    assert county_of(app, nanjing["enterprise"]) == QINHUAI  # nothing changed
    with app.app_context():
        moves = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "update_enterprise")).all()
        assert [m.details["changes"]["county_code"] for m in moves] == [[JIANYE, QINHUAI]]


def test_the_size_class_cannot_change_while_a_claim_is_open(app, nanjing):
    accept(app, nanjing)
    sme = login(app, nanjing["sme"])
    bigger = sme.post("/profile/edit", data=profile_form(app, nanjing["enterprise"],
                                                         employees="500"))
    page = bigger.get_data(as_text=True)
    assert bigger.status_code == 200 and "规模类型会从“小型”变为“中型”" in page
    with app.app_context():
        assert db.session.get(Enterprise, nanjing["enterprise"]).employees == 80
    # more people within the same class: allowed, and its old and new values audited
    assert sme.post("/profile/edit", data=profile_form(
        app, nanjing["enterprise"], employees="95")).status_code == 302
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "update_enterprise"))
        assert entry.details["changes"] == {"employees": [80, 95]}
        assert entry.region_id == db.session.get(Enterprise, nanjing["enterprise"]).county_id


@pytest.mark.parametrize("settled", [ClaimStatus.PAID, ClaimStatus.REJECTED,
                                     ClaimStatus.RELEASED])
def test_a_settled_claim_frees_the_profile(app, nanjing, settled):
    claim = accept(app, nanjing)
    with app.app_context():
        db.session.get(SubsidyClaim, claim.id).status = settled
        db.session.commit()
    sme = login(app, nanjing["sme"])
    assert sme.post("/profile/edit", data=profile_form(
        app, nanjing["enterprise"], county_code=QINHUAI, employees="500")).status_code == 302
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "update_enterprise"))
        assert entry.details["changes"]["county_code"] == [JIANYE, QINHUAI]
        assert entry.details["changes"]["size_class_code"] == ["small", "medium"]


def test_approval_refuses_when_the_current_county_is_outside_the_program(app, nanjing):
    sme = login(app, nanjing["sme"])
    sme.post("/profile/edit", data=profile_form(app, nanjing["enterprise"], county_code=QINHUAI))
    claim = accept(app, nanjing)
    delivery_accepted(app, claim.id)
    with app.app_context():  # moved back past the form (an import, a database fix)
        jianye = db.session.scalar(select(Region).where(Region.code == JIANYE))
    set_directly(app, nanjing["enterprise"], county_id=jianye.id)
    official = login(app, nanjing["qinhuai"])
    page = official.get(f"/subsidies/claims/{claim.id}").get_data(as_text=True)
    assert 'id="eligibility-refusal"' in page and "企业在申请后修改了所在地区" in page
    assert "秦淮区" in page and "建邺区" in page
    assert f"/subsidies/claims/{claim.id}/approve" not in page  # no approve button
    refused = official.post(f"/subsidies/claims/{claim.id}/approve", data={})
    assert refused.status_code == 409
    assert "不能批准" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(SubsidyClaim, claim.id).status == ClaimStatus.RESERVED
        official_user = db.session.get(User, nanjing["qinhuai"].id)
        with pytest.raises(IllegalTransition):
            subsidies.approve_claim(official_user, db.session.get(SubsidyClaim, claim.id))
        [bulk] = subsidies.approve_claims(official_user, [claim.id])  # the queue's button
        assert not bulk.ok and "企业在申请后修改了所在地区" in bulk.message


def test_a_change_that_keeps_it_eligible_does_not_block(app, nanjing):
    """The city's program covers both counties: a move within the city is shown, not refused."""
    claim = accept(app, nanjing)
    delivery_accepted(app, claim.id)
    with app.app_context():
        qinhuai = db.session.scalar(select(Region).where(Region.code == QINHUAI))
    set_directly(app, nanjing["enterprise"], county_id=qinhuai.id)
    official = login(app, nanjing["city"])
    page = official.get(f"/subsidies/claims/{claim.id}").get_data(as_text=True)
    assert "仍符合这项政策的条件" in page and 'id="eligibility-refusal"' not in page
    assert official.post(f"/subsidies/claims/{claim.id}/approve", data={}).status_code == 302
    with app.app_context():
        assert db.session.get(SubsidyClaim, claim.id).status == ClaimStatus.APPROVED


def test_approval_refuses_a_snapshot_the_rules_no_longer_admit(app, nanjing):
    claim = accept(app, nanjing)
    delivery_accepted(app, claim.id)
    with app.app_context():  # the program's rules changed under the claim
        db.session.get(SubsidyProgram, claim.program_id).size_classes = ["micro"]
        db.session.commit()
    official = login(app, nanjing["city"])
    refused = official.post(f"/subsidies/claims/{claim.id}/approve", data={})
    assert refused.status_code == 409
    assert "申请时的条件已不符合这项政策的规则（企业规模不符合）" in refused.get_data(as_text=True)


def test_a_claim_without_a_snapshot_is_judged_on_the_profile_as_it_is(app, nanjing):
    claim = accept(app, nanjing)
    delivery_accepted(app, claim.id)
    with app.app_context():
        db.session.get(SubsidyClaim, claim.id).eligibility = {}
        db.session.get(Enterprise, nanjing["enterprise"]).size_class_code = "medium"
        db.session.commit()
        with pytest.raises(IllegalTransition):
            subsidies.approve_claim(db.session.get(User, nanjing["city"].id),
                                    db.session.get(SubsidyClaim, claim.id))


def test_the_claim_page_shows_the_snapshot_with_names(app, nanjing):
    claim = accept(app, nanjing)
    page = login(app, nanjing["city"]).get(f"/subsidies/claims/{claim.id}").get_data(as_text=True)
    start = page.index('id="eligibility"')
    table = page[start:page.index("</table>", start)]
    names = ("南京市 / 建邺区", "小型", "C34", "高端装备", "设备联网与监测", "区域级", "已认证")
    for name in names:
        assert name in table, name
    assert "small" not in table and JIANYE not in table


# -- the credit code ----------------------------------------------------------------------------


def code_in(region: str, seed: int = 3) -> str:
    return creditcode.generate(random.Random(seed), region)


@pytest.mark.parametrize("region", ["330100", "110108", "440300"])
def test_a_credit_code_registered_outside_jiangsu_is_refused(app, make_user, region):
    user = make_user(company=False)
    client = login(app, user)
    form = {"name": "外省注册的企业", "credit_code": code_in(region), "employees": "50",
            "revenue_wan": "800", "county_code": JIANYE, "industry_code": "C34",
            "cluster_code": "", "chain_leader_id": ""}
    response = client.post("/profile/edit", data=form)
    assert response.status_code == 200
    assert f"{region} 不在江苏省" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Enterprise.id)) is None
    form["credit_code"] = code_in("320500")  # registered with 苏州市: any Jiangsu county is fine
    assert client.post("/profile/edit", data=form).status_code == 302


def test_a_region_mismatch_is_shown_to_officials(app, nanjing, make_user):
    set_directly(app, nanjing["enterprise"], credit_code=code_in(GULOU_XUZHOU))
    mark = 'id="credit-code-region"'
    enterprise_url = f"/profile/enterprise/{nanjing['enterprise']}"
    official_page = login(app, nanjing["city"]).get(enterprise_url).get_data(as_text=True)
    assert mark in official_page and f"{GULOU_XUZHOU}（徐州市 / 鼓楼区）" in official_page
    assert mark not in login(app, nanjing["sme"]).get(enterprise_url).get_data(as_text=True)
    claim = accept(app, nanjing)
    claim_page = login(app, nanjing["city"]).get(f"/subsidies/claims/{claim.id}")
    assert mark in claim_page.get_data(as_text=True)
    # registered with the city (320100) or a former county of it (320103): no mismatch
    for digits in (NANJING, "320103"):
        set_directly(app, nanjing["enterprise"], credit_code=code_in(digits))
        assert mark not in login(app, nanjing["city"]).get(enterprise_url).get_data(as_text=True)



def test_the_migration_gives_existing_claims_a_snapshot(tmp_path):
    """Migration 0017 on a database with claims (and ledger rows referring to them): the
    claims get the snapshot of their rows as they are. Down to 0013 and up again keeps every
    row on SQLite, where batch mode copies tables that other rows refer to (0016's column on
    orders once failed there with FOREIGN KEY constraint failed)."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from marketplace import create_app
    from marketplace.demo import build_demo
    from marketplace.services.demo import load_demo
    from marketplace.services.refdata import seed_reference_data
    from tests.conftest import test_config

    app = create_app({**test_config(f"sqlite:///{tmp_path / 'upgrade.db'}"),
                      "SEARCH_INDEX_DIR": str(tmp_path / "search"),
                      "MATCHING_DIR": str(tmp_path / "matching")})
    with app.app_context():
        upgrade()
        seed_reference_data()
        load_demo(build_demo())
        db.session.commit()
        db.session.remove()
        counted = ("orders", "subsidy_claims", "subsidy_ledger", "idempotency_keys", "api_tokens")
        before = {t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                  for t in counted}
        db.session.remove()
        downgrade(revision="0013")
        upgrade()
        assert before == {t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                          for t in counted}
        assert before["orders"] and before["subsidy_claims"]
        claims = db.session.scalars(select(SubsidyClaim)).all()
        assert claims and db.session.execute(text(
            "SELECT count(*) FROM subsidy_ledger WHERE claim_id IS NOT NULL")).scalar()
        for claim in claims:
            assert subsidies.Eligibility.from_json(claim.eligibility) == \
                subsidies.Eligibility.of(claim.enterprise, claim.order.package)
        db.session.remove()
        db.engine.dispose()
