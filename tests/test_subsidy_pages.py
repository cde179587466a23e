"""A subsidy program run end to end through the pages, and the pages' refusals."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    DealRequest,
    IdempotencyKey,
    LedgerEntry,
    Order,
    SubsidyClaim,
    SubsidyProgram,
    User,
)
from marketplace.services.deals import today
from tests.conftest import PASSWORD


def login(app, user) -> object:
    client = app.test_client()
    with app.app_context():
        email = db.session.get(User, user.id).email
    assert client.post("/auth/login", data={"email": email,
                                            "password": PASSWORD}).status_code == 302
    return client


def program_form(**changes) -> dict:
    data = {"name": "虎丘区智改数转券", "policy_basis": "虎工信〔2026〕8号", "mode": "percent",
            "rate_bp": "50", "fixed_fen": "", "per_order_cap_fen": "5000",
            "per_enterprise_cap_fen": "8000", "budget_fen": "100000",
            "starts_on": (today() - timedelta(days=1)).isoformat(),
            "ends_on": (today() + timedelta(days=90)).isoformat(), "verified_only": "y",
            "idempotency_key": "create-key-0001"}
    data.update(changes)
    return data


def key_of(page: str, action: str) -> str:
    """The idempotency key rendered in the form posting to ``action``."""
    form = page[page.index(f'action="{action}"'):]
    return re.search(r'name="idempotency_key" type="hidden" value="([0-9a-f]+)"', form).group(1)


@pytest.fixture
def people(app, make_user, make_package):
    provider = make_user(role="provider")
    with app.app_context():
        provider_id = db.session.get(User, provider.id).provider_id
    return {"sme": make_user(), "provider": provider,
            "county": make_user(role="gov", region_code="320505"),
            "other_county": make_user(role="gov", region_code="320506"),
            "package": make_package(provider_id, price_fen=1_280_000)}


def test_program_end_to_end(app, people, make_need):
    county = login(app, people["county"])
    response = county.post("/subsidies/programs/new", data=program_form())
    assert response.status_code == 302, response.get_data(as_text=True)
    program_url = response.headers["Location"]
    # the same submission again (a double click) makes no second program
    assert county.post("/subsidies/programs/new", data=program_form()).headers["Location"] \
        == program_url
    assert county.post(program_url + "/activate").status_code == 302

    sme = login(app, people["sme"])
    assert "补贴后 ¥7,800" in sme.get(f"/packages/{people['package']}").get_data(as_text=True)
    page = sme.get("/subsidies/").get_data(as_text=True)
    assert "虎丘区智改数转券" in page and "¥5,000" in page

    with app.app_context():
        enterprise_id = db.session.get(User, people["sme"].id).enterprise_id
    need_id = make_need(enterprise_id)
    request_url = sme.post("/deals/request", data={
        "need_id": need_id, "package_id": people["package"]}).headers["Location"]
    provider = login(app, people["provider"])
    assert provider.post(request_url + "/quote", data={
        "price_fen": "9000", "scope": "二十台设备联网与看板", "delivery_days": "10",
        "valid_until": (today() + timedelta(days=10)).isoformat()}).status_code == 302
    page = sme.get(request_url).get_data(as_text=True)
    assert "补贴后 ¥4,500" in page and 'name="subsidy_fen" value="450000"' in page
    accept_key = key_of(page, request_url + "/accept")
    response = sme.post(request_url + "/accept", data={
        "revision": 1, "subsidy_fen": 450000, "idempotency_key": accept_key})
    order_url = response.headers["Location"]
    # a repeated click with the same key lands on the same order
    assert sme.post(request_url + "/accept", data={
        "revision": 1, "subsidy_fen": 450000,
        "idempotency_key": accept_key}).headers["Location"] == order_url
    assert "已预留" in sme.get(order_url).get_data(as_text=True)

    assert provider.post(order_url + "/deliver").status_code == 302
    assert sme.post(order_url + "/accept_delivery").status_code == 302

    queue = county.get("/subsidies/claims?ready=y").get_data(as_text=True)
    with app.app_context():
        claim = db.session.scalar(select(SubsidyClaim))
        claim_id = claim.id
    assert f'value="{claim_id}"' in queue
    response = county.post("/subsidies/claims/approve", data={
        "claim_ids": [claim_id], "idempotency_key": key_of(queue, "/subsidies/claims/approve")})
    assert "已批准 1 笔" in response.get_data(as_text=True)

    claim_page = county.get(f"/subsidies/claims/{claim_id}").get_data(as_text=True)
    pay_key = key_of(claim_page, f"/subsidies/claims/{claim_id}/pay")
    for _ in range(2):  # a resubmitted payment pays once
        response = county.post(f"/subsidies/claims/{claim_id}/pay", data={
            "reference": "HQ-2026-0001", "idempotency_key": pay_key})
        assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.kind == "pay")) == 1
    assert "已拨付" in sme.get("/subsidies/").get_data(as_text=True)
    program_page = county.get(program_url).get_data(as_text=True)
    assert "¥4,500" in program_page and "<svg" in program_page
    # the subsidy log is the audit trail filtered to subsidies, with the actions named
    audit = county.get("/subsidies/audit", follow_redirects=True).get_data(as_text=True)
    paid, approved = '"audit-action">拨付补贴<', '"audit-action">批准补贴<'
    assert paid in audit and approved in audit
    # an official of another county sees neither the claim nor the log entries
    other = login(app, people["other_county"])
    assert other.get(f"/subsidies/claims/{claim_id}").status_code == 404
    assert paid not in other.get("/subsidies/audit", follow_redirects=True).get_data(as_text=True)


@pytest.mark.parametrize("changes, message", [
    ({"per_order_cap_fen": "200000"}, "单笔上限需大于 0，且不超过总预算。"),
    ({"rate_bp": "120"}, "比例不能超过 100%。"),
    ({"rate_bp": "12.345"}, "比例最多保留两位小数。"),
    ({"budget_fen": "-5"}, "金额不能为负数。"),
    ({"budget_fen": "NaN"}, "请填写数字金额"),
    ({"ends_on": (today() - timedelta(days=5)).isoformat()}, "结束日期不能早于开始日期。"),
    ({"mode": "lottery"}, "不是有效的选择"),
    ({"categories": ["nonsense"]}, "不是有效的选择"),
])
def test_bad_programs_get_messages_and_write_nothing(app, people, changes, message):
    county = login(app, people["county"])
    response = county.post("/subsidies/programs/new", data=program_form(**changes))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SubsidyProgram)) == 0
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_budget_cut_below_spent_is_refused_beside_the_field(app, people):
    county = login(app, people["county"])
    program_url = county.post("/subsidies/programs/new",
                              data=program_form()).headers["Location"]
    response = county.post(program_url + "/adjust", data={
        "direction": "cut", "amount_fen": "100001", "note": "核减",
        "idempotency_key": "adjust-key-0001"})
    assert response.status_code == 400
    assert "核减后余额会小于零" in response.get_data(as_text=True)
    response = county.post(program_url + "/adjust", data={
        "direction": "add", "amount_fen": "5000.5", "note": "追加",
        "idempotency_key": "adjust-key-0002"})
    assert response.status_code == 302
    assert "¥105,000.50" in county.get(program_url).get_data(as_text=True)


def test_active_programs_cannot_be_edited(app, people):
    county = login(app, people["county"])
    program_url = county.post("/subsidies/programs/new",
                              data=program_form()).headers["Location"]
    county.post(program_url + "/activate")
    response = county.get(program_url + "/edit")
    assert response.status_code == 302
    response = county.post(program_url + "/edit", data=program_form(name="改名"))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(SubsidyProgram.name)) == "虎丘区智改数转券"


@pytest.mark.parametrize("key", ["not a key!", "create-key-0001"], ids=["garbled", "reused"])
def test_a_broken_submission_key_refuses_the_bulk_approval(app, people, make_need, key):
    """The key is a hidden field: a garbled one, or one already used to create the program,
    is a message on the queue (both were a 500)."""
    county = login(app, people["county"])
    program_url = county.post("/subsidies/programs/new",
                              data=program_form()).headers["Location"]
    county.post(program_url + "/activate")
    with app.app_context():
        enterprise_id = db.session.get(User, people["sme"].id).enterprise_id
        provider_id = db.session.get(User, people["provider"].id).provider_id
    need_id = make_need(enterprise_id)
    with app.app_context():
        request = DealRequest(need_id=need_id, package_id=people["package"], status="ordered",
                              enterprise_id=enterprise_id, provider_id=provider_id)
        db.session.add(request)
        db.session.flush()
        order = Order(need_id=need_id, request_id=request.id, package_id=people["package"],
                      enterprise_id=enterprise_id, provider_id=provider_id, status="accepted",
                      amount_fen=1_000_000, scope="设备联网", delivery_days=10,
                      due_date=today() + timedelta(days=10))
        db.session.add(order)
        db.session.flush()
        claim = SubsidyClaim(program_id=int(program_url.rsplit("/", 1)[1]), order_id=order.id,
                             enterprise_id=enterprise_id, year=today().year,
                             order_amount_fen=1_000_000, amount_fen=500_000)
        db.session.add(claim)
        db.session.flush()
        db.session.add(LedgerEntry(program_id=claim.program_id, claim_id=claim.id,
                                   kind="reserve", amount_fen=500_000))
        db.session.commit()
        claim_id = claim.id
    response = county.post("/subsidies/claims/approve", data={
        "claim_ids": [claim_id], "idempotency_key": key}, follow_redirects=True)
    assert response.request.path == "/subsidies/claims"
    assert "提交编号无效，请刷新页面后重试。" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(SubsidyClaim, claim_id).status == "reserved"
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey).where(
            IdempotencyKey.action == "approve_claims")) == 0


def test_ledger_notes_are_stored_as_codes_and_read_in_the_readers_language(app, people):
    """Regression (issue 17): a program created on an English page stored "Initial budget" in
    its ledger, and Chinese readers saw it so."""
    county = login(app, people["county"])
    with county.session_transaction() as session:
        session["lang"] = "en"
    program_url = county.post("/subsidies/programs/new",
                              data=program_form()).headers["Location"]
    with app.app_context():
        entry = db.session.scalar(db.select(LedgerEntry))
        assert (entry.note, entry.note_code, entry.system_note) == ("", "initial_budget",
                                                                   "initial_budget")
    assert "Initial budget" in county.get(program_url).get_data(as_text=True)
    with county.session_transaction() as session:
        session["lang"] = "zh_CN"
    page = county.get(program_url).get_data(as_text=True)
    assert "初始预算" in page and "Initial budget" not in page


def test_notes_written_before_the_code_are_recognised(app, people):
    with app.app_context():
        older = LedgerEntry(kind="adjust", note="Initial budget")
        reason = LedgerEntry(kind="adjust", note="年中追加")
        assert (older.system_note, reason.system_note) == ("initial_budget", "")
