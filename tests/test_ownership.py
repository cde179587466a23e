"""Taking over an enterprise a demand-list import created (认领): the SME user who finds its
credit code taken asks, the county's officials decide, and only then is it theirs."""

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    Enterprise,
    ImportBatch,
    ImportedEnterprise,
    Notification,
    OwnershipRequest,
    User,
)
from marketplace.services.errors import IllegalTransition
from tests.conftest import PASSWORD


@pytest.fixture
def imported(app, make_enterprise, make_need):
    """An enterprise created by an import in 虎丘区 (320505), with a need, and nobody's yet."""
    enterprise = make_enterprise(name="虎丘精密模具厂", county="320505", employees=0,
                                 revenue_wan=0)
    with app.app_context():
        county = db.session.scalar(select(ImportBatch.region_id).limit(1))  # none yet
        assert county is None
        region_id = db.session.get(Enterprise, enterprise.id).county_id
        batch = ImportBatch(region_id=region_id, filename="需求清单.csv", file_format="csv",
                            sha256="0" * 64, visibility="public")
        db.session.add(batch)
        db.session.flush()
        db.session.add(ImportedEnterprise(enterprise_id=enterprise.id, batch_id=batch.id))
        code = db.session.get(Enterprise, enterprise.id).credit_code
        db.session.commit()
    need = make_need(enterprise.id, title="模具车间设备联网")
    return {"enterprise": enterprise.id, "code": code, "need": need}


def _client(app, user):
    client = app.test_client()
    with app.app_context():
        email = db.session.get(User, user.id).email
    assert client.post("/auth/login", data={"email": email,
                                            "password": PASSWORD}).status_code == 302
    return client


def _requests(app) -> list[OwnershipRequest]:
    with app.app_context():
        return list(db.session.scalars(select(OwnershipRequest).order_by(OwnershipRequest.id)))


def test_an_sme_takes_over_its_imported_enterprise_once_the_county_agrees(app, imported,
                                                                          make_user):
    sme = make_user(company=False)
    county, other_county = (make_user(role="gov", region_code="320505"),
                            make_user(role="gov", region_code="320506"))
    client = _client(app, sme)
    # the profile form says where to go instead of only "taken"
    page = client.post("/profile/edit", data={
        "name": "虎丘精密模具厂", "credit_code": imported["code"], "employees": "45",
        "revenue_wan": "3000", "county_code": "320505", "industry_code": "C35"})
    text = page.get_data(as_text=True)
    assert "请在下方申请认领" in text and "认领已录入的企业" in text
    assert client.get(f"/needs/{imported['need']}/edit").status_code in (403, 404)

    answer = client.post("/profile/ownership", data={
        "ownership-credit_code": imported["code"],
        "ownership-note": "我是厂长张三，电话 0512-1234567"})
    assert answer.status_code == 302
    assert "审核" in client.get("/profile/edit").get_data(as_text=True)
    again = client.post("/profile/ownership", data={"ownership-credit_code": imported["code"]})
    assert again.status_code == 409 and len(_requests(app)) == 1  # one open request at a time
    with app.app_context():
        told = db.session.scalars(select(Notification.user_id).where(
            Notification.kind == "ownership_requested")).all()
        assert told == [county.id]

    # another county's official neither sees nor decides it
    request_id = _requests(app)[0].id
    stranger = _client(app, other_county)
    assert "虎丘精密模具厂" not in stranger.get("/imports/ownership").get_data(as_text=True)
    assert stranger.post(f"/imports/ownership/{request_id}",
                         data={"decision": "approve"}).status_code == 404
    official = _client(app, county)
    assert "我是厂长张三" in official.get("/imports/ownership").get_data(as_text=True)
    refused = official.post(f"/imports/ownership/{request_id}", data={"decision": "reject"})
    assert refused.status_code == 400 and "驳回时请说明原因" in refused.get_data(as_text=True)
    assert _requests(app)[0].status == "pending"

    assert official.post(f"/imports/ownership/{request_id}",
                         data={"decision": "approve"}).status_code == 302
    with app.app_context():
        assert db.session.get(User, sme.id).enterprise_id == imported["enterprise"]
    assert _requests(app)[0].status == "approved"
    assert client.get(f"/needs/{imported['need']}/edit").status_code == 200  # its need now
    assert official.post(f"/imports/ownership/{request_id}",
                         data={"decision": "reject", "reason": "再想想"}).status_code == 409


def test_only_imported_enterprises_without_users_can_be_claimed(app, imported, make_user,
                                                                make_enterprise):
    own = make_enterprise(name="已有用户的企业")
    owner = make_user(enterprise_id=own.id)
    with app.app_context():
        taken = db.session.get(Enterprise, own.id).credit_code
    claimant = _client(app, make_user(company=False))
    for code in (taken, "91320505MA1XXXXXX0", "abc"):
        answer = claimant.post("/profile/ownership", data={"ownership-credit_code": code})
        assert answer.status_code == 400
        assert "没有可认领的企业" in answer.get_data(as_text=True) or code == "abc"
    assert _requests(app) == []
    # a user with an enterprise cannot ask; providers cannot either
    claim = {"ownership-credit_code": imported["code"]}
    assert _client(app, owner).post("/profile/ownership", data=claim).status_code == 403
    provider = _client(app, make_user(role="provider"))
    assert provider.post("/profile/ownership", data=claim).status_code == 403
    assert _requests(app) == []


def test_approving_one_request_turns_down_the_others(app, imported, make_user):
    first, second = make_user(company=False), make_user(company=False)
    for user in (first, second):
        assert _client(app, user).post("/profile/ownership", data={
            "ownership-credit_code": imported["code"]}).status_code == 302
    county = _client(app, make_user(role="gov", region_code="320500"))  # the city decides too
    first_id, second_id = (r.id for r in _requests(app))
    assert county.post(f"/imports/ownership/{first_id}",
                       data={"decision": "approve"}).status_code == 302
    statuses = {r.id: (r.status, r.reason) for r in _requests(app)}
    assert statuses[first_id][0] == "approved"
    assert statuses[second_id] == ("rejected", "该企业已由其他用户认领。")
    with app.app_context():
        users = db.session.scalar(select(func.count()).select_from(User).where(
            User.enterprise_id == imported["enterprise"]))
        assert users == 1
    page = _client(app, second).get("/profile/edit").get_data(as_text=True)
    assert "已驳回" in page and "该企业已由其他用户认领" in page


def test_two_officials_approving_at_once_link_one_user(app, imported, make_user):
    """Requests of two users for the same enterprise, approved at the same instant by two
    officials: one user gets it, the other approval is refused (the enterprise row is locked)."""
    from marketplace.services import ownership
    from tests.test_subsidies import _race

    claimants = [make_user(company=False) for _ in range(2)]
    for user in claimants:
        assert _client(app, user).post("/profile/ownership", data={
            "ownership-credit_code": imported["code"]}).status_code == 302
    officials = [make_user(role="gov", region_code=code) for code in ("320505", "320500")]
    request_ids = [r.id for r in _requests(app)]

    def approve(official_id, request_id):
        return lambda: ownership.decide(db.session.get(User, official_id),
                                        db.session.get(OwnershipRequest, request_id), True, "")

    results = _race(app, [approve(o.id, r)
                          for o, r in zip(officials, request_ids, strict=True)])
    refused = [r for r in results if isinstance(r, Exception)]
    # a clear refusal, not a deadlock the database broke (a 500 on the page)
    assert len(refused) == 1 and isinstance(refused[0], IllegalTransition), results
    with app.app_context():
        linked = db.session.scalar(select(func.count()).select_from(User).where(
            User.enterprise_id == imported["enterprise"]))
    assert linked == 1
    assert sorted(r.status for r in _requests(app)) == ["approved", "rejected"]
