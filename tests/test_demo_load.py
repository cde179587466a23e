"""The demo data loads into an empty database and every demo login works."""

from marketplace.demo import build_demo
from marketplace.extensions import db
from marketplace.models import (
    DealRequest,
    Need,
    Order,
    Package,
    SubsidyClaim,
    SubsidyProgram,
    User,
)
from marketplace.services.demo import DEMO_LOGINS, DEMO_PASSWORD, database_is_empty, load_demo


def test_demo_loads_and_every_login_reaches_its_dashboard(app, client):
    with app.app_context():
        assert database_is_empty()
        load_demo(build_demo())
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count()).select_from(Package)) >= 200
        assert db.session.scalar(db.select(db.func.count()).select_from(Need)) == 500
        sme = db.session.scalar(db.select(User).where(User.email == "sme@demo.zgsz.cn"))
        assert sme.enterprise.chain_leader is not None
        provider = db.session.scalar(db.select(User).where(User.role == "provider"))
        assert provider.provider.lead_enterprise_id == sme.enterprise.chain_leader_id
        # one deal waiting on each side: a request to quote, a quote, a delivery to accept
        states = sorted(r.status for r in db.session.scalars(db.select(DealRequest)))
        assert {"ordered", "pending", "quoted"} <= set(states)
        # two quotes wait for the SME, for one need: a paid one and a free trial (0 yuan)
        waiting = db.session.scalars(db.select(DealRequest).where(
            DealRequest.enterprise_id == sme.enterprise_id, DealRequest.status == "quoted")).all()
        assert sorted(r.quote.is_free_trial for r in waiting) == [False, True]
        assert len({r.need_id for r in waiting}) == 1
        orders = db.session.scalars(db.select(Order).where(
            Order.enterprise_id == sme.enterprise_id)).all()
        assert {"delivered", "accepted"} <= {o.status for o in orders}
        # subsidies: programs at each level, the demo orders' claims reserved, one ready for
        # the county's approval
        assert db.session.scalar(db.select(db.func.count()).select_from(SubsidyProgram)) == 4
        claims = db.session.scalars(db.select(SubsidyClaim).where(
            SubsidyClaim.enterprise_id == sme.enterprise_id)).all()
        assert {c.order.status for c in claims} >= {"delivered", "accepted"}
        assert all(c.status == "reserved" and c.amount_fen > 0 for c in claims)
    for email in DEMO_LOGINS:
        response = client.post("/auth/login", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302
        assert client.get("/dashboard").status_code == 200
        client.post("/auth/logout")


def test_seed_demo_refuses_a_database_with_users(runner, make_user):
    make_user()
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code != 0 and "already has users" in result.output


def test_reference_codes_agree_across_packages():
    """docs/codes.md in code: the recommender's codes are the seeded reference data's."""
    import json
    from pathlib import Path

    from marketplace.models import Tier
    from marketplace.templating import LABELS
    from matching.codes import CATEGORIES, LEVEL_RANK

    data = Path(__file__).resolve().parent.parent / "marketplace" / "data"
    categories = json.loads((data / "categories.json").read_text(encoding="utf-8"))
    levels = json.loads((data / "scenario_levels.json").read_text(encoding="utf-8"))
    assert [c["code"] for c in categories] == list(CATEGORIES)
    assert {lv["code"]: lv["rank"] for lv in levels} == LEVEL_RANK
    assert set(LABELS["tier"]) == set(Tier.ALL)


def test_demo_ledgers_read_like_bank_statements(app, client):
    """Regression (issue 17): the province program's burn-down showed 总预算 ¥0 and a negative
    可用余额 for months (its budget was dated at load time, after the history's reservations),
    and a payment was dated in the future."""
    from datetime import UTC

    from marketplace.models import LedgerEntry
    from marketplace.models._base import utcnow
    from marketplace.services import subsidies

    with app.app_context():
        load_demo(build_demo())
        db.session.commit()
        now = utcnow()

        def aware(moment):
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

        for program in db.session.scalars(db.select(SubsidyProgram)):
            lines = subsidies.statement(program)
            assert lines and lines[0].entry.kind == "adjust" and lines[0].budget_fen > 0
            assert all(line.remaining_fen >= 0 for line in lines), program.name
            assert all(row["remaining_fen"] >= 0 and row["budget_fen"] > 0
                       for row in subsidies.burn_down(program))
            assert subsidies.local_day(lines[0].entry.at) <= program.starts_on or all(
                subsidies.local_day(line.entry.at) >= program.starts_on for line in lines)
        assert all(aware(at) <= now for at in db.session.scalars(db.select(LedgerEntry.at)))
        for claim in db.session.scalars(db.select(SubsidyClaim)):
            assert claim.program.starts_on <= subsidies.local_day(claim.created_at)
            assert claim.paid_at is None or aware(claim.paid_at) <= now
        for order in db.session.scalars(db.select(Order)):
            assert all(aware(at) <= now for at in (order.created_at, order.cancelled_at,
                                                  order.delivered_at, order.accepted_at) if at)
    client.post("/auth/login", data={"email": "province@demo.zgsz.cn",
                                     "password": DEMO_PASSWORD})
    page = client.get("/subsidies/programs/1").get_data(as_text=True)
    assert "北京时间" in page and "¥0</td>" not in page.split("资金记录")[0]
    assert "micro" not in page and "小型" in page
