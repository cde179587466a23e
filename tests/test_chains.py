"""链式转型: becoming a 链主 (apply, approve or reject, designate, revoke), confirmed supply
chains (invite or ask, the other side confirms, leave with a reason), the 链主's workspace,
and the recommender reading confirmed membership only."""

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    AuditEntry,
    ChainLeaderApplication,
    ChainMembership,
    Enterprise,
    Need,
    User,
)
from marketplace.services import chains, matching
from marketplace.services.errors import (
    IllegalTransition,
    NotAllowed,
    NotFound,
    ValidationFailed,
)
from tests.conftest import AuthActions

EVIDENCE = {"revenue_wan": "900000", "supplier_count": "120", "platform_id": "",
            "evidence": "省内主机厂，配套供应商一百二十家，自建工业互联网平台。"}


@pytest.fixture
def chain(app, make_user, make_need):
    """Two SMEs of one county, officials of the county, its city, another city, an admin."""
    users = {"leader": make_user(), "supplier": make_user(), "other": make_user(),
             "county": make_user(role="gov", region_code="320505"),
             "city": make_user(role="gov", region_code="320500"),
             "far_city": make_user(role="gov", region_code="320100"),
             "admin": make_user(role="admin")}
    with app.app_context():
        supplier = db.session.get(User, users["supplier"].id).enterprise_id
    make_need(supplier, title="供应商的公开需求")
    make_need(supplier, title="供应商的私密需求", visibility="private")
    return users


def client_of(app, user):
    client = app.test_client()
    assert AuthActions(client, app).login(user).status_code == 302
    return client


def get(model, object_id):
    return db.session.get(model, object_id)


def counts() -> tuple:
    return tuple(db.session.scalar(select(db.func.count()).select_from(m))
                 for m in (ChainLeaderApplication, ChainMembership, AuditEntry))


def approve_leader(users) -> ChainLeaderApplication:
    leader, city = get(User, users["leader"].id), get(User, users["city"].id)
    application = chains.apply_for_leader(leader, chains.LeaderEvidence(
        900_000, 120, None, EVIDENCE["evidence"]))
    chains.decide_application(city, application, True, "")
    db.session.commit()
    return application


def test_journey_apply_approve_invite_confirm_leave(app, chain):
    leader_page = client_of(app, chain["leader"])
    assert leader_page.post("/chains/apply", data=EVIDENCE).status_code == 302
    assert "链主申请审核中" in leader_page.get("/chains/").get_data(as_text=True)
    assert leader_page.get("/chains/workspace").status_code == 403  # not approved yet
    with app.app_context():
        application = db.session.scalar(select(ChainLeaderApplication))
        enterprise_id = application.enterprise_id
    county, city = client_of(app, chain["county"]), client_of(app, chain["city"])
    listing = county.get("/chains/applications").get_data(as_text=True)
    assert f'id="application-{application.id}"' in listing
    decide = f"/chains/applications/{application.id}/decide"
    assert county.post(decide, data={"decision": "approve"}).status_code == 403
    assert city.post(decide, data={"decision": "approve"}).status_code == 302
    profile = city.get(f"/profile/enterprise/{enterprise_id}").get_data(as_text=True)
    assert "已认定为链主" in profile and "审核通过" in profile
    with app.app_context():
        supplier = get(User, chain["supplier"].id).enterprise
        code, supplier_id = supplier.credit_code, supplier.id
        need = db.session.scalar(select(Need).where(Need.enterprise_id == supplier_id))
        assert matching.need_record(need).chain_leader_id is None
    assert leader_page.post("/chains/invite", data={"credit_code": code}).status_code == 302
    with app.app_context():
        invitation = db.session.scalar(select(ChainMembership))
        assert invitation.status == "invited"
        assert get(Enterprise, supplier_id).chain_leader_id is None  # not confirmed yet
    accept = f"/chains/memberships/{invitation.id}/accept"
    assert leader_page.post(accept).status_code == 409  # the inviter cannot confirm for them
    supplier_page = client_of(app, chain["supplier"])
    assert supplier_page.post(accept).status_code == 302
    with app.app_context():
        need = db.session.scalar(select(Need).where(Need.enterprise_id == supplier_id))
        assert matching.need_record(need).chain_leader_id == enterprise_id
    workspace = leader_page.get("/chains/workspace").get_data(as_text=True)
    assert "供应商的公开需求" in workspace and "供应商的私密需求" not in workspace
    end = f"/chains/memberships/{invitation.id}/end"
    assert "请说明原因" in supplier_page.post(end, data={"reason": ""}).get_data(as_text=True)
    assert supplier_page.post(end, data={"reason": "转为其他主机厂配套"}).status_code == 302
    with app.app_context():
        left = get(ChainMembership, invitation.id)
        assert (left.status, left.end_reason) == ("ended", "转为其他主机厂配套")
        assert left.joined_at is not None and left.ended_at is not None
        assert get(Enterprise, supplier_id).chain_leader_id is None
    assert "转为其他主机厂配套" in leader_page.get("/chains/workspace").get_data(as_text=True)


def test_illegal_steps_are_refused_and_change_nothing(app, chain):
    with app.app_context():
        application = approve_leader(chain)
        leader, supplier = get(User, chain["leader"].id), get(User, chain["supplier"].id)
        city, admin = get(User, chain["city"].id), get(User, chain["admin"].id)
        membership = chains.invite_supplier(leader, supplier.enterprise.credit_code, "")
        db.session.commit()
        before = counts()
        refusals = [
            (IllegalTransition, lambda: chains.apply_for_leader(leader, chains.LeaderEvidence(
                1, 1, None, "再申请一次看看会怎样。"))),
            (IllegalTransition, lambda: chains.decide_application(city, application, False, "x")),
            (IllegalTransition, lambda: chains.change_membership(leader, membership, "accept")),
            (IllegalTransition, lambda: chains.change_membership(supplier, membership, "end",
                                                                 "不合作了")),
            (IllegalTransition, lambda: chains.change_membership(supplier, membership,
                                                                 "withdraw")),
            (IllegalTransition, lambda: chains.invite_supplier(
                leader, supplier.enterprise.credit_code, "")),  # one open question at a time
            (ValidationFailed, lambda: chains.invite_supplier(
                leader, leader.enterprise.credit_code, "")),
            (ValidationFailed, lambda: chains.invite_supplier(leader, "91320505MA00000000", "")),
            (NotAllowed, lambda: chains.invite_supplier(supplier, leader.enterprise.credit_code,
                                                        "")),
            (NotAllowed, lambda: chains.revoke_leader(city, application, "不再符合")),
            (ValidationFailed, lambda: chains.revoke_leader(admin, application, " ")),
            (NotFound, lambda: chains.change_membership(
                get(User, chain["other"].id), membership, "accept")),
        ]
        for error, step in refusals:
            with pytest.raises(error):
                step()
            db.session.rollback()
            assert counts() == before
            assert get(ChainMembership, membership.id).status == "invited"
            assert get(ChainLeaderApplication, application.id).status == "approved"


def test_a_rejected_application_can_be_resubmitted_and_officials_act_in_their_region(app, chain):
    with app.app_context():
        leader = get(User, chain["leader"].id)
        county, city, far = (get(User, chain[k].id) for k in ("county", "city", "far_city"))
        evidence = chains.LeaderEvidence(50_000, 10, None, "配套企业十家，正在建设平台。")
        first = chains.apply_for_leader(leader, evidence)
        with pytest.raises(NotFound):
            chains.get_application(far, first.id)
        with pytest.raises(NotAllowed):
            chains.decide_application(county, first, True, "")
        with pytest.raises(ValidationFailed) as refused:
            chains.decide_application(city, first, False, "")
        assert "reason" in refused.value.errors
        chains.decide_application(city, first, False, "配套供应商数量不足。")
        assert not leader.enterprise.is_chain_leader
        second = chains.apply_for_leader(leader, chains.LeaderEvidence(
            900_000, 150, None, "补充：配套供应商一百五十家，平台已上线。"))
        chains.decide_application(city, second, True, "材料齐全。")
        db.session.commit()
        assert leader.enterprise.is_chain_leader
        assert chains.latest_application(leader.enterprise).id == second.id


def test_designation_is_audited_and_revocation_ends_the_chain(app, chain):
    with app.app_context():
        city, admin = get(User, chain["city"].id), get(User, chain["admin"].id)
        leader, supplier = get(User, chain["leader"].id), get(User, chain["supplier"].id)
        far = get(User, chain["far_city"].id)
        with pytest.raises(ValidationFailed):  # another city's enterprise
            chains.designate_leader(far, leader.enterprise.credit_code, "龙头企业")
        application = chains.designate_leader(city, leader.enterprise.credit_code, "省级龙头企业")
        assert application.designated and leader.enterprise.is_chain_leader
        assert db.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "designate_chain_leader")).actor_id == city.id
        membership = chains.invite_supplier(leader, supplier.enterprise.credit_code, "")
        chains.change_membership(supplier, membership, "accept")
        asked = chains.request_to_join(get(User, chain["other"].id), leader.enterprise_id, "")
        assert supplier.enterprise.chain_leader_id == leader.enterprise_id
        chains.revoke_leader(admin, application, "经核查不再符合链主条件")
        db.session.commit()
        assert not leader.enterprise.is_chain_leader
        assert supplier.enterprise.chain_leader_id is None
        assert (membership.status, asked.status) == ("ended", "declined")
        with pytest.raises(IllegalTransition):
            chains.revoke_leader(admin, application, "again")


def test_join_request_confirmed_by_the_leader(app, chain):
    with app.app_context():
        approve_leader(chain)
        leader_id = get(User, chain["leader"].id).enterprise_id
    supplier_page = client_of(app, chain["supplier"])
    assert supplier_page.post("/chains/join", data={"leader_id": str(leader_id)}).status_code \
        == 302
    with app.app_context():
        asked = db.session.scalar(select(ChainMembership))
        assert asked.status == "requested"
    other_page = client_of(app, chain["other"])
    assert other_page.post(f"/chains/memberships/{asked.id}/accept").status_code == 404
    assert supplier_page.post(f"/chains/memberships/{asked.id}/accept").status_code == 409
    leader_page = client_of(app, chain["leader"])
    assert "已申请加入，待链主确认" in leader_page.get("/chains/workspace").get_data(as_text=True)
    assert leader_page.post(f"/chains/memberships/{asked.id}/accept").status_code == 302
    with app.app_context():
        assert get(ChainMembership, asked.id).status == "confirmed"
        assert get(User, chain["supplier"].id).enterprise.chain_leader_id == leader_id


def test_only_confirmed_membership_feeds_the_recommender(app, chain, make_provider,
                                                         make_package):
    """The chain signals (the leader's platform, what the chain adopted) read confirmed
    members only: an invitation or a join request adds nothing, leaving takes it away."""
    from marketplace.models import Order

    with app.app_context():
        approve_leader(chain)
        leader, supplier = get(User, chain["leader"].id), get(User, chain["supplier"].id)
        other = get(User, chain["other"].id)
        provider = make_provider(name="链主平台公司").id
        package = make_package(provider)
        chains.request_to_join(other, leader.enterprise_id, "")
        membership = chains.invite_supplier(leader, supplier.enterprise.credit_code, "")
        db.session.commit()
        assert matching.enterprise_record(supplier.enterprise).chain_leader_id is None
        assert matching.enterprise_record(other.enterprise).chain_leader_id is None
        from datetime import date

        from marketplace.models import DealRequest
        need = db.session.scalar(select(Need).where(Need.enterprise_id == supplier.enterprise_id))
        request = DealRequest(need_id=need.id, package_id=package, provider_id=provider,
                              enterprise_id=supplier.enterprise_id, status="ordered")
        db.session.add(request)
        db.session.flush()
        db.session.add(Order(need_id=need.id, request_id=request.id, package_id=package,
                             enterprise_id=supplier.enterprise_id, provider_id=provider,
                             amount_fen=100, scope="范围", delivery_days=5,
                             due_date=date(2027, 1, 1)))
        db.session.commit()
        assert matching.chain_adoption() == {}
        chains.change_membership(supplier, membership, "accept")
        db.session.commit()
        assert matching.enterprise_record(supplier.enterprise).chain_leader_id == \
            leader.enterprise_id
        assert matching.chain_adoption() == {leader.enterprise_id: {provider: 1}}
        chains.change_membership(leader, membership, "end", "不再配套")
        db.session.commit()
        assert matching.enterprise_record(supplier.enterprise).chain_leader_id is None
        assert matching.chain_adoption() == {}


def test_the_profile_no_longer_declares_a_chain(app, chain):
    page = client_of(app, chain["supplier"]).get("/profile/edit").get_data(as_text=True)
    assert 'name="chain_leader_id"' not in page and "/chains/" in page


def test_the_migration_moves_declared_chains(tmp_path):
    """0019 on a database with the old flags: the leader gets an approved application marked
    as migrated, the declared supplier a join request to confirm (and no chain until then)."""
    import random

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from marketplace import create_app, creditcode
    from marketplace.services.refdata import seed_reference_data
    from tests.conftest import test_config

    app = create_app({**test_config(f"sqlite:///{tmp_path / 'chains.db'}"),
                      "SEARCH_INDEX_DIR": str(tmp_path / "search"),
                      "MATCHING_DIR": str(tmp_path / "matching")})
    rng = random.Random(5)
    with app.app_context():
        upgrade(revision="0018")
        seed_reference_data()
        county = db.session.scalar(text("SELECT id FROM regions WHERE code = '320505'"))
        insert = text(
            "INSERT INTO enterprises (name, credit_code, employees, revenue_wan, "
            "size_class_code, county_id, industry_code, chain_leader_id, is_chain_leader, "
            "created_at, updated_at) VALUES (:name, :code, 10, 10, 'micro', :county, 'C34', "
            ":leader, :flag, '2026-01-01', '2026-01-01')")
        db.session.execute(insert, {"name": "链主", "code": creditcode.generate(rng, "320500"),
                                    "county": county, "leader": None, "flag": True})
        db.session.execute(insert, {"name": "配套厂", "code": creditcode.generate(rng, "320500"),
                                    "county": county, "leader": 1, "flag": False})
        db.session.commit()
        db.session.remove()
        upgrade()
        assert db.session.execute(text(
            "SELECT enterprise_id, status, designated FROM chain_leader_applications")).all() \
            == [(1, "approved", 1)]
        assert db.session.execute(text(
            "SELECT leader_id, supplier_id, status FROM chain_memberships")).all() \
            == [(1, 2, "requested")]
        assert db.session.execute(text(
            "SELECT count(*) FROM enterprises WHERE chain_leader_id IS NOT NULL")).scalar() == 0
        db.session.remove()
        downgrade(revision="0018")
        assert db.session.execute(text(
            "SELECT chain_leader_id FROM enterprises WHERE id = 2")).scalar() == 1
        db.session.remove()
        db.engine.dispose()


def test_the_leader_messages_its_confirmed_suppliers_and_its_platform_sees_them(
        app, chain, make_user, make_provider):
    from marketplace.models import Notification

    platform = make_provider(name="链主自建平台").id
    platform_user = make_user(role="provider", provider_id=platform)
    other_provider = make_user(role="provider")
    with app.app_context():
        leader, supplier = get(User, chain["leader"].id), get(User, chain["supplier"].id)
        application = chains.apply_for_leader(leader, chains.LeaderEvidence(
            900_000, 120, platform, EVIDENCE["evidence"]))
        chains.decide_application(get(User, chain["city"].id), application, True, "")
        chains.change_membership(supplier, chains.invite_supplier(
            leader, supplier.enterprise.credit_code, ""), "accept")
        chains.invite_supplier(leader, get(User, chain["other"].id).enterprise.credit_code, "")
        db.session.commit()
    leader_page = client_of(app, chain["leader"])
    assert leader_page.post("/chains/message", data={"text": "请本周完成数字化自评"}).status_code \
        == 302
    with app.app_context():
        told = db.session.scalars(select(Notification).where(
            Notification.kind == "chain_message")).all()
        assert [n.user_id for n in told] == [chain["supplier"].id]  # not the invited one
    page = client_of(app, platform_user).get("/chains/platform").get_data(as_text=True)
    assert "供应商的公开需求" in page and "供应商的私密需求" not in page
    other = client_of(app, other_provider).get("/chains/platform").get_data(as_text=True)
    assert "供应商的公开需求" not in other and "还没有链主把贵单位列为其平台" in other


def test_invite_suppliers_from_a_spreadsheet(app, chain):
    import io

    with app.app_context():
        approve_leader(chain)
        leader, supplier = get(User, chain["leader"].id), get(User, chain["supplier"].id)
        codes = [leader.enterprise.credit_code, supplier.enterprise.credit_code,
                 get(User, chain["other"].id).enterprise.credit_code]
    leader_page = client_of(app, chain["leader"])

    def upload(rows: list[str]):
        body = "统一社会信用代码,企业名称,留言\n" + "\n".join(rows) + "\n"
        return leader_page.post("/chains/invite/upload", data={
            "note": "欢迎加入", "file": (io.BytesIO(body.encode()), "suppliers.csv")})

    with app.app_context():
        before = counts()
    refused = upload([f"{codes[0]},自己,", "91320505MA00000000,不存在,"])
    assert refused.status_code == 400 and "没有可以邀请的企业" in refused.get_data(as_text=True)
    with app.app_context():
        assert counts() == before  # nothing invited when no row can be
    done = upload([f"{codes[1]},配套厂,请确认", f"{codes[1]},重复,", f"{codes[2]},另一家,"])
    assert done.status_code == 302
    with app.app_context():
        invited = db.session.scalars(select(ChainMembership).order_by(ChainMembership.id)).all()
        assert [(m.status, m.note) for m in invited] == [("invited", "请确认"),
                                                         ("invited", "欢迎加入")]
    page = leader_page.get("/chains/workspace").get_data(as_text=True)
    assert "已向 2 家企业发出邀请" in page and "第 3 行" in page
