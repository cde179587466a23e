"""Deals: request a package, quote, accept, deliver, accept or dispute, review; notifications."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import refchoices
from ..extensions import db
from ..forms import apply_errors
from ..models import Role
from ..services import deals, needs, notify, packages, subsidies
from ..services.errors import NotFound, ValidationFailed
from ..services.txn import run_once, target_of
from ..views import object_id, role_required, safe_next, submit
from .forms import (
    AcceptForm,
    DismissForm,
    QuoteForm,
    ReasonForm,
    ReplyForm,
    RequestForm,
    ReviewForm,
)

bp = Blueprint("deals", __name__)


@bp.route("/")
@login_required
def index():
    return render_template("deals/index.html", **deals.my_deals(current_user))


@bp.route("/request", methods=["POST"])
@role_required(Role.SME)
def create_request():
    form = RequestForm()
    form.need_id.choices = refchoices.options(
        (str(n.id), n.title) for n in deals.open_needs_of(current_user))
    package = packages.get_package(current_user, object_id(form.package_id.data))
    if form.validate_on_submit():
        need = needs.get_need(current_user, object_id(form.need_id.data))
        try:
            deal = deals.request_package(current_user, need, package, form.message.data or "")
        except ValidationFailed as failure:
            db.session.rollback()
            apply_errors(form, failure)
        else:
            db.session.commit()
            flash(_("已向服务商发出对接申请。"), "success")
            return redirect(url_for(".request_detail", request_id=deal.id))
    for errors in form.errors.values():
        for message in errors:
            flash(str(message), "danger")
    return redirect(url_for("packages.detail", package_id=package.id))


@bp.route("/requests/<int:request_id>")
@login_required
def request_detail(request_id: int):
    deal = deals.get_request(current_user, request_id)
    return _request_page(deal)


def _request_page(deal, status: int = 200, **forms):
    forms = {"quote_form": QuoteForm(obj=deal.quote), "reason_form": ReasonForm(),
             "accept_form": AcceptForm(), **forms}
    offer = None
    if deal.quote is not None and current_user.enterprise_id == deal.enterprise_id:
        offer = subsidies.best_offer(deal.enterprise, deal.package, deal.quote.price_fen,
                                     deals.today())
    return render_template("deals/request.html", deal=deal, offer=offer, today=deals.today(),
                           **forms), status


@bp.route("/requests/<int:request_id>/quote", methods=["POST"])
@role_required(Role.PROVIDER)
def quote(request_id: int):
    deal = deals.get_request(current_user, request_id)
    form = QuoteForm()

    def send():
        return deals.send_quote(current_user, deal, deals.QuoteData(
            form.price_fen.data, form.scope.data, form.delivery_days.data,
            form.valid_until.data))

    done = submit(form, send, _("报价已发送。"),
                  lambda _quote: url_for(".request_detail", request_id=deal.id))
    return done or _request_page(deal, 400, quote_form=form)


@bp.route("/requests/<int:request_id>/decline", methods=["POST"])
@role_required(Role.PROVIDER)
def decline(request_id: int):
    deal = deals.get_request(current_user, request_id)
    form = ReasonForm()
    done = submit(form, lambda: deals.decline_request(current_user, deal, form.reason.data),
                  _("已拒绝这个申请。"),
                  lambda _none: url_for(".request_detail", request_id=deal.id), "info")
    return done or _request_page(deal, 400, reason_form=form)


@bp.route("/requests/<int:request_id>/accept", methods=["POST"])
@role_required(Role.SME)
def accept(request_id: int):
    deal = deals.get_request(current_user, request_id)
    form = AcceptForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        result = run_once(current_user, form.idempotency_key.data, "accept_quote", lambda: {
            "order_id": deals.accept_quote(current_user, deal, form.revision.data,
                                           form.subsidy_fen.data).id},
            target=target_of("request", deal.id))
    except ValidationFailed as failure:  # a broken or reused submission key
        db.session.rollback()
        for message in failure.errors.values():
            flash(str(message), "danger")
        return _request_page(deal, 400)
    db.session.commit()
    flash(_("已下单。服务商交付后请验收。"), "success")
    return redirect(url_for(".order_detail", order_id=result["order_id"]))


@bp.route("/requests/<int:request_id>/withdraw", methods=["POST"])
@role_required(Role.SME)
def withdraw(request_id: int):
    deal = deals.get_request(current_user, request_id)
    deals.withdraw_request(current_user, deal)
    db.session.commit()
    flash(_("申请已撤回。"), "info")
    return redirect(url_for(".request_detail", request_id=deal.id))


def _order_page(order, status: int = 200, **forms):
    forms = {"reason_form": ReasonForm(), "review_form": ReviewForm(),
             "reply_form": ReplyForm(), "cancel_form": ReasonForm(prefix="cancel"), **forms}
    return render_template("deals/order.html", order=order,
                           claim=subsidies.claim_for_order(order), **forms), status


@bp.route("/orders/<int:order_id>")
@login_required
def order_detail(order_id: int):
    return _order_page(deals.get_order(current_user, order_id))


@bp.route("/orders/<int:order_id>/<any(deliver, accept_delivery):action>", methods=["POST"])
@login_required
def order_step(order_id: int, action: str):
    order = deals.get_order(current_user, order_id)
    if action == "deliver":
        deals.mark_delivered(current_user, order)
        message = _("已标记交付，等待企业验收。")
    else:
        deals.accept_delivery(current_user, order)
        message = _("已验收。欢迎评价这次服务。")
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".order_detail", order_id=order.id))


def _order_form_post(order_id: int, name: str, form, action, message=None):
    """Validate ``form``, run ``action(order, form)``; on failure show the order page with the
    form's errors beside its fields."""
    order = deals.get_order(current_user, order_id)
    done = submit(form, lambda: action(order, form), message,
                  lambda _result: url_for(".order_detail", order_id=order.id))
    return done or _order_page(order, 400, **{name: form})


@bp.route("/orders/<int:order_id>/dispute", methods=["POST"])
@role_required(Role.SME)
def dispute(order_id: int):
    def act(order, form):
        deals.dispute_delivery(current_user, order, form.reason.data)

    return _order_form_post(order_id, "reason_form", ReasonForm(), act)


@bp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@role_required(Role.SME, Role.PROVIDER)
def cancel(order_id: int):
    def act(order, form):
        deals.cancel_order(current_user, order, form.reason.data)

    return _order_form_post(order_id, "cancel_form", ReasonForm(prefix="cancel"), act,
                            (_("订单已取消。"), "info"))


@bp.route("/orders/<int:order_id>/review", methods=["POST"])
@role_required(Role.SME)
def review(order_id: int):
    def act(order, form):
        deals.review_order(current_user, order, form.rating.data, form.text.data or "")

    return _order_form_post(order_id, "review_form", ReviewForm(), act)


@bp.route("/orders/<int:order_id>/reply", methods=["POST"])
@role_required(Role.PROVIDER)
def reply(order_id: int):
    def act(order, form):
        if order.review is None:
            raise NotFound()
        deals.reply_review(current_user, order.review, form.text.data)

    return _order_form_post(order_id, "reply_form", ReplyForm(), act)


@bp.route("/dismiss", methods=["POST"])
@role_required(Role.SME)
def dismiss():
    form = DismissForm()
    if not form.validate_on_submit():
        abort(400)
    need = needs.get_need(current_user, object_id(form.need_id.data))
    deals.dismiss(current_user, need, object_id(form.package_id.data))
    db.session.commit()
    flash(_("已标记为不合适，不再推荐。"), "info")
    return redirect(safe_next(request.form.get("next")) or url_for("needs.detail",
                                                                   need_id=need.id))


@bp.route("/notifications")
@login_required
def notifications():
    """Reading the list changes nothing: marking read is a POST (:func:`mark_read`)."""
    items = notify.recent(current_user)
    return render_template("deals/notifications.html", items=items,
                           unread=notify.unread_count(current_user))


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_read():
    notify.mark_all_read(current_user)
    db.session.commit()
    return redirect(url_for(".notifications"))
