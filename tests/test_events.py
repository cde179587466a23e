"""Matchmaking events (供需对接活动): the event's rules, registration and its capacity under
concurrency, the proposed schedule and its adjustments, outcomes that become deal requests,
the audit trail, the pages end to end and the demo."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import matching
from marketplace.extensions import db
from marketplace.models import (
    AuditEntry,
    DealRequest,
    EventMeeting,
    EventRegistration,
    MatchEvent,
    Notification,
    User,
)
from marketplace.services import events
from marketplace.services.errors import (
    IllegalTransition,
    NotAllowed,
    ValidationFailed,
)
from tests.conftest import AuthActions
from tests.test_subsidies import _race

DEVICE = "注塑机老是坏，一停机就耽误交货，想知道哪台机器在干活、停了多久。"
QUALITY = "产品表面划痕和气泡靠人眼检查，漏检多，想用相机自动检测缺陷。"


def start_in(days: float) -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=days)


def event_data(**changes) -> events.EventData:
    start = changes.pop("starts_at", start_in(10))
    values = dict(title="姑苏区智改数转供需对接会", description="企业与服务商分轮洽谈。",
                  region_code="320505", mode="onsite", place="姑苏区会议中心", link="",
                  starts_at=start, slot_minutes=20, slot_count=4, table_count=3,
                  meetings_per_sme=2, sme_capacity=10, provider_capacity=10,
                  registration_deadline=start - timedelta(days=3))
    values.update(changes)
    return events.EventData(**values)


def user(handle) -> User:
    return db.session.get(User, handle.id)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def officials(make_user):
    return {key: make_user(role="gov", region_code=code)
            for key, code in (("county", "320505"), ("other_county", "320506"),
                              ("city", "320500"), ("province", "320000"))}


@pytest.fixture
def make_event(app, officials):
    def make(by: str = "county", opened: bool = True, **changes) -> int:
        with app.app_context():
            actor = user(officials[by])
            event = events.create_event(actor, event_data(**changes))
            if opened:
                events.change_event_status(actor, event, "open")
            db.session.commit()
            return event.id

    return make


@pytest.fixture
def later(monkeypatch):
    """Moves the services' clock: ``later(days)`` from now."""
    def travel(days: float) -> None:
        moment = datetime.now(UTC) + timedelta(days=days)
        monkeypatch.setattr(events, "now", lambda: moment)

    return travel


@pytest.fixture
def market(app, make_user, make_provider, make_package, make_need, make_enterprise):
    """SMEs of the county with needs, providers serving the province with fitting packages,
    and a provider with a fitting package that will not register."""
    ids = {}
    for key, name, category, text in (
            ("device", "姑苏设备联网服务商", "device_monitoring",
             "注塑机联网，实时监测停机与开机率。"),
            ("quality", "姑苏视觉质检服务商", "quality", "相机拍照自动检测表面划痕气泡等缺陷。"),
            ("stranger", "未报名的联网服务商", "device_monitoring",
             "注塑机联网，实时监测停机与开机率，看哪台机器在干活。")):
        provider = make_provider(name=name).id
        ids[f"{key}_provider"] = provider
        ids[f"{key}_user"] = make_user(role="provider", provider_id=provider)
        ids[f"{key}_package"] = make_package(provider, title=f"{name}方案包",
                                             category_code=category, description=text)
    for key, texts in (("a", [(DEVICE, "device_monitoring")]),
                       ("b", [(QUALITY, "quality")]),
                       ("c", [(DEVICE, "device_monitoring"), (QUALITY, "quality")]),
                       ("d", [])):
        enterprise = make_enterprise(name=f"姑苏{key}精密制造有限公司").id
        ids[f"sme_{key}"] = make_user(enterprise_id=enterprise)
        ids[f"enterprise_{key}"] = enterprise
        for i, (text, category) in enumerate(texts):
            ids[f"need_{key}{i}"] = make_need(enterprise, title=f"需求{key}{i}", description=text,
                                              category_code=category)
    return ids


def register_all(app, event_id: int, market: dict, smes="abcd",
                 providers=("device", "quality")) -> None:
    with app.app_context():
        event = db.session.get(MatchEvent, event_id)
        for key in smes:
            events.register(user(market[f"sme_{key}"]), event)
        for key in providers:
            events.register(user(market[f"{key}_user"]), event)
        db.session.commit()


def grid_of(event: MatchEvent) -> list[matching.Assignment]:
    return [matching.Assignment(m.slot_index, m.table_index, m.enterprise_id, m.provider_id)
            for m in event.meetings]


# -- the event ----------------------------------------------------------------------------------


def test_an_official_creates_a_draft_event_in_their_region_or_below(app, officials):
    with app.app_context():
        city = user(officials["city"])
        event = events.create_event(city, event_data(region_code="320505"))
        db.session.commit()
        assert event.status == "draft" and event.region.code == "320505"
        assert event.ends_at - event.slot_start(0) == timedelta(minutes=80)
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "create_event"))
        assert entry.region_id == event.region_id and entry.actor_id == city.id


BAD_EVENTS = [
    ({"slot_minutes": 4}, "slot_minutes"), ({"slot_minutes": 121}, "slot_minutes"),
    ({"slot_count": 0}, "slot_count"), ({"slot_count": 41}, "slot_count"),
    ({"table_count": 0}, "table_count"), ({"table_count": 101}, "table_count"),
    ({"sme_capacity": 0}, "sme_capacity"), ({"provider_capacity": 0}, "provider_capacity"),
    ({"meetings_per_sme": 5}, "meetings_per_sme"),
    ({"registration_deadline": start_in(11)}, "registration_deadline"),
    ({"starts_at": start_in(-1), "registration_deadline": start_in(-2)}, "starts_at"),
    ({"place": " "}, "place"),
    ({"mode": "online", "link": "ftp://meet.example.cn"}, "link"),
    ({"mode": "by-carrier-pigeon"}, "mode"),
    ({"region_code": "320506"}, "region_code"), ({"region_code": "999999"}, "region_code"),
    ({"title": "会"}, "title"),
    ({"cluster_code": "no-such-cluster"}, "cluster_code"),
    ({"chain_leader_id": 2**31 - 1}, "chain_leader_id"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_EVENTS,
                         ids=[f"{field}-{i}" for i, (_, field) in enumerate(BAD_EVENTS)])
def test_bad_event_values_are_refused_beside_their_field(app, officials, changes, field):
    with app.app_context():
        with pytest.raises(ValidationFailed) as refused:
            events.create_event(user(officials["county"]), event_data(**changes))
        assert field in refused.value.errors
        db.session.rollback()
        assert count(MatchEvent) == 0


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.fixed_dictionaries({
    "slot_minutes": st.integers(-5, 200), "slot_count": st.integers(-1, 60),
    "table_count": st.integers(-1, 150), "meetings_per_sme": st.integers(-1, 60),
    "sme_capacity": st.integers(-1, 20_000), "provider_capacity": st.integers(-1, 20_000)}))
def test_the_numbers_are_accepted_exactly_within_their_documented_bounds(ctx, officials,
                                                                          numbers):
    inside = (5 <= numbers["slot_minutes"] <= 120 and 1 <= numbers["slot_count"] <= 40
              and 1 <= numbers["table_count"] <= 100
              and 1 <= numbers["meetings_per_sme"] <= min(numbers["slot_count"], 40)
              and 1 <= numbers["sme_capacity"] <= 10_000
              and 1 <= numbers["provider_capacity"] <= 10_000)
    try:
        events.create_event(user(officials["county"]), event_data(**numbers))
        accepted = True
    except ValidationFailed as refused:
        accepted = False
        assert set(refused.errors) <= set(numbers)
    finally:
        db.session.rollback()
    assert accepted == inside


@pytest.mark.parametrize("role", ["sme", "provider", "admin"])
def test_only_officials_hold_events(app, make_user, role):
    with app.app_context():
        with pytest.raises(NotAllowed):
            events.create_event(user(make_user(role=role)), event_data())


def test_officials_of_the_region_or_above_manage_it_and_no_one_else(app, officials,
                                                                    make_event, make_user):
    event_id = make_event(opened=False)
    strangers = (officials["other_county"], make_user(role="admin"), make_user())
    with app.app_context():
        event = db.session.get(MatchEvent, event_id)
        for stranger in strangers:
            actor = user(stranger)
            for act in (lambda a=actor: events.update_event(a, event, event_data()),
                        lambda a=actor: events.change_event_status(a, event, "open"),
                        lambda a=actor: events.propose_schedule(a, event),
                        lambda a=actor: events.publish_schedule(a, event)):
                with pytest.raises(NotAllowed):
                    act()
        events.change_event_status(user(officials["province"]), event, "open")
        db.session.commit()
        assert db.session.get(MatchEvent, event_id).status == "open"


def test_the_event_moves_through_its_states_and_refuses_wrong_steps(app, officials, make_event,
                                                                    market, later):
    event_id = make_event(opened=False)
    with app.app_context():
        official = user(officials["county"])
        event = db.session.get(MatchEvent, event_id)
        with pytest.raises(IllegalTransition):
            events.change_event_status(official, event, "finish")  # a draft
        events.change_event_status(official, event, "open")
        with pytest.raises(IllegalTransition, match="日程还是空的"):
            events.publish_schedule(official, event)
        with pytest.raises(IllegalTransition):
            events.change_event_status(official, event, "publish")  # only publish_schedule
        with pytest.raises(ValidationFailed):
            events.change_event_status(official, event, "cancel", "  ")
        db.session.commit()
    register_all(app, event_id, market, smes="a", providers=("device",))
    with app.app_context():
        official, event = user(officials["county"]), db.session.get(MatchEvent, event_id)
        events.add_meeting(official, event, market["enterprise_a"], market["device_provider"],
                           0, 0)
        events.publish_schedule(official, event)
        with pytest.raises(IllegalTransition, match="活动开始后才能结束"):
            events.change_event_status(official, event, "finish")
        later(11)
        events.change_event_status(official, event, "finish")
        with pytest.raises(IllegalTransition):
            events.change_event_status(official, event, "cancel", "天气")
        db.session.commit()
        assert db.session.get(MatchEvent, event_id).status == "finished"


def test_registration_cannot_open_after_its_deadline(app, officials, make_event, later):
    event_id = make_event(opened=False)
    later(8)
    with app.app_context():
        with pytest.raises(IllegalTransition, match="报名截止时间已过"):
            events.change_event_status(user(officials["county"]),
                                       db.session.get(MatchEvent, event_id), "open")


def test_a_cancelled_event_tells_its_participants(app, officials, make_event, market):
    event_id = make_event()
    register_all(app, event_id, market, smes="a", providers=("device",))
    with app.app_context():
        events.change_event_status(user(officials["city"]), db.session.get(MatchEvent, event_id),
                                   "cancel", "场地临时维修")
        db.session.commit()
        told = {n.user_id for n in db.session.scalars(
            select(Notification).where(Notification.kind == "event_cancelled"))}
        assert told == {market["sme_a"].id, market["device_user"].id}
        assert db.session.get(MatchEvent, event_id).cancel_reason == "场地临时维修"


# -- registration -------------------------------------------------------------------------------


def test_smes_of_the_region_and_providers_serving_it_register(app, make_event, make_user,
                                                              make_enterprise, make_provider):
    event_id = make_event()
    here = make_user(enterprise_id=make_enterprise(name="区内企业").id)
    elsewhere = make_user(enterprise_id=make_enterprise(county="320506", name="区外企业").id)
    serves_city = make_user(role="provider", provider_id=make_provider(
        name="服务苏州市的服务商", regions=("320500",)).id)
    serves_wuxi = make_user(role="provider", provider_id=make_provider(
        name="只服务无锡的服务商", regions=("320200",)).id)
    unverified = make_user(role="provider", provider_id=make_provider(
        name="未认证服务商", verified=False).id)
    admin = make_user(role="admin")
    with app.app_context():
        event = db.session.get(MatchEvent, event_id)
        events.register(user(here), event)
        events.register(user(serves_city), event)
        for refused, message in ((elsewhere, "面向"), (serves_wuxi, "服务地区"),
                                 (unverified, "已认证"), (admin, "企业用户")):
            with pytest.raises(NotAllowed, match=message):
                events.register(user(refused), event)
        with pytest.raises(IllegalTransition, match="已经报名"):
            events.register(user(here), event)
        db.session.commit()
        assert events.registration_counts(event) == {"enterprise": 1, "provider": 1}


def test_a_draft_takes_no_registrations(app, make_event, make_user):
    event_id = make_event(opened=False)
    with app.app_context():
        with pytest.raises(NotAllowed, match="不接受报名"):
            events.register(user(make_user()), db.session.get(MatchEvent, event_id))


def test_an_event_aimed_at_a_cluster_or_a_chain_takes_its_smes(app, make_event, make_user,
                                                               make_enterprise):
    leader = make_enterprise(name="链主集团", is_chain_leader=True, employees=5000,
                             revenue_wan=900000).id
    in_chain = make_user(enterprise_id=make_enterprise(name="链上企业", cluster_code=None,
                                                       chain_leader_id=leader).id)
    in_cluster = make_user(enterprise_id=make_enterprise(name="集群企业").id)
    neither = make_user(enterprise_id=make_enterprise(name="其他企业", cluster_code=None).id)
    cluster_only = make_event(cluster_code="high_end_equipment")
    chain_only = make_event(chain_leader_id=leader)
    either = make_event(cluster_code="high_end_equipment", chain_leader_id=leader)
    with app.app_context():
        def may(handle, event_id) -> bool:
            event = db.session.get(MatchEvent, event_id)
            return events.registration_problem(user(handle), event) is None

        assert [may(u, cluster_only) for u in (in_chain, in_cluster, neither)] == [
            False, True, False]
        assert [may(u, chain_only) for u in (in_chain, in_cluster, neither)] == [
            True, False, False]
        assert [may(u, either) for u in (in_chain, in_cluster, neither)] == [True, True, False]


def test_registration_closes_at_the_deadline(app, make_event, market, later):
    event_id = make_event()
    register_all(app, event_id, market, smes="a", providers=())
    later(8)
    with app.app_context():
        event = db.session.get(MatchEvent, event_id)
        with pytest.raises(NotAllowed, match="不接受报名"):
            events.register(user(market["sme_b"]), event)
        with pytest.raises(IllegalTransition, match="报名已截止"):
            events.unregister(user(market["sme_a"]), event)


def test_each_side_has_its_capacity(app, make_event, market):
    event_id = make_event(sme_capacity=2, provider_capacity=1)
    register_all(app, event_id, market, smes="ab", providers=("device",))
    with app.app_context():
        event = db.session.get(MatchEvent, event_id)
        with pytest.raises(IllegalTransition, match="名额已满"):
            events.register(user(market["sme_c"]), event)
        with pytest.raises(IllegalTransition, match="名额已满"):
            events.register(user(market["quality_user"]), event)


def test_unregistering_takes_the_party_and_its_proposed_meetings_out(app, officials,
                                                                     make_event, market):
    event_id = make_event()
    register_all(app, event_id, market)
    with app.app_context():
        event = db.session.get(MatchEvent, event_id)
        events.propose_schedule(user(officials["county"]), event)
        db.session.commit()
        assert any(m.enterprise_id == market["enterprise_a"] for m in event.meetings)
        events.unregister(user(market["sme_a"]), event)
        db.session.commit()
        event = db.session.get(MatchEvent, event_id)
        assert all(m.enterprise_id != market["enterprise_a"] for m in event.meetings)
        assert events.registration_counts(event)["enterprise"] == 3
        with pytest.raises(IllegalTransition, match="没有报名"):
            events.unregister(user(market["sme_a"]), event)


def test_concurrent_registrations_never_pass_the_capacity(app, make_event, make_user,
                                                          make_provider):
    """20 SMEs and 8 providers register at the same moment for 5 and 3 places."""
    event_id = make_event(sme_capacity=5, provider_capacity=3)
    smes = [make_user() for _ in range(20)]
    providers = [make_user(role="provider", provider_id=make_provider(name=f"服务商{i}").id)
                 for i in range(8)]

    def job(handle):
        return lambda: events.register(user(handle),
                                       db.session.get(MatchEvent, event_id)).id

    results = _race(app, [job(h) for h in smes + providers])
    made = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if not isinstance(r, int)]
    assert len(made) == 8, results
    assert all(isinstance(r, IllegalTransition) and "名额已满" in str(r) for r in refused), refused
    with app.app_context():
        counts = events.registration_counts(db.session.get(MatchEvent, event_id))
        assert counts == {"enterprise": 5, "provider": 3}


# -- the schedule -------------------------------------------------------------------------------


def test_the_proposal_meets_each_sme_with_registered_providers_that_fit_its_needs(
        app, officials, make_event, market):
    event_id = make_event(slot_count=4, table_count=2, meetings_per_sme=2)
    register_all(app, event_id, market)
    with app.app_context():
        event = db.session.get(MatchEvent, event_id)
        meetings = events.propose_schedule(user(officials["county"]), event)
        db.session.commit()
        assert meetings and matching.schedule_problems(grid_of(event), 4, 2, 2) == []
        pairs = {(m.enterprise_id, m.provider_id): m for m in meetings}
        assert market["stranger_provider"] not in {p for _, p in pairs}  # did not register
        device = pairs[(market["enterprise_a"], market["device_provider"])]
        assert device.need_id == market["need_a0"]
        assert device.package_id == market["device_package"] and device.score > 0
        quality = pairs[(market["enterprise_b"], market["quality_provider"])]
        assert quality.need_id == market["need_b0"]
        # the SME without needs is matched on its profile
        assert any(e == market["enterprise_d"] and pairs[(e, p)].need_id is None
                   for e, p in pairs)
        # the score of each pair is its best package's
        fits = events.pair_fits(event)
        assert all(m.score == fits[(m.enterprise_id, m.provider_id)].score for m in meetings)
        again = events.propose_schedule(user(officials["county"]), event)
        db.session.commit()
        assert sorted((m.slot_index, m.table_index, m.enterprise_id) for m in again) == sorted(
            (m.slot_index, m.table_index, m.enterprise_id) for m in meetings)
        assert count(EventMeeting) == len(meetings)


def _scheduled(app, officials, make_event, market, **changes) -> tuple[int, dict]:
    """An open event with all of the market registered and two meetings placed by hand."""
    event_id = make_event(**{"slot_count": 3, "table_count": 2, "meetings_per_sme": 2,
                             **changes})
    register_all(app, event_id, market)
    with app.app_context():
        official, event = user(officials["county"]), db.session.get(MatchEvent, event_id)
        first = events.add_meeting(official, event, market["enterprise_a"],
                                   market["device_provider"], 0, 0)
        second = events.add_meeting(official, event, market["enterprise_b"],
                                    market["quality_provider"], 0, 1)
        db.session.commit()
        return event_id, {"first": first.id, "second": second.id}


@pytest.mark.parametrize(("move", "field", "message"), [
    ((0, 1), "table", "这张桌已有安排"),
    ((3, 0), "slot", "轮次需在"),
    ((1, 2), "table", "桌号需在"),
])
def test_a_move_that_breaks_a_rule_is_refused_beside_its_field(app, officials, make_event,
                                                               market, move, field, message):
    event_id, made = _scheduled(app, officials, make_event, market)
    with app.app_context():
        meeting = db.session.get(EventMeeting, made["first"])
        with pytest.raises(ValidationFailed) as refused:
            events.move_meeting(user(officials["county"]), meeting, *move)
        assert message in str(refused.value.errors[field])
        db.session.rollback()
        meeting = db.session.get(EventMeeting, made["first"])
        assert (meeting.slot_index, meeting.table_index) == (0, 0)


def test_adding_checks_the_parties_and_the_same_rules(app, officials, make_event, market):
    event_id, made = _scheduled(app, officials, make_event, market)
    with app.app_context():
        official, event = user(officials["county"]), db.session.get(MatchEvent, event_id)
        cases = [
            ((market["enterprise_a"], market["stranger_provider"], 1, 0), "provider_id",
             "没有报名"),
            ((market["enterprise_a"], market["device_provider"], 1, 0), "provider_id",
             "已经安排过"),
            ((market["enterprise_a"], market["quality_provider"], 0, 1), "slot", "这家企业在"),
            ((market["enterprise_c"], market["device_provider"], 0, 1), "slot", "这家服务商在"),
        ]
        for args, field, message in cases:
            with pytest.raises(ValidationFailed) as refused:
                events.add_meeting(official, event, *args)
            assert message in str(refused.value.errors[field]), args
            db.session.rollback()
            event = db.session.get(MatchEvent, event_id)
        assert count(EventMeeting) == 2
        events.register(user(market["stranger_user"]), event)
        events.add_meeting(official, event, market["enterprise_a"], market["quality_provider"],
                           1, 0)
        db.session.commit()
        with pytest.raises(ValidationFailed, match="上限"):  # two meetings per SME
            events.add_meeting(official, db.session.get(MatchEvent, event_id),
                               market["enterprise_a"], market["stranger_provider"], 2, 0)
        db.session.rollback()
        assert count(EventMeeting) == 3


OPS = st.lists(st.tuples(st.sampled_from(["add", "move", "remove"]), st.integers(0, 3),
                         st.integers(0, 1), st.integers(0, 3), st.integers(0, 3)), max_size=10)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=OPS)
def test_no_sequence_of_adjustments_breaks_the_schedule(app, officials, make_event, market,
                                                        ops):
    """Whatever the official adds, moves and removes (refusals included), the stored schedule
    keeps every rule, and a refused change leaves it as it was."""
    event_id = make_event(slot_count=3, table_count=2, meetings_per_sme=2)
    register_all(app, event_id, market, providers=("device", "quality", "stranger"))
    smes = [market[f"enterprise_{k}"] for k in "abcd"]
    providers = [market[f"{k}_provider"] for k in ("device", "quality", "stranger")]
    with app.app_context():
        official = user(officials["county"])
        for op, who, whom, slot, table in ops:
            event = db.session.get(MatchEvent, event_id)
            before = sorted(grid_of(event))
            try:
                if op == "add":
                    events.add_meeting(official, event, smes[who], providers[whom % 3], slot,
                                       table)
                elif event.meetings:
                    meeting = event.meetings[who % len(event.meetings)]
                    if op == "move":
                        events.move_meeting(official, meeting, slot, table)
                    else:
                        events.remove_meeting(official, meeting)
                db.session.commit()
            except ValidationFailed:
                db.session.rollback()
                assert sorted(grid_of(db.session.get(MatchEvent, event_id))) == before
            event = db.session.get(MatchEvent, event_id)
            assert matching.schedule_problems(grid_of(event), 3, 2, 2) == []


def test_publishing_tells_every_participant_and_shows_them_their_meetings(
        app, officials, make_event, market):
    event_id, made = _scheduled(app, officials, make_event, market)
    with app.app_context():
        event = db.session.get(MatchEvent, event_id)
        assert events.my_meetings(user(market["sme_a"]), event) == []  # a proposal is private
        events.publish_schedule(user(officials["county"]), event)
        db.session.commit()
        told = {n.user_id for n in db.session.scalars(
            select(Notification).where(Notification.kind == "event_scheduled"))}
        assert told == {market[f"sme_{k}"].id for k in "abcd"} | {
            market["device_user"].id, market["quality_user"].id}
        mine = events.my_meetings(user(market["sme_a"]), event)
        assert [m.id for m in mine] == [made["first"]]
        assert [m.id for m in events.my_meetings(user(market["quality_user"]), event)] == [
            made["second"]]
        # a change after publication is news to both parties of the meeting
        events.move_meeting(user(officials["county"]), db.session.get(EventMeeting,
                                                                      made["first"]), 2, 0)
        db.session.commit()
        changed = {n.user_id for n in db.session.scalars(
            select(Notification).where(Notification.kind == "event_changed"))}
        assert changed == {market["sme_a"].id, market["device_user"].id}
        with pytest.raises(IllegalTransition):
            events.propose_schedule(user(officials["county"]), event)


def test_an_open_event_keeps_what_its_registrations_and_schedule_need(app, officials,
                                                                      make_event, market):
    event_id, _made = _scheduled(app, officials, make_event, market)
    with app.app_context():
        official, event = user(officials["city"]), db.session.get(MatchEvent, event_id)
        with pytest.raises(ValidationFailed) as refused:
            events.update_event(official, event, event_data(
                sme_capacity=3, provider_capacity=1, table_count=1, region_code="320500"))
        assert set(refused.value.errors) == {"sme_capacity", "provider_capacity",
                                             "table_count", "region_code"}
        db.session.rollback()
        events.update_event(official, db.session.get(MatchEvent, event_id),
                            event_data(title="姑苏区供需对接会（改期）", sme_capacity=4,
                                       slot_count=5, table_count=2))
        db.session.commit()
        event = db.session.get(MatchEvent, event_id)
        assert (event.title, event.sme_capacity, event.slot_count) == (
            "姑苏区供需对接会（改期）", 4, 5)


# -- outcomes -----------------------------------------------------------------------------------


def test_outcomes_wait_for_the_end_of_the_event(app, officials, make_event, market, later):
    event_id, made = _scheduled(app, officials, make_event, market)
    with app.app_context():
        events.publish_schedule(user(officials["county"]), db.session.get(MatchEvent, event_id))
        db.session.commit()
        meeting = db.session.get(EventMeeting, made["first"])
        with pytest.raises(IllegalTransition, match="活动结束后"):
            events.record_outcome(user(market["sme_a"]), meeting,
                                  events.OutcomeData("follow_up"))
        later(10.5)
        events.record_outcome(user(market["device_user"]), meeting,
                              events.OutcomeData("follow_up", "下周上门"))
        db.session.commit()
        meeting = db.session.get(EventMeeting, made["first"])
        assert (meeting.provider_outcome, meeting.provider_note) == ("follow_up", "下周上门")
        assert meeting.sme_outcome == "none"


def test_an_smes_request_sent_becomes_a_deal_request(app, officials, make_event, market, later,
                                                     make_package):
    event_id, made = _scheduled(app, officials, make_event, market)
    other_package = make_package(market["quality_provider"], title="别家的方案包")
    with app.app_context():
        events.publish_schedule(user(officials["county"]), db.session.get(MatchEvent, event_id))
        db.session.commit()
        later(11)
        sme, meeting = user(market["sme_a"]), db.session.get(EventMeeting, made["first"])
        wrong = [
            (events.OutcomeData("request_sent", "", market["need_b0"], market["device_package"]),
             "need_id"),
            (events.OutcomeData("request_sent", "", market["need_a0"], other_package),
             "package_id"),
            (events.OutcomeData("request_sent", "", None, None), "package_id"),
            (events.OutcomeData("maybe"), "outcome"),
        ]
        for data, field in wrong:
            with pytest.raises(ValidationFailed) as refused:
                events.record_outcome(sme, meeting, data)
            assert field in refused.value.errors
            db.session.rollback()
        with pytest.raises(ValidationFailed):  # requests come from SMEs
            events.record_outcome(user(market["device_user"]), meeting,
                                  events.OutcomeData("request_sent"))
        with pytest.raises(NotAllowed):
            events.record_outcome(user(market["sme_b"]), meeting,
                                  events.OutcomeData("follow_up"))
        db.session.rollback()
        assert count(DealRequest) == 0
        meeting = db.session.get(EventMeeting, made["first"])
        events.record_outcome(sme, meeting, events.OutcomeData(
            "request_sent", "", market["need_a0"], market["device_package"]))
        db.session.commit()
        request = db.session.scalar(select(DealRequest))
        assert (request.need_id, request.package_id, request.enterprise_id,
                request.provider_id, request.status) == (
            market["need_a0"], market["device_package"], market["enterprise_a"],
            market["device_provider"], "pending")
        assert "对接活动" in request.message
        meeting = db.session.get(EventMeeting, made["first"])
        assert meeting.deal_request_id == request.id and meeting.sme_outcome == "request_sent"
        assert db.session.scalar(select(Notification.user_id).where(
            Notification.kind == "request_received")) == market["device_user"].id
        with pytest.raises(ValidationFailed, match="不能再改"):
            events.record_outcome(sme, meeting, events.OutcomeData("no_fit"))
        summary = events.outcome_summary(db.session.get(MatchEvent, event_id))
        assert summary["requests"] == 1 and summary["sme"]["request_sent"] == 1


def test_every_write_is_audited_with_the_events_region(app, officials, make_event, market,
                                                       later):
    event_id, made = _scheduled(app, officials, make_event, market)
    with app.app_context():
        official = user(officials["county"])
        event = db.session.get(MatchEvent, event_id)
        events.move_meeting(official, db.session.get(EventMeeting, made["second"]), 1, 1)
        events.publish_schedule(official, event)
        db.session.commit()
        later(11)
        events.record_outcome(user(market["sme_a"]), db.session.get(EventMeeting, made["first"]),
                              events.OutcomeData("no_fit"))
        events.change_event_status(official, event, "finish")
        db.session.commit()
        entries = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(["create_event", "open_event", "register_event", "add_meeting",
                                   "move_meeting", "publish_schedule", "record_outcome",
                                   "finish_event"]))).all()
        assert {e.action for e in entries} == {
            "create_event", "open_event", "register_event", "add_meeting", "move_meeting",
            "publish_schedule", "record_outcome", "finish_event"}
        assert {e.region_id for e in entries} == {event.region_id}


# -- pages --------------------------------------------------------------------------------------


def login(app, handle):
    client = app.test_client()
    assert AuthActions(client, app).login(handle).status_code == 302
    return client


def form_values(**changes) -> dict:
    local = datetime.now() + timedelta(days=10)
    values = {"title": "姑苏区供需对接会", "description": "", "region_code": "320505",
              "mode": "onsite", "place": "姑苏区会议中心", "link": "",
              "starts_at": local.strftime("%Y-%m-%dT%H:%M"),
              "registration_deadline": (local - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
              "slot_minutes": "20", "slot_count": "3", "table_count": "2",
              "meetings_per_sme": "2", "sme_capacity": "10", "provider_capacity": "5",
              "cluster_code": "", "chain_leader_id": ""}
    values.update(changes)
    return values


def beside(page: str, name: str, message: str) -> bool:
    """The message sits in the field's feedback block, next to the field."""
    return re.search(rf'name="{name}"[^>]*>\s*<div class="invalid-feedback[^"]*">\s*'
                     rf"{re.escape(message)}", page) is not None


def test_the_event_form_puts_messages_beside_the_fields_and_writes_nothing(app, officials):
    client = login(app, officials["county"])
    past = (datetime.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/events/new", data=form_values(
        slot_minutes="200", slot_count="0", table_count="101", sme_capacity="0",
        registration_deadline=form_values()["starts_at"]))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert beside(page, "slot_minutes", "每轮时长需在 5 到 120 分钟之间。")
    assert beside(page, "slot_count", "轮数需在 1 到 40 之间。")
    assert beside(page, "table_count", "洽谈桌数需在 1 到 100 之间。")
    assert beside(page, "sme_capacity", "名额需在 1 到 10000 之间。")
    # the service's own rules, once the form's pass
    response = client.post("/events/new", data=form_values(
        registration_deadline=form_values()["starts_at"], mode="online"))
    page = response.get_data(as_text=True)
    assert beside(page, "registration_deadline", "报名截止时间需早于开始时间。")
    assert beside(page, "link", "线上活动请填写以 http:// 或 https:// 开头的会议链接。")
    response = client.post("/events/new", data=form_values(starts_at=past,
                                                           registration_deadline=past))
    assert beside(response.get_data(as_text=True), "starts_at", "开始时间需在将来。")
    assert response.status_code == 400
    response = client.post("/events/new", data=form_values(chain_leader_id="  "))
    assert response.status_code == 400  # was a 500 (int("  "))
    assert re.search(r'name="chain_leader_id".*?</select>\s*<div class="invalid-feedback'
                     r'[^"]*">\s*不是有效的选择。', response.get_data(as_text=True), re.S)
    with app.app_context():
        assert count(MatchEvent) == 0


def test_an_event_from_creation_to_outcomes_through_the_pages(app, officials, market, later):
    official = login(app, officials["county"])
    response = official.post("/events/new", data=form_values(title="姑苏区设备联网对接会"))
    assert response.status_code == 302
    event_path = response.headers["Location"]
    event_id = int(event_path.rstrip("/").split("/")[-1])
    assert "开放报名" in official.get(event_path).get_data(as_text=True)
    assert official.post(f"/events/{event_id}/open").status_code == 302

    sme = login(app, market["sme_a"])
    page = sme.get(event_path).get_data(as_text=True)
    assert "我要报名" in page and "姑苏区设备联网对接会" in sme.get("/events/").get_data(
        as_text=True)
    assert sme.post(f"/events/{event_id}/register").status_code == 302
    assert "已报名" in sme.get(event_path).get_data(as_text=True)
    assert login(app, market["sme_b"]).post(f"/events/{event_id}/register").status_code == 302
    seller = login(app, market["device_user"])
    assert seller.post(f"/events/{event_id}/register").status_code == 302
    assert login(app, market["quality_user"]).post(
        f"/events/{event_id}/register").status_code == 302

    assert official.post(f"/events/{event_id}/schedule/propose").status_code == 302
    grid = official.get(f"/events/{event_id}/schedule").get_data(as_text=True)
    assert "姑苏a精密制造有限公司" in grid and "姑苏设备联网服务商" in grid
    assert "姑苏设备联网服务商" not in sme.get(event_path).get_data(as_text=True)  # unpublished
    with app.app_context():
        meetings = db.session.scalars(select(EventMeeting)).all()
        mine = next(m for m in meetings if (m.enterprise_id, m.provider_id) == (
            market["enterprise_a"], market["device_provider"]))
        other = next(m for m in meetings if m is not mine)
        taken = {(m.slot_index, m.table_index) for m in meetings}
        busy = {m.slot_index for m in meetings if m is not mine and (
            m.enterprise_id == mine.enterprise_id or m.provider_id == mine.provider_id)}
        free = next((s, t) for s in range(3) for t in range(2)
                    if (s, t) not in taken and s not in busy)
        meeting_id, clash = mine.id, (other.slot_index + 1, other.table_index + 1)
    response = official.post(f"/events/meetings/{meeting_id}/move",
                             data={"slot": str(clash[0]), "table": str(clash[1])})
    assert response.status_code == 400
    assert "这一轮的这张桌已有安排。" in response.get_data(as_text=True)
    assert official.post(f"/events/meetings/{meeting_id}/move", data={
        "slot": str(free[0] + 1), "table": str(free[1] + 1)}).status_code == 302
    assert official.post(f"/events/{event_id}/schedule/publish").status_code == 302

    page = sme.get(event_path).get_data(as_text=True)
    assert "我的对接安排" in page and "姑苏设备联网服务商" in page
    assert f"第 {free[0] + 1} 轮" in page
    assert 'name="outcome"' not in page  # not over yet
    later(11)
    page = sme.get(event_path).get_data(as_text=True)
    assert 'name="outcome"' in page and "已发出对接申请" in page
    response = sme.post(f"/events/meetings/{meeting_id}/outcome", data={
        "outcome": "request_sent", "need_id": str(market["need_a0"]),
        "package_id": str(market["device_package"]), "note": "想先看现场演示"})
    assert response.status_code == 302
    with app.app_context():
        request = db.session.scalar(select(DealRequest))
        assert request.message == "想先看现场演示"
    assert f"/deals/requests/{request.id}" in seller.get("/deals/").get_data(as_text=True)
    summary = official.get(event_path).get_data(as_text=True)
    assert "发出对接申请 1 个" in summary


def test_a_refused_outcome_shows_its_message_beside_the_field(app, officials, make_event,
                                                              market, later):
    event_id, made = _scheduled(app, officials, make_event, market)
    with app.app_context():
        events.publish_schedule(user(officials["county"]), db.session.get(MatchEvent, event_id))
        db.session.commit()
    later(11)
    response = login(app, market["sme_a"]).post(
        f"/events/meetings/{made['first']}/outcome", data={"outcome": "request_sent"})
    assert response.status_code == 400
    assert re.search(r'name="package_id".*?</select>\s*<div class="invalid-feedback[^"]*">\s*'
                     "请选择这家服务商已发布的方案包。", response.get_data(as_text=True), re.S)
    response = login(app, market["sme_a"]).post(  # blank-looking ids were a 500 (int(" "))
        f"/events/meetings/{made['first']}/outcome",
        data={"outcome": "request_sent", "need_id": " ", "package_id": "  "})
    assert response.status_code == 400
    for name in ("need_id", "package_id"):
        assert re.search(rf'name="{name}".*?</select>\s*<div class="invalid-feedback[^"]*">\s*'
                         "不是有效的选择。", response.get_data(as_text=True), re.S), name
    with app.app_context():
        assert count(DealRequest) == 0


def test_the_list_filters_by_region_and_cluster_and_hides_drafts(app, officials, make_event,
                                                                 make_user):
    make_event(title="姑苏集群对接会", cluster_code="high_end_equipment")
    make_event(by="other_county", region_code="320506", title="相城区对接会")
    make_event(title="姑苏草稿对接会", opened=False)
    sme = login(app, make_user())
    page = sme.get("/events/").get_data(as_text=True)
    assert "姑苏集群对接会" in page and "相城区对接会" in page and "姑苏草稿对接会" not in page
    page = sme.get("/events/?region_code=320506").get_data(as_text=True)
    assert "相城区对接会" in page and "姑苏集群对接会" not in page
    page = sme.get("/events/?cluster_code=high_end_equipment").get_data(as_text=True)
    assert "姑苏集群对接会" in page and "相城区对接会" not in page
    assert "姑苏集群对接会" not in sme.get("/events/?past=y").get_data(as_text=True)
    official = login(app, officials["county"]).get("/events/").get_data(as_text=True)
    assert "姑苏草稿对接会" in official


def test_an_online_events_link_is_for_its_participants(app, make_event, market):
    event_id = make_event(mode="online", link="https://meeting.example.cn/r/123", place="")
    register_all(app, event_id, market, smes="a", providers=())
    assert "https://meeting.example.cn/r/123" in login(app, market["sme_a"]).get(
        f"/events/{event_id}").get_data(as_text=True)
    assert "https://meeting.example.cn/r/123" not in login(app, market["sme_b"]).get(
        f"/events/{event_id}").get_data(as_text=True)


# -- demo ---------------------------------------------------------------------------------------


def test_the_demo_has_an_upcoming_event_with_a_proposal_and_a_finished_one(app):
    from marketplace.demo import build_demo
    from marketplace.services.demo import load_demo

    with app.app_context():
        load_demo(build_demo())
        db.session.commit()
        sme = db.session.scalar(select(User).where(User.email == "sme@demo.zgsz.cn"))
        seller = db.session.scalar(select(User).where(User.email == "provider@demo.zgsz.cn"))
        upcoming = db.session.scalar(select(MatchEvent).where(MatchEvent.status == "open"))
        assert upcoming.region.contains(sme.enterprise.county)
        assert events.registration_of(sme, upcoming) is not None
        assert events.registration_of(seller, upcoming) is not None
        counts = events.registration_counts(upcoming)
        assert counts["enterprise"] >= 6 and counts["provider"] >= 4
        assert upcoming.meetings and upcoming.published_at is None
        assert matching.schedule_problems(grid_of(upcoming), upcoming.slot_count,
                                          upcoming.table_count, upcoming.meetings_per_sme) == []
        finished = db.session.scalar(select(MatchEvent).where(MatchEvent.status == "finished"))
        outcomes = {m.sme_outcome for m in finished.meetings}
        assert {"request_sent", "follow_up", "no_fit"} <= outcomes
        sent = next(m for m in finished.meetings if m.sme_outcome == "request_sent")
        assert sent.deal_request.enterprise_id == sme.enterprise_id
        assert count(EventRegistration) >= 10
