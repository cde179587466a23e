"""Objects as JSON: what each API resource shows. Amounts are integer fen, dates ISO 8601.

Each function shows what the matching page shows to someone allowed to open it; the views
decide who may (through the services), these only decide the shape.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Response, current_app

from ..models import (
    DealRequest,
    Need,
    Order,
    Package,
    Provider,
    Quote,
    Region,
    Review,
    SubsidyClaim,
    User,
)
from ..reasons import reason_texts
from ..services.deals import today
from ..services.subsidies import Offer


def respond(body, status: int = 200, headers: dict | None = None) -> Response:
    """``body`` as a JSON response, Chinese readable as is (not as ``\\u`` escapes)."""
    text = current_app.json.dumps(body, ensure_ascii=False)
    return current_app.response_class(text + "\n", status=status, headers=headers,
                                      mimetype="application/json")


def when(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime) and moment.tzinfo is None:  # SQLite: stored as UTC
        return moment.isoformat() + "Z"
    return moment.isoformat()


def region(found: Region | None) -> dict | None:
    if found is None:
        return None
    return {"code": found.code, "name": found.label, "level": found.level}


def provider(found: Provider) -> dict:
    return {"id": found.id, "name": found.name, "kind": found.kind, "tier": found.tier,
            "verified": found.verified, "standing": found.standing,
            "chain_platform": found.is_chain_platform}


def package(found: Package, *, full: bool = True) -> dict:
    shown = {
        "id": found.id, "title": found.title, "summary": found.summary,
        "category_code": found.category_code,
        "scenario_level_codes": [s.code for s in found.scenario_levels],
        "industry_codes": [i.code for i in found.industries],
        "deployment": found.deployment, "price_fen": found.price_fen,
        "price_unit": found.price_unit, "delivery_days": found.delivery_days,
        "free_trial": found.free_trial, "status": found.status,
        "published_at": when(found.published_at), "provider": provider(found.provider),
    }
    if full:
        shown["description"] = found.description
        shown["cases"] = [{"title": c.title, "customer": c.customer, "content": c.content}
                          for c in found.cases]
        shown["created_at"], shown["updated_at"] = when(found.created_at), when(found.updated_at)
    return shown


def need(found: Need, viewer: User) -> dict:
    enterprise = found.enterprise
    return {
        "id": found.id, "title": found.title, "description": found.description,
        "category_code": found.category_code, "scenario_level_code": found.scenario_level_code,
        "budget_min_fen": found.budget_min_fen, "budget_max_fen": found.budget_max_fen,
        "desired_start": when(found.desired_start), "visibility": found.visibility,
        "status": found.status,
        "enterprise": {"id": enterprise.id, "name": enterprise.name,
                       "county": region(enterprise.county),
                       "industry_code": enterprise.industry_code},
        "editable": found.can_edit(viewer),
        "created_at": when(found.created_at), "updated_at": when(found.updated_at),
        "closed_at": when(found.closed_at),
    }


def suggestion(item) -> dict:
    """A recommended package with its score and reasons (codes and text)."""
    return {"package": package(item.item, full=False), "score": round(float(item.score), 6),
            "reasons": reason_texts(item.reasons)}


def quote(found: Quote | None) -> dict | None:
    if found is None:
        return None
    return {"revision": found.revision, "price_fen": found.price_fen,
            "free_trial": found.is_free_trial, "scope": found.scope,
            "delivery_days": found.delivery_days, "valid_until": when(found.valid_until),
            "expired": found.is_expired(today())}


def offer(found: Offer | None) -> dict | None:
    if found is None:
        return None
    program = found.program
    return {"program": {"id": program.id, "name": program.name, "mode": program.mode,
                        "region": region(program.region), "ends_on": when(program.ends_on)},
            "order_fen": found.order_fen, "amount_fen": found.amount_fen,
            "net_fen": found.net_fen}


def deal_request(found: DealRequest, best: Offer | None = None,
                 order_id: int | None = None) -> dict:
    shown = {
        "id": found.id, "status": found.status, "message": found.message,
        "decline_reason": found.decline_reason,
        "need": {"id": found.need_id, "title": found.need.title},
        "package": {"id": found.package_id, "title": found.package.title},
        "enterprise": {"id": found.enterprise_id, "name": found.enterprise.name},
        "provider": {"id": found.provider_id, "name": found.provider.name},
        "quote": quote(found.quote),
        "order_id": order_id,
        "responded_at": when(found.responded_at),
        "created_at": when(found.created_at), "updated_at": when(found.updated_at),
    }
    shown["subsidy_offer"] = offer(best)
    return shown


def claim(found: SubsidyClaim | None) -> dict | None:
    if found is None:
        return None
    return {"id": found.id, "program": {"id": found.program_id, "name": found.program.name},
            "amount_fen": found.amount_fen, "status": found.status}


def review(found: Review | None) -> dict | None:
    if found is None:
        return None
    return {"rating": found.rating, "text": found.text, "reply": found.reply,
            "created_at": when(found.created_at), "replied_at": when(found.replied_at)}


def order(found: Order, subsidy: SubsidyClaim | None = None) -> dict:
    return {
        "id": found.id, "status": found.status, "request_id": found.request_id,
        "need": {"id": found.need_id, "title": found.need.title},
        "package": {"id": found.package_id, "title": found.package.title},
        "enterprise": {"id": found.enterprise_id, "name": found.enterprise.name},
        "provider": {"id": found.provider_id, "name": found.provider.name},
        "amount_fen": found.amount_fen, "free_trial": found.free_trial, "scope": found.scope,
        "delivery_days": found.delivery_days, "due_date": when(found.due_date),
        "delivered_at": when(found.delivered_at), "accepted_at": when(found.accepted_at),
        "dispute_reason": found.dispute_reason, "cancel_reason": found.cancel_reason,
        "cancelled_at": when(found.cancelled_at), "subsidy": claim(subsidy),
        "review": review(found.review),
        "created_at": when(found.created_at), "updated_at": when(found.updated_at),
    }


def me(user: User) -> dict:
    enterprise, own = user.enterprise, user.provider
    return {
        "id": user.id, "email": user.email, "display_name": user.display_name,
        "role": user.role, "locale": user.locale, "region": region(user.region),
        "enterprise": None if enterprise is None else {
            "id": enterprise.id, "name": enterprise.name, "county": region(enterprise.county),
            "size_class_code": enterprise.size_class_code,
            "industry_code": enterprise.industry_code},
        "provider": None if own is None else provider(own),
    }
