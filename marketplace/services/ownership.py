"""Taking over an enterprise a demand-list import created (认领).

An import creates enterprises nobody has logged in for; when their own people register, the
credit code is taken. An SME user without an enterprise asks to take it over; since anyone can
type a credit code, the officials of the enterprise's county (or above) decide, as they are the
ones who imported it. Approving links the user to the enterprise (its needs, profile and
deals become theirs) and turns down the other open requests for it.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from .. import creditcode
from ..extensions import db
from ..models import (
    Enterprise,
    ImportedEnterprise,
    OwnershipRequest,
    OwnershipStatus,
    User,
)
from ..models._base import utcnow
from . import audit
from .errors import IllegalTransition, NotAllowed, NotFound, ValidationFailed
from .notify import notify
from .regions import region_ids_governed
from .txn import begin_write

NOTE_MAX = 500


def claimable(code: str) -> Enterprise | None:
    """The enterprise with this credit code, if an import created it and nobody uses it yet."""
    return db.session.scalar(
        select(Enterprise).where(
            Enterprise.credit_code == creditcode.normalize(code),
            exists().where(ImportedEnterprise.enterprise_id == Enterprise.id),
            ~exists().where(User.enterprise_id == Enterprise.id)))


def latest_request(actor: User) -> OwnershipRequest | None:
    return db.session.scalar(select(OwnershipRequest).where(OwnershipRequest.user_id == actor.id)
                             .order_by(OwnershipRequest.id.desc()).limit(1))


def request_ownership(actor: User, credit_code: str, note: str) -> OwnershipRequest:
    if not actor.is_sme or actor.enterprise_id is not None:
        raise NotAllowed(_l("只有还没有企业信息的企业用户可以申请认领。"))
    errors = {}
    enterprise = claimable(credit_code)
    if enterprise is None:
        errors["credit_code"] = _l("没有可认领的企业：只有主管部门导入、还没有用户的企业可以认领。")
    if len(note.strip()) > NOTE_MAX:
        errors["note"] = _l("说明最多 %(n)d 个字。", n=NOTE_MAX)
    if errors:
        raise ValidationFailed(errors)
    pending = latest_request(actor)
    if pending is not None and pending.status == OwnershipStatus.PENDING:
        raise IllegalTransition(_l("您已提交认领申请，请等待主管部门审核。"))
    found = OwnershipRequest(enterprise_id=enterprise.id, user_id=actor.id, note=note.strip())
    db.session.add(found)
    db.session.flush()
    notify("ownership_requested", enterprise.name, "/imports/ownership",
           region_id=enterprise.county_id)
    audit.record(actor, "request_ownership", found, region_id=enterprise.county_id)
    return found


def requests_for(actor: User) -> list[OwnershipRequest]:
    """Open requests for enterprises of the official's region and below (admins: all)."""
    query = (select(OwnershipRequest).join(OwnershipRequest.enterprise)
             .where(OwnershipRequest.status == OwnershipStatus.PENDING)
             .order_by(OwnershipRequest.created_at, OwnershipRequest.id))
    if not actor.is_admin:
        query = query.where(Enterprise.county_id.in_(region_ids_governed(actor)))
    return list(db.session.scalars(query))


def get_request(actor: User, request_id: int) -> OwnershipRequest:
    found = db.session.get(OwnershipRequest, request_id)
    if found is None or not (actor.is_admin or actor.governs(found.enterprise.county)):
        raise NotFound()
    return found


def decide(actor: User, found: OwnershipRequest, approve: bool, reason: str) -> None:
    if not (actor.is_admin or actor.governs(found.enterprise.county)):
        raise NotFound()
    reason = reason.strip()
    if not approve and not reason:
        raise ValidationFailed({"reason": _l("驳回时请说明原因。")})
    if len(reason) > NOTE_MAX:
        raise ValidationFailed({"reason": _l("原因最多 %(n)d 个字。", n=NOTE_MAX)})
    begin_write()
    # The enterprise first, then the request: two officials deciding two requests for the same
    # enterprise take turns (the second finds its request turned down or the enterprise taken)
    # instead of each holding one request that the other's approval must turn down (deadlock).
    enterprise = db.session.scalar(select(Enterprise).where(Enterprise.id == found.enterprise_id)
                                   .with_for_update().execution_options(populate_existing=True))
    found = db.session.scalar(select(OwnershipRequest).where(OwnershipRequest.id == found.id)
                              .with_for_update().execution_options(populate_existing=True))
    if found.status != OwnershipStatus.PENDING:
        raise IllegalTransition(_l("这份认领申请已经处理过。"))
    if approve:
        if claimable(enterprise.credit_code) is None:
            raise IllegalTransition(_l("这家企业已经有用户了。"))
        if found.user.enterprise_id is not None:
            raise IllegalTransition(_l("申请人已经关联了其他企业。"))
        found.user.enterprise_id = enterprise.id
        others = db.session.scalars(select(OwnershipRequest).where(
            OwnershipRequest.enterprise_id == enterprise.id, OwnershipRequest.id != found.id,
            OwnershipRequest.status == OwnershipStatus.PENDING))
        taken = str(_l("该企业已由其他用户认领。"))
        for other in others:
            other.status, other.reason = OwnershipStatus.REJECTED, taken
            other.decided_by_id, other.decided_at = actor.id, utcnow()
    found.status = OwnershipStatus.APPROVED if approve else OwnershipStatus.REJECTED
    found.reason = reason
    found.decided_by_id, found.decided_at = actor.id, utcnow()
    db.session.flush()
    if approve:
        notify("ownership_approved", enterprise.name, "/profile/edit",
               enterprise_id=enterprise.id)
    audit.record(actor, "approve_ownership" if approve else "reject_ownership", found,
                 region_id=enterprise.county_id, user_id=found.user_id)
