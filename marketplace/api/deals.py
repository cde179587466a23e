"""API resources for deals: requests (对接申请), quotes, orders, delivery, reviews.

Each step calls the same transition in :mod:`marketplace.services.deals` as the deal pages:
a step from the wrong state answers 409, by the wrong party 403, on a deal the caller may not
know of 404, and none of them writes anything.
"""

from __future__ import annotations

from flask import request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import DealRequest, Order, OrderStatus, RequestStatus, Role
from ..services import deals, needs, packages, subsidies
from ..services.errors import KeyReused, NotFound
from ..services.txn import KEY_PATTERN, run_once, target_of
from . import MAX_ID, operation, route, serialize
from .auth import require_role, require_user
from .errors import ApiError
from .inputs import PAGE_FIELDS, Field, read_body, read_query
from .routes import created, page_of
from .serialize import respond

REQUEST_QUERY = (Field("status", enum=RequestStatus.ALL), *PAGE_FIELDS)
ORDER_QUERY = (Field("status", enum=OrderStatus.ALL), *PAGE_FIELDS)
NEW_REQUEST = (
    Field("need_id", "integer", required=True, minimum=1, maximum=MAX_ID),
    Field("package_id", "integer", required=True, minimum=1, maximum=MAX_ID),
    Field("message", max_length=deals.MESSAGE_MAX),
)
QUOTE = (
    Field("price_fen", "integer", required=True, minimum=0, maximum=deals.MAX_QUOTE_FEN,
          description="In fen; 0 only for a package that offers a free trial (`free_trial`)."),
    Field("scope", required=True, max_length=deals.SCOPE_MAX,
          description=f"What is delivered ({deals.SCOPE_MIN}–{deals.SCOPE_MAX} characters)."),
    Field("delivery_days", "integer", required=True, minimum=1, maximum=deals.MAX_DAYS),
    Field("valid_until", "date", required=True, description="From today, within a year."),
)
ACCEPT = (
    Field("revision", "integer", required=True, minimum=1, maximum=MAX_ID,
          description="The quote revision you saw; a newer one is a 409."),
    Field("expected_subsidy_fen", "integer", nullable=True, minimum=0,
          maximum=deals.MAX_QUOTE_FEN,
          description="The subsidy you were shown (`subsidy_offer.amount_fen`, 0 for none); "
                      "if it changed meanwhile the order is refused (409)."),
)
REASON = (Field("reason", required=True, max_length=deals.REASON_MAX),)
REVIEW = (Field("rating", "integer", required=True, minimum=1, maximum=5),
          Field("text", max_length=deals.REASON_MAX))
REPLY = (Field("text", required=True, max_length=deals.REASON_MAX),)
IDEMPOTENCY_HEADER = "Idempotency-Key"


def _show_request(deal: DealRequest, user) -> dict:
    offer = None
    if deal.quote is not None and user.enterprise_id == deal.enterprise_id:
        offer = subsidies.best_offer(deal.enterprise, deal.package, deal.quote.price_fen,
                                     deals.today())
    order_id = db.session.scalar(select(Order.id).where(Order.request_id == deal.id))
    return serialize.deal_request(deal, offer, order_id)


def _show_order(order: Order) -> dict:
    return serialize.order(order, subsidies.claim_for_order(order))


# -- requests -----------------------------------------------------------------------------------


@route("/deals/requests")
@operation("deals", "List your requests", response="DealRequestPage", query=REQUEST_QUERY,
           errors=(400, 401), description="The requests your enterprise made or your provider "
                                          "received, newest first (none for officials).")
def list_requests():
    user = require_user()
    args = read_query(REQUEST_QUERY)
    query, _ = deals.deal_queries(user)
    if args.get("status"):
        query = query.where(DealRequest.status == args["status"])
    return respond(page_of(query, DealRequest, args, lambda d: _show_request(d, user)))


@route("/deals/requests/<api_id:request_id>")
@operation("deals", "Get a request with its quote", response="DealRequest", errors=(401, 404),
           description="The enterprise also sees `subsidy_offer`: the best subsidy it would get "
                       "if it accepted the quote today.")
def get_request(request_id: int):
    user = require_user()
    return respond(_show_request(deals.get_request(user, request_id), user))


@route("/deals/requests", methods=["POST"])
@operation("deals", "Request a package for one of your open needs", ok=201,
           response="DealRequest", body=NEW_REQUEST, errors=(400, 401, 403, 404, 409, 415, 422))
def create_request():
    user = require_role(Role.SME)
    values = read_body(NEW_REQUEST)
    package = packages.get_package(user, values["package_id"])
    need = needs.get_need(user, values["need_id"])
    deal = deals.request_package(user, need, package, values.get("message", ""))
    db.session.commit()
    return created(_show_request(deal, user), url_for(".get_request", request_id=deal.id))


@route("/deals/requests/<api_id:request_id>/quote", methods=["POST"])
@operation("deals", "Quote, or revise the quote", response="DealRequest", body=QUOTE,
           errors=(400, 401, 403, 404, 409, 415, 422))
def quote(request_id: int):
    user = require_role(Role.PROVIDER)
    deal = deals.get_request(user, request_id)
    values = read_body(QUOTE)
    deals.send_quote(user, deal, deals.QuoteData(values["price_fen"], values["scope"],
                                                 values["delivery_days"], values["valid_until"]))
    db.session.commit()
    return respond(_show_request(deal, user))


@route("/deals/requests/<api_id:request_id>/decline", methods=["POST"])
@operation("deals", "Decline a request", response="DealRequest", body=REASON,
           errors=(400, 401, 403, 404, 409, 415, 422))
def decline(request_id: int):
    user = require_role(Role.PROVIDER)
    deal = deals.get_request(user, request_id)
    deals.decline_request(user, deal, read_body(REASON)["reason"])
    db.session.commit()
    return respond(_show_request(deal, user))


@route("/deals/requests/<api_id:request_id>/withdraw", methods=["POST"])
@operation("deals", "Withdraw your request", response="DealRequest",
           errors=(401, 403, 404, 409))
def withdraw(request_id: int):
    user = require_role(Role.SME)
    deal = deals.get_request(user, request_id)
    deals.withdraw_request(user, deal)
    db.session.commit()
    return respond(_show_request(deal, user))


@route("/deals/requests/<api_id:request_id>/accept", methods=["POST"])
@operation("deals", "Accept the quote: place the order", ok=201, response="Order", body=ACCEPT,
           headers=(IDEMPOTENCY_HEADER,), errors=(400, 401, 403, 404, 409, 415, 422),
           description="Reserves the best subsidy. With an `Idempotency-Key` header (8–64 of "
                       "A–Z a–z 0–9 _ -) a repeat of the call places no second order and answers "
                       "with the first one; the key sent to accept another request is refused "
                       "(422).")
def accept(request_id: int):
    user = require_role(Role.SME)
    deal = deals.get_request(user, request_id)
    values = read_body(ACCEPT)
    key = request.headers.get(IDEMPOTENCY_HEADER) or None
    if key is not None and not KEY_PATTERN.match(key):
        raise ApiError(422, fields={IDEMPOTENCY_HEADER: _l("需要 8 到 64 个字母、数字、_ 或 -。")})
    try:
        result = run_once(user, key, "accept_quote", lambda: {
            "order_id": deals.accept_quote(user, deal, values["revision"],
                                           values.get("expected_subsidy_fen")).id},
            target=target_of("request", deal.id))
    except KeyReused as reused:  # sent before to accept another request
        raise ApiError(422, fields={IDEMPOTENCY_HEADER: reused.errors["form"]}) from None
    db.session.commit()
    order = deals.get_order(user, result["order_id"])
    return created(_show_order(order), url_for(".get_order", order_id=order.id))


# -- orders -------------------------------------------------------------------------------------


@route("/deals/orders")
@operation("deals", "List your orders", response="OrderPage", query=ORDER_QUERY,
           errors=(400, 401), description="Your side's orders, newest first; officials and "
                                          "admins: the disputed orders they oversee.")
def list_orders():
    user = require_user()
    args = read_query(ORDER_QUERY)
    _, query = deals.deal_queries(user)
    if args.get("status"):
        query = query.where(Order.status == args["status"])
    return respond(page_of(query, Order, args, _show_order))


@route("/deals/orders/<api_id:order_id>")
@operation("deals", "Get an order", response="Order", errors=(401, 404))
def get_order(order_id: int):
    user = require_user()
    return respond(_show_order(deals.get_order(user, order_id)))


@route("/deals/orders/<api_id:order_id>/deliver", methods=["POST"])
@operation("deals", "Mark delivered (the provider)", response="Order",
           errors=(401, 403, 404, 409))
def deliver(order_id: int):
    user = require_user()
    order = deals.get_order(user, order_id)
    deals.mark_delivered(user, order)
    db.session.commit()
    return respond(_show_order(order))


@route("/deals/orders/<api_id:order_id>/accept", methods=["POST"])
@operation("deals", "Accept the delivery (the enterprise)", response="Order",
           errors=(401, 403, 404, 409))
def accept_delivery(order_id: int):
    user = require_user()
    order = deals.get_order(user, order_id)
    deals.accept_delivery(user, order)
    db.session.commit()
    return respond(_show_order(order))


@route("/deals/orders/<api_id:order_id>/dispute", methods=["POST"])
@operation("deals", "Dispute the delivery (the enterprise)", response="Order", body=REASON,
           errors=(400, 401, 403, 404, 409, 415, 422))
def dispute(order_id: int):
    user = require_role(Role.SME)
    order = deals.get_order(user, order_id)
    deals.dispute_delivery(user, order, read_body(REASON)["reason"])
    db.session.commit()
    return respond(_show_order(order))


@route("/deals/orders/<api_id:order_id>/cancel", methods=["POST"])
@operation("deals", "Cancel the order (either party, before acceptance)", response="Order",
           body=REASON, errors=(400, 401, 403, 404, 409, 415, 422))
def cancel(order_id: int):
    user = require_role(Role.SME, Role.PROVIDER)
    order = deals.get_order(user, order_id)
    deals.cancel_order(user, order, read_body(REASON)["reason"])
    db.session.commit()
    return respond(_show_order(order))


@route("/deals/orders/<api_id:order_id>/review", methods=["POST"])
@operation("deals", "Review the order after acceptance (the enterprise)", ok=201,
           response="Order", body=REVIEW, errors=(400, 401, 403, 404, 409, 415, 422))
def review(order_id: int):
    user = require_role(Role.SME)
    order = deals.get_order(user, order_id)
    values = read_body(REVIEW)
    deals.review_order(user, order, values["rating"], values.get("text", ""))
    db.session.commit()
    return created(_show_order(order), url_for(".get_order", order_id=order.id))


@route("/deals/orders/<api_id:order_id>/reply", methods=["POST"])
@operation("deals", "Reply to the review (the provider, once)", response="Order", body=REPLY,
           errors=(400, 401, 403, 404, 409, 415, 422))
def reply(order_id: int):
    user = require_role(Role.PROVIDER)
    order = deals.get_order(user, order_id)
    if order.review is None:
        raise NotFound()
    deals.reply_review(user, order.review, read_body(REPLY)["text"])
    db.session.commit()
    return respond(_show_order(order))

