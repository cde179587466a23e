"""API resources: the caller, packages, needs and their recommendations, search, subsidy
quotes and region statistics. Deals are in :mod:`.deals`."""

from __future__ import annotations

from flask import current_app, g, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from sqlalchemy import Select
from werkzeug.exceptions import HTTPException, MethodNotAllowed

import search

from ..extensions import db
from ..forms import MAX_YUAN
from ..models import Deployment, Need, NeedStatus, Package, PackageStatus, Role, Visibility
from ..services import matching, needs, packages, subsidies
from ..services.deals import MAX_QUOTE_FEN, today
from ..services.figures import FIGURES
from ..services.overview import gov_overview
from ..services.search import run_search
from . import MAX_ID, operation, route, serialize
from .auth import caller, require_role, require_user
from .errors import ApiError
from .inputs import (
    MAX_INT,
    PAGE_FIELDS,
    Field,
    decode_cursor,
    encode_cursor,
    read_body,
    read_query,
)
from .serialize import respond

MAX_FEN = int(MAX_YUAN * 100)
DEFAULT_LIMIT = 20


def page_of(query: Select, model, args: dict, show) -> dict:
    """One page of ``query``, newest id first, after the cursor's id."""
    limit = args.get("limit", DEFAULT_LIMIT)
    after = decode_cursor(args.get("cursor"))
    query = query.order_by(None).order_by(model.id.desc())
    if after is not None:
        query = query.where(model.id < after)
    rows = list(db.session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [show(row) for row in rows],
            "next_cursor": encode_cursor(rows[-1].id) if more else None}


def created(body: dict, location: str):
    return respond(body, 201, {"Location": location})


# -- the caller ---------------------------------------------------------------------------------


@route("/")
@operation("meta", "Where the document and the docs page are", response="Index", public=True)
def index():
    return respond({"version": "v1", "openapi": url_for(".openapi_document"),
                    "docs": url_for(".docs_page")})


@route("/me")
@operation("meta", "The caller", response="Me", errors=(401,),
           description="A caller logged in with the cookie also gets `csrf_token`, to send as "
                       "the `X-CSRFToken` header on writes.")
def me():
    user = require_user()
    shown = {**serialize.me(user), "auth": g.api_auth}
    if g.api_auth == "session":
        shown["csrf_token"] = generate_csrf()
    return respond(shown)


# -- packages -----------------------------------------------------------------------------------

PACKAGE_QUERY = (
    Field("q", max_length=100, description="Words in the title, summary or description."),
    Field("category_code", max_length=32),
    Field("scenario_level_code", max_length=16),
    Field("industry_code", max_length=8),
    Field("deployment", enum=Deployment.ALL),
    Field("max_price_fen", "integer", minimum=0, maximum=MAX_INT),
    Field("free_trial", "boolean"),
    Field("provider_id", "integer", minimum=1, maximum=MAX_ID),
    Field("status", enum=PackageStatus.ALL,
          description="Only with `provider_id` of your own provider: its drafts and archive."),
    *PAGE_FIELDS,
)


@route("/packages")
@operation("packages", "List packages", response="PackagePage", query=PACKAGE_QUERY, public=True,
           errors=(400,), description="Public packages (published, of verified providers that "
                                      "are not eliminated), newest first; a provider asking "
                                      "for its own `provider_id` sees all of its own.")
def list_packages():
    args = read_query(PACKAGE_QUERY)
    filters = packages.PackageFilters(
        q=args.get("q", ""), category_code=args.get("category_code", ""),
        scenario_level_code=args.get("scenario_level_code", ""),
        industry_code=args.get("industry_code", ""), deployment=args.get("deployment", ""),
        max_price_fen=args.get("max_price_fen"), free_trial=args.get("free_trial", False),
        provider_id=args.get("provider_id"), status=args.get("status", ""),
    )
    query = packages.visible_packages(caller(), filters)
    query = query.options(*packages.package_details())
    return respond(page_of(query, Package, args, lambda p: serialize.package(p, full=False)))


@route("/packages/<api_id:package_id>")
@operation("packages", "Get a package", response="Package", public=True, errors=(404,))
def get_package(package_id: int):
    found = packages.get_package(caller(), package_id)
    return respond(serialize.package(found))


SUBSIDY_QUERY = (Field("amount_fen", "integer", minimum=0, maximum=MAX_QUOTE_FEN,
                       description="The order amount (default: the package's list price)."),)


@route("/packages/<api_id:package_id>/subsidy")
@operation("subsidies", "Subsidy quote for the caller's enterprise", response="SubsidyQuote",
           query=SUBSIDY_QUERY, errors=(400, 401, 403, 404),
           description="The single best program (从优、就高、不重复) and every program that would "
                       "pay something on an order of `amount_fen` for this package today.")
def subsidy_quote(package_id: int):
    user = require_role(Role.SME)
    if user.enterprise is None:
        raise ApiError(403, _l("请先填写企业信息。"))
    args = read_query(SUBSIDY_QUERY)
    found = packages.get_package(user, package_id)
    amount = args.get("amount_fen", found.price_fen)
    offers = subsidies.offers_for(user.enterprise, found, amount, today())
    return respond({"package_id": found.id, "amount_fen": amount,
                    "best": serialize.offer(offers[0] if offers else None),
                    "offers": [serialize.offer(o) for o in offers]})


# -- needs --------------------------------------------------------------------------------------

NEED_QUERY = (
    Field("q", max_length=100, description="Words in the title or description."),
    Field("category_code", max_length=32),
    Field("scenario_level_code", max_length=16),
    Field("status", enum=NeedStatus.ALL),
    Field("region_code", max_length=6, description="A region and everything below it."),
    Field("mine", "boolean", description="Only your enterprise's needs."),
    *PAGE_FIELDS,
)
NEED_FIELDS = (
    Field("title", required=True, max_length=needs.TITLE_MAX),
    Field("description", required=True, max_length=needs.DESCRIPTION_MAX,
          description=f"{needs.DESCRIPTION_MIN}–{needs.DESCRIPTION_MAX} characters."),
    Field("category_code", required=True, max_length=32),
    Field("scenario_level_code", required=True, max_length=16),
    Field("budget_min_fen", "integer", nullable=True, minimum=0, maximum=MAX_FEN),
    Field("budget_max_fen", "integer", nullable=True, minimum=0, maximum=MAX_FEN),
    Field("desired_start", "date", nullable=True),
    Field("visibility", enum=Visibility.ALL, description="Default `public`."),
)


@route("/needs")
@operation("needs", "List the needs you may see", response="NeedPage", query=NEED_QUERY,
           errors=(400, 401), description="Newest first: public needs, your enterprise's, and "
                                           "for officials the private needs of their region.")
def list_needs():
    user = require_user()
    args = read_query(NEED_QUERY)
    filters = needs.NeedFilters(
        q=args.get("q", ""), category_code=args.get("category_code", ""),
        scenario_level_code=args.get("scenario_level_code", ""),
        status=args.get("status", ""), region_code=args.get("region_code", ""),
        mine=args.get("mine", False),
    )
    return respond(page_of(needs.visible_needs(user, filters), Need, args,
                           lambda n: serialize.need(n, user)))


@route("/needs/<api_id:need_id>")
@operation("needs", "Get a need", response="Need", errors=(401, 404))
def get_need(need_id: int):
    user = require_user()
    found = needs.view_need(user, need_id)
    db.session.commit()  # an official's read of a private need is audited
    return respond(serialize.need(found, user))


def _need_data(values: dict, current: Need | None = None) -> needs.NeedData:
    def pick(name, default):
        return values[name] if name in values else (
            getattr(current, name) if current is not None else default)

    return needs.NeedData(
        title=pick("title", ""), description=pick("description", ""),
        category_code=pick("category_code", ""),
        scenario_level_code=pick("scenario_level_code", ""),
        budget_min_fen=pick("budget_min_fen", None), budget_max_fen=pick("budget_max_fen", None),
        desired_start=pick("desired_start", None),
        visibility=pick("visibility", Visibility.PUBLIC),
    )


@route("/needs", methods=["POST"])
@operation("needs", "Post a need", ok=201, response="Need", body=NEED_FIELDS,
           errors=(400, 401, 403, 415, 422))
def create_need():
    user = require_role(Role.SME)
    values = read_body(NEED_FIELDS)
    found = needs.create_need(user, _need_data(values))
    db.session.commit()
    return created(serialize.need(found, user), url_for(".get_need", need_id=found.id))


@route("/needs/<api_id:need_id>", methods=["PATCH"])
@operation("needs", "Change a need", response="Need", body=NEED_FIELDS, partial=True,
           errors=(400, 401, 403, 404, 409, 415, 422),
           description="Fields left out keep their values; a closed need must be reopened "
                       "first (409).")
def update_need(need_id: int):
    user = require_user()
    found = needs.get_need(user, need_id)
    if not found.can_edit(user):
        raise ApiError(403, _l("只能修改本企业的需求。"))
    values = read_body(NEED_FIELDS, partial=True)
    needs.update_need(user, found, _need_data(values, found))
    db.session.commit()
    return respond(serialize.need(found, user))


@route("/needs/<api_id:need_id>/<any(close, reopen):action>", methods=["POST"])
@operation("needs", "Close or reopen a need", response="Need", errors=(401, 403, 404, 409))
def change_need_status(need_id: int, action: str):
    user = require_user()
    found = needs.get_need(user, need_id)
    needs.change_need_status(user, found, action)
    db.session.commit()
    return respond(serialize.need(found, user))


@route("/needs/<api_id:need_id>/recommendations")
@operation("needs", "Packages recommended for your need, with reasons",
           response="Recommendations", errors=(401, 403, 404),
           description="Best first; empty unless the need is open. Only the enterprise that "
                       "posted the need sees them (as on its page).")
def recommendations(need_id: int):
    user = require_user()
    found = needs.get_need(user, need_id)
    if not found.can_edit(user):
        raise ApiError(403)
    items = []
    if found.status == NeedStatus.OPEN:
        items = matching.packages_for_need(found)
        # A cookie GET may come from another site, and a read-only token writes nothing: only
        # a write token (a browser never adds the header by itself) records impressions.
        if g.api_auth == "token" and g.api_token.can_write:
            matching.record_impressions(found, items)
    body = {"need_id": found.id, "items": [serialize.suggestion(s) for s in items]}
    db.session.commit()  # after serialising: a commit expires every loaded object
    return respond(body)


# -- search -------------------------------------------------------------------------------------

FACETS = ("category", "scenario_level", "industry", "cluster", "region", "deployment",
          "provider_tier", "subsidy", "status", "provider", "enterprise")
SEARCH_QUERY = (
    Field("kind", enum=search.KINDS, description="`package` (default) or `need` (logged in)."),
    Field("q", max_length=100, description='Words (all must match), "a phrase", -excluded.'),
    Field("sort", enum=search.SORTS),
    Field("price_min_fen", "integer", minimum=0, maximum=MAX_INT),
    Field("price_max_fen", "integer", minimum=0, maximum=MAX_INT),
    *(Field(name, "strings", max_length=40, max_items=10,
            description="Filter (repeat for several values)") for name in FACETS),
    Field("price_band", "strings", enum=search.query.PRICE_BAND_KEYS, max_items=10),
    *PAGE_FIELDS,
)
MAX_SEARCH_PAGE = 500


@route("/search")
@operation("search", "Search packages or needs, with facets", response="SearchResults",
           query=SEARCH_QUERY, public=True, errors=(400, 401, 503),
           description="Ranked by relevance (or `sort`); the cursor walks the pages. Filters "
                       "are the facet names of the kind; a filter the kind has not is a 400.")
def search_index():
    args = read_query(SEARCH_QUERY)
    kind = args.get("kind", search.PACKAGE)
    if kind == search.NEED:
        require_user()
    spec = search.SPECS[kind]
    filters = {name: args[name] for name in (*FACETS, "price_band") if args.get(name)}
    wrong = {name: _l("这个类型不能按此筛选。") for name in filters if name not in spec.facet_names}
    if wrong:
        raise ApiError(400, fields=wrong)
    page = decode_cursor(args.get("cursor")) or 1
    if page > MAX_SEARCH_PAGE:
        raise ApiError(400, fields={"cursor": _l("无效的分页游标。")})
    query_args = {"kind": kind, "text": args.get("q", ""), "filters": filters,
                  "sort": args.get("sort", "relevance"), "page": page,
                  "per_page": args.get("limit", DEFAULT_LIMIT),
                  "price_min_fen": args.get("price_min_fen"),
                  "price_max_fen": args.get("price_max_fen")}
    try:
        results = run_search(caller(), query_args)
    except search.QueryError:
        raise ApiError(400) from None
    except search.SearchError:
        current_app.logger.exception("API search failed")
        raise ApiError(503) from None
    more = results.has_next and page < MAX_SEARCH_PAGE
    return respond({
        "kind": kind, "total": results.total, "words": list(results.words),
        "suggestion": results.suggestion,
        "items": [_hit(kind, hit) for hit in results.hits],
        "facets": {name: [{"value": f.value, "count": f.count, "selected": f.selected}
                          for f in counts] for name, counts in results.facets.items()},
        "next_cursor": encode_cursor(page + 1) if more else None,
    })


def _hit(kind: str, hit) -> dict:
    record = hit.record
    shown = {"id": record.id, "title": record.title, "score": round(float(hit.score), 6),
             "title_html": str(hit.title_html), "snippet_html": str(hit.snippet_html),
             "category_code": record.category}
    if kind == search.PACKAGE:
        shown.update(price_fen=record.price_fen, deployment=record.deployment,
                     provider={"id": record.provider_id, "name": record.provider_name},
                     published_at=serialize.when(record.published or record.created))
    else:
        shown.update(status=record.status, budget_min_fen=record.budget_min_fen,
                     budget_max_fen=record.budget_max_fen,
                     enterprise={"id": record.enterprise_id, "name": record.enterprise_name},
                     created_at=serialize.when(record.created))
    return shown


# -- region statistics --------------------------------------------------------------------------


@route("/stats/region")
@operation("stats", "Counts of the official's region", response="RegionStats",
           errors=(401, 403), description="Officials only: their region and everything below.")
def region_stats():
    user = require_role(Role.GOV)
    overview = gov_overview(user)
    return respond({
        "region": serialize.region(user.region),
        "enterprises": overview["enterprises"], "needs": overview["needs"],
        "open_needs": overview["open_needs"], "providers_serving": overview["providers_serving"],
        "claims_ready": overview["claims_ready"],
        # what each count counts (口径), in the caller's language
        "definitions": {name: str(FIGURES[key].definition) for name, key in (
            ("needs", "region_needs"), ("open_needs", "region_open_needs"),
            ("providers_serving", "providers_serving"))},
    })


# -- anything else under /api/v1 ----------------------------------------------------------------

ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@route("/<path:rest>", methods=ANY_METHOD)
def unknown(rest: str):
    """A JSON 404 (no such resource) or 405 (it exists, not with this method) instead of the
    site's HTML pages."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = set()
    for method in ANY_METHOD:
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != "api.unknown":
            allowed.add(method)
    if allowed:
        raise MethodNotAllowed(valid_methods=sorted(allowed))
    raise ApiError(404)
