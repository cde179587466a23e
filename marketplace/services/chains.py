"""链式转型: becoming a 链主 and building a confirmed supply chain.

Becoming a 链主: an enterprise applies with evidence; officials of its city or the province
approve or reject it with a reason (a rejected enterprise may apply again with new evidence),
or designate an enterprise directly; admins revoke. Supply chains: a 链主 invites a supplier by
credit code or an SME asks to join; the other side confirms or declines; either side may end a
confirmed membership, saying why. Each step refuses an illegal transition and changes nothing.

``Enterprise.is_chain_leader`` and ``Enterprise.chain_leader_id`` are written here only: they
cache the approved status and the one confirmed membership that the recommender
(``services.matching``), the figures and the events read.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from .. import creditcode
from ..extensions import db
from ..models import (
    ChainLeaderApplication,
    ChainMembership,
    ClaimStatus,
    DiagnosisResult,
    Enterprise,
    LeaderStatus,
    MembershipStatus,
    Need,
    NeedStatus,
    Order,
    Provider,
    SubsidyClaim,
    User,
    Visibility,
)
from ..models._base import utcnow
from ..models.chains import may_decide_for
from . import audit
from .errors import IllegalTransition, NotAllowed, NotFound, ValidationFailed
from .imports import Column
from .notify import notify
from .regions import region_ids_governed
from .txn import begin_write

TEXT_MAX = 1000
REVOKED_NOTE = _l("链主资格已撤销")


@dataclass(frozen=True)
class LeaderEvidence:
    revenue_wan: int
    supplier_count: int
    platform_id: int | None
    evidence: str


def latest_application(enterprise: Enterprise) -> ChainLeaderApplication | None:
    return db.session.scalar(
        select(ChainLeaderApplication).where(ChainLeaderApplication.enterprise_id == enterprise.id)
        .order_by(ChainLeaderApplication.id.desc()).limit(1))


def _text(value: str, field: str, required_message=None) -> str:
    value = (value or "").strip()
    if required_message is not None and not value:
        raise ValidationFailed({field: required_message})
    if len(value) > TEXT_MAX:
        raise ValidationFailed({field: _l("最多 %(n)d 个字。", n=TEXT_MAX)})
    return value


def _check_evidence(data: LeaderEvidence) -> dict:
    errors = {}
    if not 0 < data.revenue_wan <= 100_000_000:
        errors["revenue_wan"] = _l("请填写 1 到 1 亿之间的整数（单位：万元）。")
    if not 1 <= data.supplier_count <= 100_000:
        errors["supplier_count"] = _l("请填写 1 到 100000 之间的整数。")
    if data.platform_id is not None:
        platform = db.session.get(Provider, data.platform_id)
        if platform is None or not platform.is_public:
            errors["platform_id"] = _l("请选择列表中的平台。")
    if len((data.evidence or "").strip()) < 10:
        errors["evidence"] = _l(
            "请说明依据（至少 10 个字），例如主要客户、供应商分布和平台建设情况。")
    elif len(data.evidence.strip()) > TEXT_MAX:
        errors["evidence"] = _l("最多 %(n)d 个字。", n=TEXT_MAX)
    return errors


def apply_for_leader(actor: User, data: LeaderEvidence) -> ChainLeaderApplication:
    """The actor's enterprise applies to be a 链主; refused while one is pending or approved."""
    enterprise = actor.enterprise if actor.is_sme else None
    if enterprise is None:
        raise NotAllowed(_l("只有已填写企业信息的企业用户可以申请成为链主。"))
    begin_write()
    latest = latest_application(enterprise)
    if latest is not None and latest.status == LeaderStatus.PENDING:
        raise IllegalTransition(_l("您的链主申请正在审核中，请等待主管部门处理。"))
    if latest is not None and latest.status == LeaderStatus.APPROVED:
        raise IllegalTransition(_l("贵企业已经是链主。"))
    errors = _check_evidence(data)
    if errors:
        raise ValidationFailed(errors)
    application = ChainLeaderApplication(
        enterprise=enterprise, revenue_wan=data.revenue_wan, supplier_count=data.supplier_count,
        platform_id=data.platform_id, evidence=data.evidence.strip(), submitted_by_id=actor.id)
    db.session.add(application)
    db.session.flush()
    notify("chain_leader_applied", enterprise.name, "/chains/applications",
           region_id=enterprise.county.parent_id)
    audit.record(actor, "apply_chain_leader", application, region_id=enterprise.county_id)
    return application


def get_application(actor: User, application_id: int) -> ChainLeaderApplication:
    found = db.session.get(ChainLeaderApplication, application_id)
    if found is None or not found.can_view(actor):
        raise NotFound()
    return found


def applications_for(actor: User) -> list[ChainLeaderApplication]:
    """Applications of enterprises in the official's region (admins: all), pending first."""
    query = (select(ChainLeaderApplication).join(ChainLeaderApplication.enterprise)
             .order_by(ChainLeaderApplication.status != LeaderStatus.PENDING,
                       ChainLeaderApplication.id.desc()).limit(200))
    if not actor.is_admin:
        query = query.where(Enterprise.county_id.in_(region_ids_governed(actor)))
    return list(db.session.scalars(query))


def decide_application(actor: User, application: ChainLeaderApplication, approve: bool,
                       reason: str) -> None:
    if not application.can_view(actor):
        raise NotFound()
    if not application.can_decide(actor):
        raise NotAllowed(_l("链主申请由企业所在设区市或省级主管部门审核。"))
    reason = _text(reason, "reason", None if approve else _l("驳回时请说明原因。"))
    begin_write()
    db.session.refresh(application, with_for_update=True)
    if application.status != LeaderStatus.PENDING:
        raise IllegalTransition(_l("这份链主申请已经处理过。"))
    application.status = LeaderStatus.APPROVED if approve else LeaderStatus.REJECTED
    application.reason = reason
    application.decided_by_id, application.decided_at = actor.id, utcnow()
    if approve:
        application.enterprise.is_chain_leader = True
    db.session.flush()
    notify("chain_leader_approved" if approve else "chain_leader_rejected",
           application.enterprise.name, "/chains/", enterprise_id=application.enterprise_id)
    audit.record(actor, "approve_chain_leader" if approve else "reject_chain_leader",
                 application, region_id=application.enterprise.county_id, reason=reason)


def enterprise_by_code(code: str, field: str = "credit_code") -> Enterprise:
    found = db.session.scalar(select(Enterprise).where(
        Enterprise.credit_code == creditcode.normalize(code or "")))
    if found is None:
        raise ValidationFailed({field: _l("平台上没有这个统一社会信用代码的企业。")})
    return found


def designate_leader(actor: User, credit_code: str, reason: str) -> ChainLeaderApplication:
    """An official makes an enterprise of the region a 链主 directly (audited)."""
    if not actor.is_gov:
        raise NotAllowed(_l("只有主管部门可以认定链主。"))
    reason = _text(reason, "reason", _l("请说明认定依据。"))
    enterprise = enterprise_by_code(credit_code)
    if not may_decide_for(actor, enterprise):
        raise ValidationFailed({"credit_code": _l(
            "只能认定本辖区（设区市或省级）内的企业。")})
    begin_write()
    latest = latest_application(enterprise)
    if latest is not None and latest.status == LeaderStatus.APPROVED:
        raise IllegalTransition(_l("这家企业已经是链主。"))
    if latest is not None and latest.status == LeaderStatus.PENDING:
        raise IllegalTransition(_l("这家企业有待审核的链主申请，请直接审核该申请。"))
    application = ChainLeaderApplication(
        enterprise=enterprise, status=LeaderStatus.APPROVED, revenue_wan=enterprise.revenue_wan,
        supplier_count=0, evidence=reason, designated=True, submitted_by_id=actor.id,
        decided_by_id=actor.id, decided_at=utcnow(), reason=reason)
    enterprise.is_chain_leader = True
    db.session.add(application)
    db.session.flush()
    audit.record(actor, "designate_chain_leader", application, region_id=enterprise.county_id,
                 reason=reason)
    return application


def revoke_leader(actor: User, application: ChainLeaderApplication, reason: str) -> None:
    """An admin takes the status back; the chain's memberships end and open questions close."""
    if not actor.is_admin:
        raise NotAllowed(_l("只有管理员可以撤销链主资格。"))
    reason = _text(reason, "reason", _l("撤销时请说明原因。"))
    begin_write()
    db.session.refresh(application, with_for_update=True)
    if application.status != LeaderStatus.APPROVED:
        raise IllegalTransition(_l("只有已认定的链主可以撤销。"))
    application.status = LeaderStatus.REVOKED
    application.revoke_reason = reason
    application.revoked_by_id, application.revoked_at = actor.id, utcnow()
    application.enterprise.is_chain_leader = False
    for membership in db.session.scalars(select(ChainMembership).where(
            ChainMembership.leader_id == application.enterprise_id,
            ChainMembership.status.in_((*MembershipStatus.OPEN, MembershipStatus.CONFIRMED)))):
        _close(actor, membership, str(REVOKED_NOTE))
    db.session.flush()
    audit.record(actor, "revoke_chain_leader", application,
                 region_id=application.enterprise.county_id, reason=reason)


def _close(actor: User, membership: ChainMembership, reason: str) -> None:
    if membership.status == MembershipStatus.CONFIRMED:
        membership.status = MembershipStatus.ENDED
        membership.supplier.chain_leader_id = None
        membership.ended_by_id, membership.ended_at = actor.id, utcnow()
        membership.end_reason = reason
    else:
        membership.status = MembershipStatus.DECLINED
        membership.answered_by_id, membership.answered_at = actor.id, utcnow()
        membership.answer_reason = reason


# --- memberships -------------------------------------------------------------------------------

def confirmed_membership(enterprise: Enterprise) -> ChainMembership | None:
    return db.session.scalar(select(ChainMembership).where(
        ChainMembership.supplier_id == enterprise.id,
        ChainMembership.status == MembershipStatus.CONFIRMED))


def _check_pair(leader: Enterprise, supplier: Enterprise, field: str) -> None:
    if leader.id == supplier.id:
        raise ValidationFailed({field: _l("链主不能把自己加入自己的产业链。")})
    if confirmed_membership(supplier) is not None:
        raise ValidationFailed({field: _l(
            "这家企业已确认加入一条产业链，需先退出原产业链。")})
    open_one = db.session.scalar(select(ChainMembership.id).where(
        ChainMembership.leader_id == leader.id, ChainMembership.supplier_id == supplier.id,
        ChainMembership.status.in_(MembershipStatus.OPEN)))
    if open_one is not None:
        raise IllegalTransition(_l("双方之间已有一份待确认的邀请或申请。"))


def invite_supplier(actor: User, credit_code: str, note: str) -> ChainMembership:
    leader = actor.enterprise if actor.is_sme else None
    if leader is None or not leader.is_chain_leader:
        raise NotAllowed(_l("只有经认定的链主可以邀请供应商。"))
    note = _text(note, "note")
    supplier = enterprise_by_code(credit_code)
    begin_write()
    _check_pair(leader, supplier, "credit_code")
    membership = ChainMembership(leader=leader, supplier=supplier, note=note,
                                 status=MembershipStatus.INVITED, asked_by_id=actor.id)
    db.session.add(membership)
    db.session.flush()
    notify("chain_invited", leader.name, "/chains/", enterprise_id=supplier.id)
    audit.record(actor, "invite_supplier", membership, region_id=supplier.county_id)
    return membership


def request_to_join(actor: User, leader_id: int, note: str) -> ChainMembership:
    supplier = actor.enterprise if actor.is_sme else None
    if supplier is None:
        raise NotAllowed(_l("只有已填写企业信息的企业用户可以申请加入产业链。"))
    note = _text(note, "note")
    leader = db.session.get(Enterprise, leader_id)
    if leader is None or not leader.is_chain_leader:
        raise ValidationFailed({"leader_id": _l("请选择列表中的链主企业。")})
    begin_write()
    _check_pair(leader, supplier, "leader_id")
    membership = ChainMembership(leader=leader, supplier=supplier, note=note,
                                 status=MembershipStatus.REQUESTED, asked_by_id=actor.id)
    db.session.add(membership)
    db.session.flush()
    notify("chain_join_requested", supplier.name, "/chains/workspace", enterprise_id=leader.id)
    audit.record(actor, "request_join_chain", membership, region_id=supplier.county_id)
    return membership


def get_membership(actor: User, membership_id: int) -> ChainMembership:
    found = db.session.get(ChainMembership, membership_id)
    if found is None or not found.can_view(actor):
        raise NotFound()
    return found


MEMBERSHIP_STEPS = ("accept", "decline", "withdraw", "end")


def change_membership(actor: User, membership: ChainMembership, step: str,
                      reason: str = "") -> None:
    """accept / decline (the answering side), withdraw (the asking side), end (either side of a
    confirmed membership, with the reason)."""
    if not membership.can_view(actor) or step not in MEMBERSHIP_STEPS:
        raise NotFound()
    if not membership.is_party(actor):
        raise NotAllowed(_l("只有链主和供应商本身可以处理。"))
    reason = _text(reason, "reason", _l("请说明原因。") if step == "end" else None)
    begin_write()
    db.session.refresh(membership, with_for_update=True)
    {"accept": _accept, "decline": _decline, "withdraw": _withdraw, "end": _end}[step](
        actor, membership, reason)
    db.session.flush()
    audit.record(actor, f"{step}_chain_membership", membership,
                 region_id=membership.supplier.county_id, reason=reason)


def _my_turn(actor: User, membership: ChainMembership) -> None:
    if membership.status not in MembershipStatus.OPEN:
        raise IllegalTransition(_l("这份邀请或申请已经处理过。"))
    if membership.answering_enterprise_id != actor.enterprise_id:
        raise IllegalTransition(_l("需由对方确认，您不能替对方确认。"))


def _accept(actor: User, membership: ChainMembership, reason: str) -> None:
    _my_turn(actor, membership)
    if not membership.leader.is_chain_leader:
        raise IllegalTransition(_l("对方已不是链主，无法加入。"))
    if confirmed_membership(membership.supplier) is not None:
        raise IllegalTransition(_l("这家企业已确认加入一条产业链，需先退出原产业链。"))
    now = utcnow()
    membership.status = MembershipStatus.CONFIRMED
    membership.answered_by_id, membership.answered_at = actor.id, now
    membership.answer_reason, membership.joined_at = reason, now
    membership.supplier.chain_leader_id = membership.leader_id


def _decline(actor: User, membership: ChainMembership, reason: str) -> None:
    _my_turn(actor, membership)
    membership.status = MembershipStatus.DECLINED
    membership.answered_by_id, membership.answered_at = actor.id, utcnow()
    membership.answer_reason = reason


def _withdraw(actor: User, membership: ChainMembership, reason: str) -> None:
    if membership.status not in MembershipStatus.OPEN:
        raise IllegalTransition(_l("这份邀请或申请已经处理过。"))
    if membership.answering_enterprise_id == actor.enterprise_id:
        raise IllegalTransition(_l("只有发起方可以撤回。"))
    membership.status = MembershipStatus.WITHDRAWN
    membership.answered_by_id, membership.answered_at = actor.id, utcnow()
    membership.answer_reason = reason


def _end(actor: User, membership: ChainMembership, reason: str) -> None:
    if membership.status != MembershipStatus.CONFIRMED:
        raise IllegalTransition(_l("只有已确认的成员关系可以结束。"))
    _close(actor, membership, reason)


def memberships_of(enterprise: Enterprise, as_leader: bool) -> list[ChainMembership]:
    """The enterprise's memberships (as leader or as supplier), newest first: the history."""
    side = ChainMembership.leader_id if as_leader else ChainMembership.supplier_id
    return list(db.session.scalars(select(ChainMembership).where(side == enterprise.id)
                                   .order_by(ChainMembership.id.desc())))


# --- the chain workspace -----------------------------------------------------------------------

@dataclass(frozen=True)
class SupplierView:
    """What a confirmed supplier shares with its 链主: its latest self-diagnosis level, its
    open needs (titles of public ones, a count of all), its orders (package, provider, status;
    no prices) and the subsidy it was paid in total."""

    membership: ChainMembership
    level: int | None
    open_needs: int
    public_need_titles: tuple[str, ...]
    orders: tuple[tuple[str, str, str], ...]
    subsidy_paid_fen: int

    @property
    def not_started(self) -> bool:
        return self.level is None and not self.open_needs and not self.orders


def workspace(actor: User) -> tuple[Enterprise, list[SupplierView]]:
    """The 链主's confirmed suppliers; only the leader's own users see it."""
    leader = actor.enterprise if actor.is_sme else None
    if leader is None or not leader.is_chain_leader:
        raise NotAllowed(_l("只有经认定的链主可以查看产业链工作台。"))
    return leader, confirmed_suppliers(leader)


def confirmed_suppliers(leader: Enterprise) -> list[SupplierView]:
    members = [m for m in memberships_of(leader, as_leader=True)
               if m.status == MembershipStatus.CONFIRMED]
    return [_supplier_view(m) for m in members]


def _supplier_view(membership: ChainMembership) -> SupplierView:
    supplier_id = membership.supplier_id
    level = db.session.scalar(select(DiagnosisResult.level).where(
        DiagnosisResult.enterprise_id == supplier_id)
        .order_by(DiagnosisResult.created_at.desc(), DiagnosisResult.id.desc()).limit(1))
    needs = db.session.scalars(select(Need).where(
        Need.enterprise_id == supplier_id, Need.status == NeedStatus.OPEN)).all()
    orders = db.session.scalars(select(Order).where(Order.enterprise_id == supplier_id)
                                .order_by(Order.id.desc())).all()
    paid = db.session.scalar(select(func.coalesce(func.sum(SubsidyClaim.amount_fen), 0)).where(
        SubsidyClaim.enterprise_id == supplier_id, SubsidyClaim.status == ClaimStatus.PAID))
    return SupplierView(
        membership=membership, level=level, open_needs=len(needs),
        public_need_titles=tuple(n.title for n in needs if n.visibility == Visibility.PUBLIC),
        orders=tuple((o.package.title, o.provider.name, o.status) for o in orders),
        subsidy_paid_fen=int(paid or 0))


MESSAGE_MAX = 300


def message_suppliers(actor: User, text: str) -> int:
    """The 链主 tells every confirmed supplier (a notification to each of their users);
    returns how many suppliers it reached."""
    leader, suppliers = workspace(actor)
    text = _text(text, "text", _l("请填写消息内容。"))
    if len(text) > MESSAGE_MAX:
        raise ValidationFailed({"text": _l("最多 %(n)d 个字。", n=MESSAGE_MAX)})
    if not suppliers:
        raise ValidationFailed({"text": _l("还没有已确认的供应商。")})
    for view in suppliers:
        notify("chain_message", f"{leader.name}：{text}", "/chains/",
               enterprise_id=view.membership.supplier_id)
    audit.record(actor, "message_suppliers", leader, region_id=leader.county_id,
                 suppliers=len(suppliers))
    return len(suppliers)


def platform_chains(actor: User) -> list[Enterprise]:
    """The approved 链主 whose application names the actor's provider as their platform."""
    if not actor.is_provider or actor.provider_id is None:
        return []
    applications = db.session.scalars(select(ChainLeaderApplication).where(
        ChainLeaderApplication.platform_id == actor.provider_id,
        ChainLeaderApplication.status == LeaderStatus.APPROVED)).all()
    return sorted({a.enterprise for a in applications if a.enterprise.is_chain_leader},
                  key=lambda e: e.name)


def platform_workspace(actor: User, leader_id: int) -> tuple[Enterprise, list[SupplierView]]:
    """The workspace of a 链主 that named the actor's provider as its platform (read only)."""
    leader = next((e for e in platform_chains(actor) if e.id == leader_id), None)
    if leader is None:
        raise NotFound()
    return leader, confirmed_suppliers(leader)


# --- inviting from a spreadsheet ---------------------------------------------------------------

SUPPLIER_COLUMNS = (Column("credit_code", "统一社会信用代码"),
                    Column("name", "企业名称", required=False),
                    Column("note", "留言", required=False))


@dataclass(frozen=True)
class SheetInvitations:
    invited: int
    problems: tuple[tuple[int, str], ...]  # (row number, why it was not invited)


def _row_problem(leader: Enterprise, code: str, seen: set[str]):
    if code in seen:
        return _l("与前面的行重复。")
    supplier = db.session.scalar(select(Enterprise).where(Enterprise.credit_code == code))
    if supplier is None:
        return _l("平台上没有这个统一社会信用代码的企业。")
    try:
        _check_pair(leader, supplier, "credit_code")
    except ValidationFailed as failure:
        return next(iter(failure.errors.values()))
    except IllegalTransition as refused:
        return refused.message
    return None


def invite_from_sheet(actor: User, rows, default_note: str = "") -> SheetInvitations:
    """Invite every supplier a spreadsheet names by credit code (read with
    ``imports.read_sheet`` and ``SUPPLIER_COLUMNS``); rows that cannot be invited are listed,
    the others invited. When no row can be, nothing is written."""
    leader = actor.enterprise if actor.is_sme else None
    if leader is None or not leader.is_chain_leader:
        raise NotAllowed(_l("只有经认定的链主可以邀请供应商。"))
    default_note = _text(default_note, "note")
    seen: set[str] = set()
    valid, problems = [], []
    for number, cells in rows:
        code = creditcode.normalize(cells.get("credit_code", ""))
        problem = _row_problem(leader, code, seen)
        seen.add(code)
        if problem:
            problems.append((number, str(problem)))
        else:
            note = "".join(c for c in cells.get("note", "") if c.isprintable()).strip()
            valid.append((code, note[:TEXT_MAX] or default_note))
    if not valid:
        raise ValidationFailed({"file": _l("没有可以邀请的企业：%(rows)s",
                                           rows=row_problems_text(problems))})
    for code, note in valid:
        invite_supplier(actor, code, note)
    return SheetInvitations(len(valid), tuple(problems))


def row_problems_text(problems, shown: int = 5) -> str:
    text = "；".join(str(_l("第 %(row)d 行：%(reason)s", row=n, reason=why))
                    for n, why in problems[:shown])
    return text + ("……" if len(problems) > shown else "")
