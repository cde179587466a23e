"""The OpenAPI document is accurate: schemathesis generates requests for every operation from
``/api/v1/openapi.json`` (valid and invalid ones), sends them to the app as WSGI with tokens of
seeded users, and checks that no answer is a server error or strays from the document (status,
content type, headers, body schema) and that invalid input is refused.

Also here: the document itself (every API view is in it, and only those) and the docs page.
"""

from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Package, ScenarioLevel, User
from marketplace.services import search as search_service
from tests.test_api import NEED, QUOTE, Api, make_token

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
EXAMPLES = 8  # per operation, per mode and per backend: the whole run stays well under a minute
ROLES = ("sme", "provider", "gov", "admin")


@pytest.fixture
def seeded(app, make_user, make_need, make_package):
    """Users of each role with tokens, and a need, packages, a request and an order among them,
    so generated ids sometimes name real objects."""
    users = {"sme": make_user(), "provider": make_user(role="provider"),
             "gov": make_user(role="gov", region_code="320500"), "admin": make_user(role="admin")}
    with app.app_context():
        enterprise = db.session.get(User, users["sme"].id).enterprise_id
        provider = db.session.get(User, users["provider"].id).provider_id
    packages = [make_package(provider), make_package(provider, title="草稿", status="draft")]
    with app.app_context():
        workshop = db.session.get(ScenarioLevel, "workshop")
        for package in db.session.scalars(select(Package)):
            package.scenario_levels.append(workshop)
        db.session.commit()
    need = make_need(enterprise)
    secrets = {role: make_token(app, user.id) for role, user in users.items()}
    sme = Api(app.test_client(), secrets["sme"])
    vendor = Api(app.test_client(), secrets["provider"])
    deal = sme.post("/deals/requests", {"need_id": need, "package_id": packages[0]}).json["id"]
    vendor.post(f"/deals/requests/{deal}/quote", QUOTE)
    second_need = sme.post("/needs", NEED).json["id"]
    order_deal = sme.post("/deals/requests", {"need_id": second_need,
                                              "package_id": packages[0]}).json["id"]
    vendor.post(f"/deals/requests/{order_deal}/quote", QUOTE)
    order = sme.post(f"/deals/requests/{order_deal}/accept", {"revision": 1}).json["id"]
    with app.app_context():
        search_service.drain_all()
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    ids = {"need_id": [need, second_need], "package_id": packages,
           "request_id": [deal, order_deal], "order_id": [order]}
    return secrets, ids


def _run_operation(operation, mode, secrets, ids) -> list[str]:
    """Up to EXAMPLES cases of one operation; the failures found, as text."""
    failures: list[str] = []
    known = st.sampled_from([None, *sorted({i for values in ids.values() for i in values})])

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode), role=st.sampled_from(ROLES),
           real_id=known)
    def run(case, role, real_id):
        if real_id is not None and case.path_parameters and mode == GenerationMode.POSITIVE:
            for name in case.path_parameters:
                case.path_parameters[name] = real_id
        try:
            case.call_and_validate(headers={"Authorization": f"Bearer {secrets[role]}"},
                                   checks=CHECKS + ([negative_data_rejection]
                                                    if mode == GenerationMode.NEGATIVE else []))
        except (Exception, BaseExceptionGroup) as failure:  # schemathesis' FailureGroup, or
            # an exception the app raised (TESTING propagates them)
            failures.append(f"{operation.label} [{mode.value}, {role}]: "
                            f"{type(failure).__name__}: {str(failure)[:1500]}")

    try:
        run()
    except Unsatisfiable:  # nothing of this operation can be made invalid (no parameters)
        assert mode == GenerationMode.NEGATIVE, operation.label
    return failures


def test_the_api_keeps_to_its_openapi_document(app, seeded, monkeypatch):
    secrets, ids = seeded
    # Indexing after writes is tested with the search pages; here it would only spend time.
    monkeypatch.setattr(search_service, "drain", lambda *args, **kwargs: 0)
    # The token goes in every request below: schemathesis is not to make up (or break) one.
    config = SchemathesisConfig.from_dict({"generation": {"with-security-parameters": False}})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    started, failures, operations = time.monotonic(), [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _run_operation(operation, mode, secrets, ids)
    document = app.test_client().get("/api/v1/openapi.json").json
    assert operations == sum(len(methods) for methods in document["paths"].values()) == 29
    assert not failures, "\n\n".join(failures[:10])
    assert time.monotonic() - started < 120


# -- the document and the page ------------------------------------------------------------------


def test_every_api_view_is_documented(app):
    documented = {op["operationId"].split("_close")[0].split("_reopen")[0]
                  for path in app.test_client().get("/api/v1/openapi.json").json["paths"].values()
                  for op in path.values()}
    views = {rule.endpoint.removeprefix("api.") for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("api.")}
    undocumented = {"unknown", "openapi_document", "docs_page"}
    assert documented == views - undocumented


def test_document_is_openapi_3_1_with_bearer_auth(client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "/needs/{need_id}/close" in document["paths"]
    body = document["paths"]["/needs"]["post"]["requestBody"]["content"]["application/json"]
    assert set(body["schema"]["required"]) == {"title", "description", "category_code",
                                               "scenario_level_code"}
    accept = document["paths"]["/deals/requests/{request_id}/accept"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header"
               for p in accept["parameters"])


def test_docs_page_uses_only_local_assets_and_no_inline_script(client):
    page = client.get("/api/v1/docs")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="api-docs"' in text
    assert "/static/api/docs.js" in text and "/static/api/docs.css" in text
    assert "<script>" not in text and "style=" not in text and "https://" not in text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    script = client.get("/static/api/docs.js")
    assert script.status_code == 200 and b".innerHTML =" not in script.data
    script.close()
