"""The OpenAPI 3.1 document of the API, built from the routes themselves.

Paths come from the app's URL map (every view of the blueprint that carries an
:func:`~marketplace.api.operation` description), parameters and request bodies from the very
:class:`~marketplace.api.inputs.Field` tuples the views read with, responses from the schemas
below, which mirror :mod:`marketplace.api.serialize`. ``tests/test_api_schema.py`` runs
schemathesis against the result, so a response that strays from it fails the suite.
"""

from __future__ import annotations

import re

from flask import Flask

from ..models import (
    Deployment,
    NeedStatus,
    OrderStatus,
    PackageStatus,
    PriceUnit,
    RequestStatus,
    Role,
    Visibility,
)
from .errors import CODES
from .inputs import body_schema

PREFIX = "/api/v1"
_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z_]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")

STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict, optional: tuple[str, ...] = ()) -> dict:
    """An object that always has ``properties`` (but ``optional``); more may be added later."""
    return {"type": "object", "properties": properties,
            "required": [name for name in properties if name not in optional]}


def enum(values) -> dict:
    return {"type": "string", "enum": list(values)}


def page(item: str) -> dict:
    return obj({"items": {"type": "array", "items": ref(item)},
                "next_cursor": nullable({**STR, "description": "Pass as `cursor` for the next "
                                                             "page; null on the last page."})})


REF = obj({"id": INT, "title": STR})
PARTY = obj({"id": INT, "name": STR})
PACKAGE_SUMMARY = {
    "id": INT, "title": STR, "summary": STR, "category_code": STR,
    "scenario_level_codes": {"type": "array", "items": STR},
    "industry_codes": {"type": "array", "items": STR},
    "deployment": enum(Deployment.ALL), "price_fen": INT, "price_unit": enum(PriceUnit.ALL),
    "delivery_days": INT, "free_trial": BOOL, "status": enum(PackageStatus.ALL),
    "published_at": nullable(DATETIME), "provider": ref("Provider"),
}

SCHEMAS = {
    "Error": obj({"error": obj({
        "code": {**STR, "description": "Machine code: "
                 + ", ".join(sorted({code for code, _ in CODES.values()} | {"csrf_failed"}))},
        "message": {**STR, "description": "For people, in the user's language."},
        "fields": {"type": "object", "additionalProperties": STR,
                   "description": "Request field → what is wrong with it."},
        "request_id": STR,
    })}),
    "Index": obj({"version": STR, "openapi": STR, "docs": STR}),
    "Region": obj({"code": STR, "name": STR, "level": enum(("province", "city", "county"))}),
    "Provider": obj({"id": INT, "name": STR, "kind": STR, "tier": STR, "verified": BOOL,
                     "standing": STR, "chain_platform": BOOL}),
    "Me": obj({
        "id": INT, "email": STR, "display_name": STR, "role": enum(Role.ALL),
        "locale": nullable(STR), "region": nullable(ref("Region")),
        "enterprise": nullable(obj({"id": INT, "name": STR, "county": ref("Region"),
                                    "size_class_code": STR, "industry_code": STR})),
        "provider": nullable(ref("Provider")),
        "auth": enum(("token", "session")),
        "csrf_token": {**STR, "description": "Only for a caller logged in with the cookie."},
    }, optional=("csrf_token",)),
    "PackageSummary": obj(PACKAGE_SUMMARY),
    "Package": obj({
        **PACKAGE_SUMMARY, "description": STR,
        "cases": {"type": "array", "items": obj({"title": STR, "customer": STR,
                                                 "content": STR})},
        "created_at": DATETIME, "updated_at": DATETIME,
    }),
    "PackagePage": page("PackageSummary"),
    "Need": obj({
        "id": INT, "title": STR, "description": STR, "category_code": STR,
        "scenario_level_code": STR, "budget_min_fen": nullable(INT),
        "budget_max_fen": nullable(INT), "desired_start": nullable(DATE),
        "visibility": enum(Visibility.ALL), "status": enum(NeedStatus.ALL),
        "enterprise": obj({"id": INT, "name": STR, "county": ref("Region"),
                           "industry_code": STR}),
        "editable": {**BOOL, "description": "Whether you may change it."},
        "created_at": DATETIME, "updated_at": DATETIME, "closed_at": nullable(DATETIME),
    }),
    "NeedPage": page("Need"),
    "Reason": obj({"code": STR, "text": {**STR, "description": "In the user's language."}}),
    "Recommendations": obj({"need_id": INT, "items": {"type": "array", "items": obj({
        "package": ref("PackageSummary"), "score": NUM,
        "reasons": {"type": "array", "items": ref("Reason")}})}}),
    "Offer": obj({
        "program": obj({"id": INT, "name": STR, "mode": STR, "region": ref("Region"),
                        "ends_on": DATE}),
        "order_fen": INT, "amount_fen": {**INT, "description": "The subsidy."},
        "net_fen": {**INT, "description": "What the enterprise pays."},
    }),
    "SubsidyQuote": obj({"package_id": INT, "amount_fen": INT, "best": nullable(ref("Offer")),
                         "offers": {"type": "array", "items": ref("Offer")}}),
    "Quote": obj({"revision": INT, "price_fen": INT,
                  "free_trial": {**BOOL, "description": "A quote of 0 for a package that "
                                 "offers a free trial; no subsidy applies."},
                  "scope": STR, "delivery_days": INT, "valid_until": DATE, "expired": BOOL}),
    "DealRequest": obj({
        "id": INT, "status": enum(RequestStatus.ALL), "message": STR, "decline_reason": STR,
        "need": REF, "package": REF, "enterprise": PARTY, "provider": PARTY,
        "quote": nullable(ref("Quote")), "order_id": nullable(INT),
        "responded_at": nullable(DATETIME), "created_at": DATETIME, "updated_at": DATETIME,
        "subsidy_offer": nullable({**ref("Offer"), "description": "For the enterprise: the "
                                   "best subsidy if it accepted the quote today."}),
    }),
    "DealRequestPage": page("DealRequest"),
    "Order": obj({
        "id": INT, "status": enum(OrderStatus.ALL), "request_id": INT, "need": REF,
        "package": REF, "enterprise": PARTY, "provider": PARTY, "amount_fen": INT,
        "free_trial": {**BOOL, "description": "Placed on a free trial (no subsidy)."},
        "scope": STR, "delivery_days": INT, "due_date": DATE, "delivered_at": nullable(DATETIME),
        "accepted_at": nullable(DATETIME), "dispute_reason": STR, "cancel_reason": STR,
        "cancelled_at": nullable(DATETIME),
        "subsidy": nullable(obj({"id": INT, "program": obj({"id": INT, "name": STR}),
                                 "amount_fen": INT, "status": STR})),
        "review": nullable(obj({"rating": INT, "text": STR, "reply": STR,
                                "created_at": DATETIME, "replied_at": nullable(DATETIME)})),
        "created_at": DATETIME, "updated_at": DATETIME,
    }),
    "OrderPage": page("Order"),
    "SearchHit": obj({
        "id": INT, "title": STR, "score": NUM,
        "title_html": {**STR, "description": "HTML-escaped, query words in <mark>."},
        "snippet_html": STR, "category_code": nullable(STR),
        "price_fen": nullable(INT), "deployment": nullable(STR),
        "provider": obj({"id": nullable(INT), "name": STR}),
        "published_at": nullable(DATETIME), "status": nullable(STR),
        "budget_min_fen": nullable(INT), "budget_max_fen": nullable(INT),
        "enterprise": obj({"id": nullable(INT), "name": STR}), "created_at": nullable(DATETIME),
    }, optional=("price_fen", "deployment", "provider", "published_at", "status",
                 "budget_min_fen", "budget_max_fen", "enterprise", "created_at")),
    "SearchResults": obj({
        "kind": enum(("package", "need")), "total": INT, "words": {"type": "array", "items": STR},
        "suggestion": nullable(STR), "items": {"type": "array", "items": ref("SearchHit")},
        "facets": {"type": "object", "additionalProperties": {"type": "array", "items": obj(
            {"value": STR, "count": INT, "selected": BOOL})}},
        "next_cursor": nullable(STR),
    }),
    "RegionStats": obj({"region": ref("Region"), "enterprises": INT, "needs": INT,
                        "open_needs": INT, "providers_serving": INT, "claims_ready": INT,
                        "definitions": {"type": "object", "additionalProperties": STR}}),
}

DESCRIPTION = """\
The 智改数转 marketplace's open API: solution packages, needs, recommendations with reasons,
search with facets, deals and their steps, subsidy quotes and region statistics.

**Authentication.** Create a personal API token on `/profile/tokens` and send it as
`Authorization: Bearer <token>`. A token has exactly its user's permissions; it stops working
when revoked or when the account is disabled. Calls made from a logged-in browser page use the
login cookie instead and must send the CSRF token (from `GET /me`) as `X-CSRFToken` on writes.
Public reads (packages, package search) need neither.

**Conventions.** Amounts are integer fen (¥1 = 100). Lists are newest first and paged with an
opaque `cursor` (`next_cursor` of the previous page). Errors are
`{"error": {"code", "message", "fields", "request_id"}}` with `message` in the user's language.
Fields a body does not declare are ignored. Calls are rate limited per token (429 with
`Retry-After`).
"""


def _path_and_params(rule: str) -> list[tuple[str, list[dict]]]:
    """OpenAPI paths for a Flask rule: ``<api_id:x>`` becomes ``{x}``; an ``any(a, b)`` part
    becomes one literal path per choice."""
    variants: list[tuple[str, list[dict]]] = [(rule[len(PREFIX):] or "/", [])]
    for match in _CONVERTER.finditer(rule):
        conv, args, name = match.group("conv"), match.group("args"), match.group("name")
        if conv == "any":
            choices = [c.strip().strip("'\"") for c in args.split(",")]
            variants = [(path.replace(match.group(0), choice), params)
                        for path, params in variants for choice in choices]
            continue
        schema = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1} if conv == "api_id" \
            else {"type": "string"}
        param = {"name": name, "in": "path", "required": True, "schema": schema}
        variants = [(path.replace(match.group(0), "{" + name + "}"), [*params, param])
                    for path, params in variants]
    return variants


def _query_parameter(field) -> dict:
    param = {"name": field.name, "in": "query", "required": field.required,
             "schema": field.schema()}
    if field.kind == "strings":
        param.update(style="form", explode=True)
    return param


def _responses(doc: dict, has_body: bool, writes: bool) -> dict:
    ok = {"description": "Done."}
    if doc["response"]:
        ok["content"] = {"application/json": {"schema": ref(doc["response"])}}
    responses = {str(doc["ok"]): ok}
    statuses = set(doc["errors"]) | {401, 429}
    if has_body:
        statuses |= {400, 413, 415, 422}
    if writes:
        statuses.add(403)  # csrf_failed for cookie callers, insufficient_scope for read tokens
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    responses["default"] = {"$ref": "#/components/responses/E500"}
    return responses


def _operation(endpoint: str, method: str, doc: dict, path_params: list[dict],
               suffix: str) -> dict:
    writes = method != "get"
    summary = f"{doc['summary']}: {suffix[1:]}" if suffix else doc["summary"]
    operation = {
        "tags": [doc["tag"]], "summary": summary,
        "operationId": endpoint.removeprefix("api.") + suffix,
        "parameters": [*path_params, *(_query_parameter(f) for f in doc["query"]),
                       *({"name": h, "in": "header", "required": False,
                          "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"}}
                         for h in doc["headers"])],
        "responses": _responses(doc, doc["body"] is not None, writes),
        "security": [{"bearerAuth": []}, {"cookieAuth": []}, *([{}] if doc["public"] else [])],
    }
    if doc["description"]:
        operation["description"] = doc["description"]
    if doc["body"] is not None:
        schema = body_schema(doc["body"])
        if doc["partial"]:
            schema.pop("required", None)
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": schema}}}
    if not operation["parameters"]:
        del operation["parameters"]
    return operation


def build_document(app: Flask) -> dict:
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        doc = getattr(app.view_functions.get(rule.endpoint), "openapi", None)
        if not rule.endpoint.startswith("api.") or doc is None:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            variants = _path_and_params(rule.rule)
            for path, params in variants:
                suffix = "_" + path.rsplit("/", 1)[-1] if len(variants) > 1 else ""
                paths.setdefault(path, {})[method.lower()] = _operation(
                    rule.endpoint, method.lower(), doc, params, suffix)
    return {
        "openapi": "3.1.0",
        "info": {"title": "智改数转 marketplace API", "version": "1.0.0",
                 "description": DESCRIPTION},
        "servers": [{"url": PREFIX}],
        "tags": [{"name": name} for name in ("meta", "packages", "needs", "search", "deals",
                                             "subsidies", "stats")],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "responses": {
                f"E{status}": {"description": f"{status} {code}", "content": {
                    "application/json": {"schema": ref("Error")}}}
                for status, (code, _message) in CODES.items()
            },
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "A personal API token from /profile/tokens. "
                                              "A read token's writes answer 403 "
                                              "insufficient_scope; an expired token 401 "
                                              "token_expired."},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session",
                               "description": "The login cookie; writes also need the "
                                              "X-CSRFToken header."},
            },
        },
    }
