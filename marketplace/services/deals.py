"""Deals: request → quote → order → delivery → acceptance → review.

Every step is a transition written once below; a step from the wrong state, by the wrong party
or on a closed need raises :class:`IllegalTransition` or :class:`NotAllowed` before anything is
written. The database backs the rules a race could break: one order per need (two quick clicks
on "accept" make one order), one request per need and package, one review per order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, false, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (
    ClaimStatus,
    DealRequest,
    Enterprise,
    FeedbackKind,
    MatchFeedback,
    Need,
    NeedStatus,
    Order,
    OrderStatus,
    Package,
    Quote,
    RequestStatus,
    Review,
    User,
)
from ..models._base import utcnow
from . import audit, subsidies
from .errors import IllegalTransition, NotAllowed, NotFound, ValidationFailed
from .notify import notify
from .regions import region_ids_governed
from .states import apply_step
from .txn import begin_write

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MESSAGE_MAX, SCOPE_MIN, SCOPE_MAX, REASON_MAX = 2000, 5, 5000, 1000
MAX_QUOTE_FEN = 100_000_000_00
MAX_DAYS = 730
QUOTE_AUDITED = ("price_fen", "scope", "delivery_days", "valid_until")

# The allowed steps, in one place: action -> (states it may start from, state it leads to).
REQUEST_TRANSITIONS = {
    "quote": ({RequestStatus.PENDING, RequestStatus.QUOTED}, RequestStatus.QUOTED),
    "decline": ({RequestStatus.PENDING, RequestStatus.QUOTED}, RequestStatus.DECLINED),
    "withdraw": ({RequestStatus.PENDING, RequestStatus.QUOTED}, RequestStatus.WITHDRAWN),
    "accept": ({RequestStatus.QUOTED}, RequestStatus.ORDERED),
    "close": ({RequestStatus.PENDING, RequestStatus.QUOTED}, RequestStatus.CLOSED),
}
ORDER_TRANSITIONS = {
    "deliver": ({OrderStatus.PLACED, OrderStatus.DISPUTED}, OrderStatus.DELIVERED),
    "accept_delivery": ({OrderStatus.DELIVERED}, OrderStatus.ACCEPTED),
    "dispute": ({OrderStatus.DELIVERED}, OrderStatus.DISPUTED),
    "cancel": ({OrderStatus.PLACED, OrderStatus.DISPUTED}, OrderStatus.CANCELLED),
}


def today() -> date:
    return datetime.now(LOCAL_TZ).date()


def _record_feedback(need_id: int, package_id: int, kind: str) -> None:
    exists = db.session.scalar(select(MatchFeedback.id).where(
        MatchFeedback.need_id == need_id, MatchFeedback.package_id == package_id,
        MatchFeedback.kind == kind))
    if exists is None:
        db.session.add(MatchFeedback(need_id=need_id, package_id=package_id, kind=kind))


# -- requests -----------------------------------------------------------------------------------


def request_package(actor: User, need: Need, package: Package, message: str) -> DealRequest:
    """An SME asks a provider for a package against one of its needs (对接申请)."""
    if not need.can_edit(actor):
        raise NotAllowed(_l("只能为本企业的需求申请对接。"))
    if need.status != NeedStatus.OPEN:
        raise IllegalTransition(_l("需求不在征集中，不能再申请对接。"))
    if not package.is_public:
        raise NotFound()
    if len(message.strip()) > MESSAGE_MAX:
        raise ValidationFailed({"message": _l("留言最多 %(n)d 个字。", n=MESSAGE_MAX)})
    taken = db.session.scalar(select(DealRequest.id).where(
        DealRequest.need_id == need.id, DealRequest.package_id == package.id))
    if taken is not None:
        raise IllegalTransition(_l("这条需求已经申请过这个方案包。"))
    request = DealRequest(need_id=need.id, package_id=package.id,
                          enterprise_id=need.enterprise_id, provider_id=package.provider_id,
                          requester_id=actor.id, message=message.strip())
    db.session.add(request)
    db.session.flush()
    _record_feedback(need.id, package.id, FeedbackKind.REQUEST)
    notify("request_received", need.title, f"/deals/requests/{request.id}",
           provider_id=package.provider_id)
    audit.record(actor, "request_package", request, package_id=package.id)
    return request


def withdraw_request(actor: User, request: DealRequest) -> None:
    if actor.enterprise_id != request.enterprise_id:
        raise NotAllowed(_l("只有申请方可以撤回。"))
    apply_step(REQUEST_TRANSITIONS, request, "withdraw", _l("这个申请已经不能撤回。"))
    notify("request_withdrawn", request.need.title, f"/deals/requests/{request.id}",
           provider_id=request.provider_id)
    audit.record(actor, "withdraw_request", request)


def decline_request(actor: User, request: DealRequest, reason: str) -> None:
    if actor.provider_id != request.provider_id:
        raise NotAllowed(_l("只有被申请的服务商可以拒绝。"))
    if not reason.strip() or len(reason.strip()) > REASON_MAX:
        raise ValidationFailed({"reason": _l("请说明原因（最多 %(n)d 个字）。", n=REASON_MAX)})
    apply_step(REQUEST_TRANSITIONS, request, "decline", _l("这个申请已经不能拒绝。"))
    request.decline_reason = reason.strip()
    request.responded_at = request.responded_at or utcnow()
    notify("request_declined", request.need.title, f"/deals/requests/{request.id}",
           enterprise_id=request.enterprise_id)
    audit.record(actor, "decline_request", request)


# -- quotes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuoteData:
    price_fen: int
    scope: str
    delivery_days: int
    valid_until: date


def _check_quote(data: QuoteData, package: Package) -> None:
    errors = {}
    if not 0 <= data.price_fen <= MAX_QUOTE_FEN:
        errors["price_fen"] = _l("报价需在 0 到 1 亿元之间。")
    elif data.price_fen == 0 and not package.free_trial:
        errors["price_fen"] = _l("报价不能为 0 元；只有可免费试用的方案包才能报 0 元（免费试用）。")
    if not SCOPE_MIN <= len(data.scope.strip()) <= SCOPE_MAX:
        errors["scope"] = _l("服务范围需要 %(lo)d 到 %(hi)d 个字。", lo=SCOPE_MIN, hi=SCOPE_MAX)
    if not 1 <= data.delivery_days <= MAX_DAYS:
        errors["delivery_days"] = _l("交付周期需在 1 到 %(n)d 天之间。", n=MAX_DAYS)
    if not today() <= data.valid_until <= today() + timedelta(days=365):
        errors["valid_until"] = _l("有效期需从今天起、一年以内。")
    if errors:
        raise ValidationFailed(errors)


def _lock_need(request: DealRequest) -> Need:
    """Lock the request's need (quotes and acceptances of one need take turns) and reload the
    request and its quote as they are now."""
    begin_write()
    need = db.session.scalar(
        select(Need).where(Need.id == request.need_id).with_for_update()
        .execution_options(populate_existing=True))
    db.session.refresh(request)
    if request.quote is not None:
        db.session.refresh(request.quote)
    return need


def send_quote(actor: User, request: DealRequest, data: QuoteData) -> Quote:
    """Quote, or revise the quote, until the SME accepts it."""
    if actor.provider_id != request.provider_id:
        raise NotAllowed(_l("只有被申请的服务商可以报价。"))
    _check_quote(data, request.package)
    if _lock_need(request).status != NeedStatus.OPEN:
        raise IllegalTransition(_l("需求已不在征集中，不能报价。"))
    apply_step(REQUEST_TRANSITIONS, request, "quote", _l("这个申请已经不能报价。"))
    quote = request.quote
    before = audit.values_of(quote, QUOTE_AUDITED) if quote is not None else None
    if quote is None:
        quote = request.quote = Quote(request_id=request.id, revision=1, price_fen=0, scope="",
                                      delivery_days=1, valid_until=data.valid_until)
    else:
        quote.revision += 1
    quote.price_fen, quote.scope = data.price_fen, data.scope.strip()
    quote.delivery_days, quote.valid_until = data.delivery_days, data.valid_until
    request.responded_at = request.responded_at or utcnow()
    db.session.flush()
    notify("quote_received", request.need.title, f"/deals/requests/{request.id}",
           enterprise_id=request.enterprise_id)
    region_id = request.enterprise.county_id  # the officials of the buyer's region oversee it
    if before is None:
        audit.record(actor, "send_quote", quote, region_id=region_id, revision=quote.revision,
                     price_fen=data.price_fen)
    else:  # a revision: what it changed (a resend of the same terms is still a revision)
        audit.record(actor, "revise_quote", quote, region_id=region_id, revision=quote.revision,
                     changes=audit.changes(before, audit.values_of(quote, QUOTE_AUDITED)))
    return quote


def accept_quote(actor: User, request: DealRequest, revision: int,
                 expected_subsidy_fen: int | None = None) -> Order:
    """The SME accepts the quote it saw (``revision``, and the subsidy it was shown): an order,
    its subsidy claim reserved from the best program, the need in progress, and every other
    open request for the need closed with a notice."""
    if actor.enterprise_id != request.enterprise_id:
        raise NotAllowed(_l("只有申请方可以接受报价。"))
    # Lock the need first: a concurrent accept for the same need waits here, then sees the
    # need in progress (PostgreSQL: the row lock; SQLite: the write lock taken up front).
    need = _lock_need(request)
    quote = request.quote
    if need.status != NeedStatus.OPEN:
        raise IllegalTransition(_l("这条需求已经下单或关闭。"))
    if quote is None or request.status != RequestStatus.QUOTED:
        raise IllegalTransition(_l("这个申请还没有可接受的报价。"))
    if quote.revision != revision:
        raise IllegalTransition(_l("服务商刚刚修改了报价，请查看新报价后再接受。"))
    if quote.is_expired(today()):
        raise IllegalTransition(_l("报价已过有效期，请联系服务商重新报价。"))
    if quote.price_fen == 0 and not quote.is_free_trial:
        raise IllegalTransition(_l("这个方案包已不提供免费试用，请联系服务商重新报价。"))
    offer = subsidies.secure_offer(request.enterprise, request.package, quote.price_fen,
                                   today(), expected_subsidy_fen)
    apply_step(REQUEST_TRANSITIONS, request, "accept", _l("这个申请已经不能接受报价。"))
    order = Order(need_id=need.id, request_id=request.id, package_id=request.package_id,
                  enterprise_id=request.enterprise_id, provider_id=request.provider_id,
                  amount_fen=quote.price_fen, free_trial=quote.is_free_trial,
                  scope=quote.scope, delivery_days=quote.delivery_days,
                  due_date=today() + timedelta(days=quote.delivery_days))
    db.session.add(order)
    try:
        db.session.flush()  # the unique need_id refuses a second order here
    except IntegrityError:
        raise IllegalTransition(_l("这条需求已经下单。")) from None
    subsidies.reserve(actor, order, offer, today())
    need.status = NeedStatus.IN_PROGRESS
    _close_other_requests(request)
    _record_feedback(need.id, request.package_id, FeedbackKind.ORDER)
    notify("quote_accepted", need.title, f"/deals/orders/{order.id}",
           provider_id=request.provider_id)
    audit.record(actor, "accept_quote", order, request_id=request.id, amount_fen=order.amount_fen)
    return order


def _close_other_requests(accepted: DealRequest) -> None:
    others = db.session.scalars(select(DealRequest).where(
        DealRequest.need_id == accepted.need_id, DealRequest.id != accepted.id,
        DealRequest.status.in_(RequestStatus.ACTIVE)))
    for other in others:
        other.status = RequestStatus.CLOSED
        notify("request_closed", accepted.need.title, f"/deals/requests/{other.id}",
               provider_id=other.provider_id)


# -- orders -------------------------------------------------------------------------------------


def mark_delivered(actor: User, order: Order) -> None:
    if actor.provider_id != order.provider_id:
        raise NotAllowed(_l("只有服务商可以标记交付。"))
    apply_step(ORDER_TRANSITIONS, order, "deliver", _l("订单当前状态不能标记交付。"))
    order.delivered_at = utcnow()
    notify("order_delivered", order.need.title, f"/deals/orders/{order.id}",
           enterprise_id=order.enterprise_id)
    audit.record(actor, "deliver_order", order)


def accept_delivery(actor: User, order: Order) -> None:
    """The SME accepts the delivery (验收): the order is done and the need closes."""
    if actor.enterprise_id != order.enterprise_id:
        raise NotAllowed(_l("只有采购企业可以验收。"))
    apply_step(ORDER_TRANSITIONS, order, "accept_delivery", _l("订单当前状态不能验收。"))
    order.accepted_at = utcnow()
    order.need.status = NeedStatus.CLOSED
    order.need.closed_at = utcnow()
    _record_feedback(order.need_id, order.package_id, FeedbackKind.ACCEPTED)
    notify("delivery_accepted", order.need.title, f"/deals/orders/{order.id}",
           provider_id=order.provider_id)
    claim = subsidies.claim_for_order(order)
    if claim is not None and claim.status == ClaimStatus.RESERVED:  # now it can be approved
        notify("claim_ready", f"{claim.program.name}：{order.need.title}",
               f"/subsidies/claims/{claim.id}", region_id=claim.program.region_id)
    audit.record(actor, "accept_delivery", order)


def dispute_delivery(actor: User, order: Order, reason: str) -> None:
    if actor.enterprise_id != order.enterprise_id:
        raise NotAllowed(_l("只有采购企业可以提出异议。"))
    if not reason.strip() or len(reason.strip()) > REASON_MAX:
        raise ValidationFailed({"reason": _l("请说明原因（最多 %(n)d 个字）。", n=REASON_MAX)})
    apply_step(ORDER_TRANSITIONS, order, "dispute", _l("订单当前状态不能提出异议。"))
    order.dispute_reason = reason.strip()
    notify("order_disputed", order.need.title, f"/deals/orders/{order.id}",
           provider_id=order.provider_id)
    audit.record(actor, "dispute_order", order, region_id=order.enterprise.county_id)


def cancel_order(actor: User, order: Order, reason: str) -> None:
    """Either party calls off an order before its delivery is accepted: the subsidy
    reservation is released and the need is open again for other providers."""
    if not order.is_party(actor):
        raise NotAllowed(_l("只有订单双方可以取消订单。"))
    if not reason.strip() or len(reason.strip()) > REASON_MAX:
        raise ValidationFailed({"reason": _l("请说明原因（最多 %(n)d 个字）。", n=REASON_MAX)})
    begin_write()
    db.session.refresh(order, with_for_update=True)
    apply_step(ORDER_TRANSITIONS, order, "cancel", _l("订单当前状态不能取消。"))
    order.cancel_reason, order.cancelled_at = reason.strip(), utcnow()
    if order.need.status == NeedStatus.IN_PROGRESS:
        order.need.status = NeedStatus.OPEN
    subsidies.release_for_order(actor, order)
    other = ({"provider_id": order.provider_id} if actor.enterprise_id == order.enterprise_id
             else {"enterprise_id": order.enterprise_id})
    notify("order_cancelled", order.need.title, f"/deals/orders/{order.id}", **other)
    audit.record(actor, "cancel_order", order, region_id=order.enterprise.county_id,
                 reason=reason.strip())


# -- reviews ------------------------------------------------------------------------------------


def review_order(actor: User, order: Order, rating: int, text: str) -> Review:
    if actor.enterprise_id != order.enterprise_id:
        raise NotAllowed(_l("只有采购企业可以评价。"))
    if order.status != OrderStatus.ACCEPTED:
        raise IllegalTransition(_l("验收后才能评价。"))
    if order.review is not None:
        raise IllegalTransition(_l("这个订单已经评价过。"))
    errors = {}
    if rating not in range(1, 6):
        errors["rating"] = _l("请给出 1 到 5 分。")
    if len(text.strip()) > REASON_MAX:
        errors["text"] = _l("评价最多 %(n)d 个字。", n=REASON_MAX)
    if errors:
        raise ValidationFailed(errors)
    review = Review(order_id=order.id, provider_id=order.provider_id,
                    enterprise_id=order.enterprise_id, rating=rating, text=text.strip())
    db.session.add(review)
    try:
        db.session.flush()
    except IntegrityError:
        raise IllegalTransition(_l("这个订单已经评价过。")) from None
    notify("review_received", order.need.title, f"/deals/orders/{order.id}",
           provider_id=order.provider_id)
    audit.record(actor, "review_order", review, rating=rating)
    return review


def reply_review(actor: User, review: Review, text: str) -> None:
    if actor.provider_id != review.provider_id:
        raise NotAllowed(_l("只有被评价的服务商可以回复。"))
    if review.reply:
        raise IllegalTransition(_l("每条评价只能回复一次。"))
    if not text.strip() or len(text.strip()) > REASON_MAX:
        raise ValidationFailed({"text": _l("回复需要 1 到 %(n)d 个字。", n=REASON_MAX)})
    review.reply, review.replied_at = text.strip(), utcnow()
    audit.record(actor, "reply_review", review)


# -- lookups ------------------------------------------------------------------------------------


def get_request(actor: User, request_id: int) -> DealRequest:
    request = db.session.get(DealRequest, request_id)
    if request is None or not request.can_view(actor):
        raise NotFound()
    return request


def get_order(actor: User, order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None or not order.can_view(actor):
        raise NotFound()
    return order


def dismiss(actor: User, need: Need, package_id: int) -> None:
    """The SME marks a recommended package 不合适 for a need; it is not recommended again."""
    if not need.can_edit(actor):
        raise NotAllowed(_l("只能操作本企业的需求。"))
    if db.session.get(Package, package_id) is None:
        raise NotFound()
    _record_feedback(need.id, package_id, FeedbackKind.DISMISSED)
    audit.record(actor, "dismiss_recommendation", need, package_id=package_id)


def open_needs_of(actor: User) -> list[Need]:
    if actor.enterprise_id is None:
        return []
    return list(db.session.scalars(select(Need).where(
        Need.enterprise_id == actor.enterprise_id, Need.status == NeedStatus.OPEN)
        .order_by(Need.created_at.desc())))


def deal_queries(actor: User) -> tuple[Select, Select]:
    """Unordered queries of the requests and orders a user works on: its own side's, or, for
    officials and admins, the disputed orders they oversee (and no requests)."""
    requests, orders = select(DealRequest), select(Order)
    if actor.enterprise_id:
        return (requests.where(DealRequest.enterprise_id == actor.enterprise_id),
                orders.where(Order.enterprise_id == actor.enterprise_id))
    if actor.provider_id:
        return (requests.where(DealRequest.provider_id == actor.provider_id),
                orders.where(Order.provider_id == actor.provider_id))
    disputed = orders.where(Order.status == OrderStatus.DISPUTED)
    if actor.is_gov:
        disputed = disputed.join(Order.enterprise).where(
            Enterprise.county_id.in_(region_ids_governed(actor)))
    elif not actor.is_admin:
        disputed = disputed.where(false())
    return requests.where(false()), disputed


def my_deals(actor: User) -> dict:
    """The latest 100 of :func:`deal_queries`."""
    requests, orders = deal_queries(actor)
    return {
        "requests": list(db.session.scalars(
            requests.order_by(DealRequest.updated_at.desc()).limit(100))),
        "orders": list(db.session.scalars(orders.order_by(Order.updated_at.desc()).limit(100))),
    }
