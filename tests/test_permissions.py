"""Who may see or change what: one row per endpoint and object, one column per role.

404 where one may not know the object exists, 403 where one may know but not act, 302 where
the login page (anonymous) or the next page (an allowed action) follows. A new endpoint without
a row here fails ``test_every_endpoint_has_rows``.
"""

from datetime import date

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    DealRequest,
    LedgerEntry,
    Order,
    Region,
    SubsidyClaim,
    SubsidyProgram,
    User,
)
from tests.conftest import AuthActions

ROLES = ("anon", "sme", "sme_other", "provider", "provider_other", "gov_county",
         "gov_other_county", "gov_city", "admin")


def row(anon, sme, sme_other, provider, provider_other, gov_county, gov_other_county, gov_city,
        admin):
    return dict(zip(ROLES, (anon, sme, sme_other, provider, provider_other, gov_county,
                            gov_other_county, gov_city, admin), strict=True))


ALL_200 = row(*[200] * 9)
LOGGED_IN_200 = row(302, *[200] * 8)
ADMIN_ONLY = row(302, 403, 403, 403, 403, 403, 403, 403, 200)
ADMIN_ACTS = row(302, 403, 403, 403, 403, 403, 403, 403, 302)
PROVIDER_ONLY = row(302, 403, 403, 200, 200, 403, 403, 403, 403)
ENTERPRISE_VIEW = row(302, 200, 404, 404, 404, 200, 404, 200, 200)
DEAL_PARTIES = row(302, 200, 404, 200, 404, 404, 404, 404, 200)
ORDER_VIEW = row(302, 200, 404, 200, 404, 200, 404, 200, 200)
PROVIDER_FORM = row(302, 403, 403, 400, 404, 403, 403, 403, 403)
SME_ONLY = row(302, 200, 200, 403, 403, 403, 403, 403, 403)
SME_FORM = row(302, 400, 404, 403, 403, 403, 403, 403, 403)
SME_ORDER_FORM = row(302, 400, 404, 403, 403, 403, 403, 403, 403)
GOV_ONLY = row(302, 403, 403, 403, 403, 200, 200, 200, 403)
API_LOGGED_IN = row(401, *[200] * 8)
API_SME_BODY = row(401, 415, 415, 403, 403, 403, 403, 403, 403)
API_SME_ORDER_BODY = row(401, 415, 404, 403, 403, 403, 403, 403, 403)
API_PROVIDER_BODY = row(401, 403, 403, 415, 404, 403, 403, 403, 403)
OFFICIALS = row(302, 403, 403, 403, 403, 200, 200, 200, 200)

# (endpoint, method, path, expected by role); {placeholders} come from the world fixture.
TABLE = [
    ("main.index", "GET", "/", ALL_200),
    ("main.dashboard", "GET", "/dashboard", LOGGED_IN_200),
    ("main.set_language", "POST", "/lang/en", row(*[302] * 9)),
    ("auth.login", "GET", "/auth/login", row(200, *[302] * 8)),
    ("auth.register", "GET", "/auth/register", row(200, *[302] * 8)),
    ("auth.logout", "POST", "/auth/logout", row(*[302] * 9)),
    ("auth.change_password", "GET", "/auth/password", LOGGED_IN_200),
    ("auth.forgot_password", "GET", "/auth/forgot", row(200, *[302] * 8)),
    # e-mailed links: a reset link works for whoever holds it; a registration link is for
    # someone without an account
    ("auth.reset_password", "GET", "/auth/reset/{reset_token}", ALL_200),
    ("auth.complete_registration", "GET", "/auth/register/{signup_token}",
     row(200, *[302] * 8)),
    ("auth.login_by_link", "GET", "/auth/login-link/{login_token}", ALL_200),
    ("profiles.mine", "GET", "/profile/", row(302, 302, 302, 302, 302, 200, 200, 200, 200)),
    ("profiles.edit", "GET", "/profile/edit", row(302, 200, 200, 200, 200, 403, 403, 403, 403)),
    ("profiles.enterprise", "GET", "/profile/enterprise/{enterprise}", ENTERPRISE_VIEW),
    ("profiles.provider", "GET", "/profile/provider/{provider}", ALL_200),
    ("profiles.provider", "GET", "/profile/provider/{unverified_provider}",
     row(404, 404, 404, 404, 404, 200, 200, 200, 200)),
    ("needs.index", "GET", "/needs/", LOGGED_IN_200),
    ("needs.create", "GET", "/needs/new", row(302, 200, 200, 403, 403, 403, 403, 403, 403)),
    # the provider was asked for a package against the private need: it may see it now
    ("needs.detail", "GET", "/needs/{private_need}", ORDER_VIEW),
    ("needs.detail", "GET", "/needs/{public_need}", LOGGED_IN_200),
    ("needs.edit", "GET", "/needs/{private_need}/edit",
     row(302, 200, 404, 403, 404, 403, 404, 403, 403)),
    ("needs.edit", "GET", "/needs/{public_need}/edit",
     row(302, 200, 403, 403, 403, 403, 403, 403, 403)),
    ("needs.change_status", "POST", "/needs/{private_need}/close",
     row(302, 302, 404, 403, 404, 403, 404, 403, 403)),
    ("needs.change_status", "POST", "/needs/{public_need}/close",
     row(302, 302, 403, 403, 403, 403, 403, 403, 403)),
    # the page's impressions beacon; the owner sent no receipt (400)
    ("needs.record_impressions", "POST", "/needs/{private_need}/impressions",
     row(302, 400, 404, 403, 404, 403, 404, 403, 403)),
    ("packages.index", "GET", "/packages/", ALL_200),
    ("packages.mine", "GET", "/packages/mine", PROVIDER_ONLY),
    ("packages.create", "GET", "/packages/new", PROVIDER_ONLY),
    ("packages.leads", "GET", "/packages/leads", PROVIDER_ONLY),
    ("find.index", "GET", "/search/?q=设备", ALL_200),
    ("find.index", "GET", "/search/?kind=need", ALL_200),
    ("packages.detail", "GET", "/packages/{published}", ALL_200),
    ("packages.detail", "GET", "/packages/{draft}", row(404, 404, 404, 200, 404, 404, 404, 404,
                                                         200)),
    ("packages.edit", "GET", "/packages/{published}/edit",
     row(302, 403, 403, 200, 403, 403, 403, 403, 403)),
    ("packages.edit", "GET", "/packages/{draft}/edit",
     row(302, 403, 403, 200, 404, 403, 403, 403, 403)),
    ("packages.change_status", "POST", "/packages/{draft}/publish",
     row(302, 403, 403, 302, 404, 403, 403, 403, 403)),
    ("packages.change_status", "POST", "/packages/{published}/archive",
     row(302, 403, 403, 302, 403, 403, 403, 403, 403)),
    ("deals.index", "GET", "/deals/", LOGGED_IN_200),
    ("deals.notifications", "GET", "/deals/notifications", LOGGED_IN_200),
    ("deals.mark_read", "POST", "/deals/notifications/read", row(*[302] * 9)),
    ("deals.create_request", "POST", "/deals/request",
     row(302, 404, 404, 403, 403, 403, 403, 403, 403)),
    ("deals.request_detail", "GET", "/deals/requests/{deal}", DEAL_PARTIES),
    ("deals.quote", "POST", "/deals/requests/{deal}/quote", PROVIDER_FORM),
    ("deals.decline", "POST", "/deals/requests/{deal}/decline", PROVIDER_FORM),
    ("deals.accept", "POST", "/deals/requests/{deal}/accept", SME_FORM),
    ("deals.withdraw", "POST", "/deals/requests/{deal}/withdraw",
     row(302, 302, 404, 403, 403, 403, 403, 403, 403)),
    ("deals.order_detail", "GET", "/deals/orders/{order}", ORDER_VIEW),
    ("deals.order_step", "POST", "/deals/orders/{order}/deliver",
     row(302, 403, 404, 302, 404, 403, 404, 403, 403)),
    ("deals.dispute", "POST", "/deals/orders/{order}/dispute", SME_ORDER_FORM),
    ("deals.review", "POST", "/deals/orders/{order}/review", SME_ORDER_FORM),
    ("deals.reply", "POST", "/deals/orders/{order}/reply",
     row(302, 403, 403, 400, 404, 403, 403, 403, 403)),
    ("deals.dismiss", "POST", "/deals/dismiss", row(302, 400, 400, 403, 403, 403, 403, 403, 403)),
    ("deals.cancel", "POST", "/deals/orders/{order}/cancel",
     row(302, 400, 404, 400, 404, 403, 403, 403, 403)),
    ("subsidies.index", "GET", "/subsidies/", LOGGED_IN_200),
    ("subsidies.create_program", "GET", "/subsidies/programs/new", GOV_ONLY),
    ("subsidies.program", "GET", "/subsidies/programs/{program}", LOGGED_IN_200),
    ("subsidies.program", "GET", "/subsidies/programs/{draft_program}",
     row(302, 404, 404, 404, 404, 200, 404, 200, 200)),
    ("subsidies.edit_program", "GET", "/subsidies/programs/{draft_program}/edit",
     row(302, 403, 403, 403, 403, 200, 404, 200, 403)),
    # a closed program cannot be activated: managers reach the state check (409)
    ("subsidies.change_program_status", "POST", "/subsidies/programs/{closed_program}/activate",
     row(302, 403, 403, 403, 403, 409, 403, 409, 403)),
    ("subsidies.adjust", "POST", "/subsidies/programs/{program}/adjust",
     row(302, 403, 403, 403, 403, 400, 403, 400, 403)),
    ("subsidies.claims", "GET", "/subsidies/claims",
     row(302, 200, 200, 403, 403, 200, 200, 200, 200)),
    ("subsidies.bulk_approve", "POST", "/subsidies/claims/approve",
     row(302, 403, 403, 403, 403, 302, 302, 302, 403)),
    ("subsidies.claim", "GET", "/subsidies/claims/{claim}",
     row(302, 200, 404, 404, 404, 200, 404, 200, 200)),
    # the delivery is not accepted yet: officials of the region reach the state check (409)
    ("subsidies.decide", "POST", "/subsidies/claims/{claim}/approve",
     row(302, 403, 403, 403, 403, 409, 404, 409, 403)),
    # the subsidy log is the audit trail filtered to subsidies
    ("subsidies.audit_log", "GET", "/subsidies/audit",
     row(302, 403, 403, 403, 403, 302, 302, 302, 302)),
    ("stats.index", "GET", "/stats/", OFFICIALS),
    ("stats.index", "GET", "/stats/?region_code=320505",
     row(302, 403, 403, 403, 403, 200, 400, 200, 200)),
    ("stats.export", "GET", "/stats/export/funnel.csv", OFFICIALS),
    ("stats.export", "GET", "/stats/export/all.xlsx", OFFICIALS),
    ("stats.report", "GET", "/stats/report?year=2026", OFFICIALS),
    # the ranking is public; admins also see the eliminated and the 优选/淘汰 buttons
    ("ranking.index", "GET", "/ranking/", ALL_200),
    ("ranking.index", "GET", "/ranking/?region_code=320505&kind=platform&page=2", ALL_200),
    ("ranking.export", "GET", "/ranking/export.xlsx?category_code=device_monitoring", ALL_200),
    ("ranking.export", "GET", "/ranking/export.csv?tier=nowhere", row(*[400] * 9)),
    ("diagnosis.index", "GET", "/diagnosis/", SME_ONLY),
    ("diagnosis.start", "GET", "/diagnosis/new", SME_ONLY),
    ("diagnosis.result", "GET", "/diagnosis/results/{diagnosis}",
     row(302, 200, 404, 403, 403, 403, 403, 403, 200)),
    ("diagnosis.post_suggestion", "POST",
     "/diagnosis/results/{diagnosis}/needs/equipment-monitoring",
     row(302, 302, 404, 403, 403, 403, 403, 403, 403)),
    ("diagnosis.overview", "GET", "/diagnosis/overview",
     row(302, 403, 403, 403, 403, 200, 200, 200, 200)),
    ("imports.index", "GET", "/imports/", row(302, 403, 403, 403, 403, 200, 200, 200, 200)),
    ("imports.upload", "GET", "/imports/new", row(302, 403, 403, 403, 403, 200, 200, 200, 200)),
    ("imports.template", "GET", "/imports/template.xlsx",
     row(302, 403, 403, 403, 403, 200, 200, 200, 200)),
    ("imports.ownership_requests", "GET", "/imports/ownership", OFFICIALS),
    ("imports.decide_ownership", "POST", "/imports/ownership/{ownership_request}",
     row(302, 403, 403, 403, 403, 400, 404, 400, 400)),
    ("profiles.request_ownership", "POST", "/profile/ownership", row(*[302] + [403] * 8)),
    ("imports.detail", "GET", "/imports/{import_batch}",
     row(302, 403, 403, 403, 403, 200, 404, 200, 200)),
    ("imports.report", "GET", "/imports/{import_batch}/report.csv",
     row(302, 403, 403, 403, 403, 200, 404, 200, 200)),
    ("cases.index", "GET", "/cases/?q=案例&category_code=quality", ALL_200),
    ("cases.mine", "GET", "/cases/mine", row(302, 200, 200, 200, 200, 403, 403, 403, 403)),
    ("cases.review", "GET", "/cases/review", row(302, 403, 403, 403, 403, 200, 200, 200, 200)),
    # the world's order is not accepted yet, and already has a case: the parties get 409
    ("cases.create", "GET", "/cases/new/{order}", row(302, 409, 404, 409, 404, 403, 403, 403, 403)),
    ("cases.detail", "GET", "/cases/{case}", row(404, 200, 404, 200, 404, 200, 404, 200, 200)),
    ("cases.edit", "GET", "/cases/{case}/edit", row(302, 409, 404, 409, 404, 403, 403, 403, 403)),
    ("cases.step", "POST", "/cases/{case}/confirm",
     row(302, 409, 404, 409, 404, 403, 404, 403, 403)),
    ("cases.feature", "POST", "/cases/{case}/feature",
     row(302, 403, 403, 403, 403, 409, 404, 409, 409)),
    # matchmaking events of the SME's county: {event} open for registration (the SME and the
    # provider registered, one proposed meeting), {draft_event}, {finished_event} (one meeting)
    ("events.index", "GET", "/events/", LOGGED_IN_200),
    ("events.index", "GET", "/events/?region_code=320505&cluster_code=high_end_equipment&past=y",
     LOGGED_IN_200),
    ("events.create", "GET", "/events/new", GOV_ONLY),
    ("events.detail", "GET", "/events/{event}", LOGGED_IN_200),
    ("events.detail", "GET", "/events/{draft_event}",
     row(302, 404, 404, 404, 404, 200, 404, 200, 200)),
    ("events.detail", "GET", "/events/{finished_event}", LOGGED_IN_200),
    ("events.edit", "GET", "/events/{event}/edit",
     row(302, 403, 403, 403, 403, 200, 403, 200, 403)),
    ("events.edit", "GET", "/events/{draft_event}/edit",
     row(302, 403, 403, 403, 403, 200, 404, 200, 403)),
    # an open event cannot be finished yet: its managers reach the state check (409)
    ("events.change_status", "POST", "/events/{event}/finish",
     row(302, 403, 403, 403, 403, 409, 403, 409, 403)),
    ("events.cancel", "POST", "/events/{event}/cancel",
     row(302, 403, 403, 403, 403, 400, 403, 400, 403)),
    ("events.registrations", "GET", "/events/{event}/registrations",
     row(302, 403, 403, 403, 403, 200, 403, 200, 200)),
    ("events.schedule", "GET", "/events/{event}/schedule",
     row(302, 403, 403, 403, 403, 200, 403, 200, 200)),
    ("events.schedule_step", "POST", "/events/{finished_event}/schedule/publish",
     row(302, 403, 403, 403, 403, 409, 403, 409, 403)),
    ("events.add_meeting", "POST", "/events/{event}/meetings",
     row(302, 403, 403, 403, 403, 400, 403, 400, 403)),
    # an unpublished proposal is the organisers' alone
    ("events.move_meeting", "POST", "/events/meetings/{meeting}/move",
     row(302, 403, 403, 403, 403, 400, 404, 400, 403)),
    ("events.remove_meeting", "POST", "/events/meetings/{finished_meeting}/remove",
     row(302, 403, 403, 403, 403, 409, 404, 409, 403)),
    # the SME and the provider registered already (409); the other SME and provider may
    ("events.registration", "POST", "/events/{event}/register",
     row(302, 409, 302, 409, 302, 403, 403, 403, 403)),
    ("events.outcome", "POST", "/events/meetings/{finished_meeting}/outcome",
     row(302, 400, 404, 400, 404, 403, 403, 403, 403)),
    # 链式转型: the SME's enterprise is an approved 链主 that invited the other SME (pending);
    # {chain_application} is a third enterprise's pending application (its county: 320505)
    ("chains.index", "GET", "/chains/", SME_ONLY),
    ("chains.apply", "POST", "/chains/apply", row(302, 400, 400, 403, 403, 403, 403, 403, 403)),
    ("chains.join", "POST", "/chains/join", row(302, 400, 400, 403, 403, 403, 403, 403, 403)),
    ("chains.workspace", "GET", "/chains/workspace",
     row(302, 200, 403, 403, 403, 403, 403, 403, 403)),
    ("chains.invite", "POST", "/chains/invite", row(302, 400, 403, 403, 403, 403, 403, 403, 403)),
    ("chains.message", "POST", "/chains/message", row(302, 400, 403, 403, 403, 403, 403, 403, 403)),
    ("chains.invite_upload", "POST", "/chains/invite/upload",
     row(302, 400, 403, 403, 403, 403, 403, 403, 403)),
    # a provider sees the chains whose 链主 named it as their platform (none here)
    ("chains.platform", "GET", "/chains/platform", PROVIDER_ONLY),
    # only the invited side confirms; the inviter reaches the state check (409)
    ("chains.membership_step", "POST", "/chains/memberships/{chain_invitation}/accept",
     row(302, 409, 302, 403, 403, 403, 403, 403, 403)),
    ("chains.membership_step", "POST", "/chains/memberships/{chain_invitation}/nonsense",
     row(302, 404, 404, 403, 403, 403, 403, 403, 403)),
    ("chains.applications", "GET", "/chains/applications", OFFICIALS),
    # the county official sees the application but the city or the province decides
    ("chains.decide", "POST", "/chains/applications/{chain_application}/decide",
     row(302, 403, 403, 403, 403, 403, 404, 400, 403)),
    ("chains.revoke", "POST", "/chains/applications/{leader_application}/revoke",
     row(302, 403, 403, 403, 403, 403, 403, 403, 400)),
    ("chains.designate", "POST", "/chains/designate",
     row(302, 403, 403, 403, 403, 400, 400, 400, 403)),
    ("admin.providers", "GET", "/admin/providers", ADMIN_ONLY),
    ("admin.verify_provider", "POST", "/admin/providers/{unverified_provider}/verify", ADMIN_ACTS),
    ("admin.set_standing", "POST", "/admin/providers/{provider}/standing/preferred", ADMIN_ACTS),
    ("admin.users", "GET", "/admin/users", ADMIN_ONLY),
    ("admin.create_user", "GET", "/admin/users/new", ADMIN_ONLY),
    ("admin.set_active", "POST", "/admin/users/{sme_other_user}/disable", ADMIN_ACTS),
    ("admin.force_password_reset", "POST", "/admin/users/{sme_other_user}/reset-password",
     ADMIN_ACTS),
    ("admin.reference", "GET", "/admin/reference/industries", ADMIN_ONLY),
    ("admin.rename", "GET", "/admin/reference/industries/C34", ADMIN_ONLY),
    # the audit trail: officials read their region's entries, admins all (filters ignored
    # when malformed)
    ("admin.audit_log", "GET", "/admin/audit", OFFICIALS),
    ("admin.audit_log", "GET", "/admin/audit?object_group=need&action=update_need&actor=用户"
     "&since=2026-01-01&until=2026-12-31&page=2", OFFICIALS),
    ("admin.audit_log", "GET", "/admin/audit?object_group=x&action=drop%20table&since=2026-02-30",
     OFFICIALS),
    # API tokens on the profile; the token belongs to the SME
    ("profiles.tokens", "GET", "/profile/tokens", LOGGED_IN_200),
    ("profiles.revoke_token", "POST", "/profile/tokens/{token}/revoke",
     row(302, 302, 404, 404, 404, 404, 404, 404, 404)),
    # The JSON API (cookie callers here): 401 instead of the login page; a write without a
    # JSON body reaches 415 only past the role and object checks.
    ("api.index", "GET", "/api/v1/", ALL_200),
    ("api.openapi_document", "GET", "/api/v1/openapi.json", ALL_200),
    ("api.docs_page", "GET", "/api/v1/docs", ALL_200),
    ("api.unknown", "GET", "/api/v1/no/such/thing", row(*[404] * 9)),
    ("api.me", "GET", "/api/v1/me", API_LOGGED_IN),
    ("api.list_packages", "GET", "/api/v1/packages", ALL_200),
    ("api.get_package", "GET", "/api/v1/packages/{published}", ALL_200),
    ("api.get_package", "GET", "/api/v1/packages/{draft}",
     row(404, 404, 404, 200, 404, 404, 404, 404, 200)),
    ("api.subsidy_quote", "GET", "/api/v1/packages/{published}/subsidy",
     row(401, 200, 200, 403, 403, 403, 403, 403, 403)),
    ("api.list_needs", "GET", "/api/v1/needs", API_LOGGED_IN),
    ("api.get_need", "GET", "/api/v1/needs/{public_need}", API_LOGGED_IN),
    ("api.get_need", "GET", "/api/v1/needs/{private_need}",
     row(401, 200, 404, 200, 404, 200, 404, 200, 200)),
    ("api.create_need", "POST", "/api/v1/needs", API_SME_BODY),
    ("api.update_need", "PATCH", "/api/v1/needs/{private_need}",
     row(401, 415, 404, 403, 404, 403, 404, 403, 403)),
    ("api.change_need_status", "POST", "/api/v1/needs/{private_need}/close",
     row(401, 200, 404, 403, 404, 403, 404, 403, 403)),
    ("api.recommendations", "GET", "/api/v1/needs/{public_need}/recommendations",
     row(401, 200, 403, 403, 403, 403, 403, 403, 403)),
    ("api.search_index", "GET", "/api/v1/search?q=设备", ALL_200),
    ("api.search_index", "GET", "/api/v1/search?kind=need", API_LOGGED_IN),
    ("api.region_stats", "GET", "/api/v1/stats/region",
     row(401, 403, 403, 403, 403, 200, 200, 200, 403)),
    ("api.list_requests", "GET", "/api/v1/deals/requests", API_LOGGED_IN),
    ("api.get_request", "GET", "/api/v1/deals/requests/{deal}",
     row(401, 200, 404, 200, 404, 404, 404, 404, 200)),
    ("api.create_request", "POST", "/api/v1/deals/requests", API_SME_BODY),
    ("api.quote", "POST", "/api/v1/deals/requests/{deal}/quote", API_PROVIDER_BODY),
    ("api.decline", "POST", "/api/v1/deals/requests/{deal}/decline", API_PROVIDER_BODY),
    ("api.withdraw", "POST", "/api/v1/deals/requests/{deal}/withdraw",
     row(401, 200, 404, 403, 403, 403, 403, 403, 403)),
    ("api.accept", "POST", "/api/v1/deals/requests/{deal}/accept",
     row(401, 415, 404, 403, 403, 403, 403, 403, 403)),
    ("api.list_orders", "GET", "/api/v1/deals/orders", API_LOGGED_IN),
    ("api.get_order", "GET", "/api/v1/deals/orders/{order}",
     row(401, 200, 404, 200, 404, 200, 404, 200, 200)),
    ("api.deliver", "POST", "/api/v1/deals/orders/{order}/deliver",
     row(401, 403, 404, 200, 404, 403, 404, 403, 403)),
    # not delivered yet: the enterprise reaches the state check (409)
    ("api.accept_delivery", "POST", "/api/v1/deals/orders/{order}/accept",
     row(401, 409, 404, 403, 404, 403, 404, 403, 403)),
    ("api.dispute", "POST", "/api/v1/deals/orders/{order}/dispute", API_SME_ORDER_BODY),
    ("api.cancel", "POST", "/api/v1/deals/orders/{order}/cancel",
     row(401, 415, 404, 415, 404, 403, 403, 403, 403)),
    ("api.review", "POST", "/api/v1/deals/orders/{order}/review", API_SME_ORDER_BODY),
    # no review yet: nothing to reply to
    ("api.reply", "POST", "/api/v1/deals/orders/{order}/reply",
     row(401, 403, 403, 404, 404, 403, 403, 403, 403)),
]
FRAMEWORK_ENDPOINTS = {"static", "bootstrap.static"}


@pytest.fixture
def world(app, make_user, make_provider, make_need, make_package, make_enterprise):
    users = {
        "sme": make_user(), "sme_other": make_user(),
        "provider": make_user(role="provider"), "provider_other": make_user(role="provider"),
        "gov_county": make_user(role="gov", region_code="320505"),
        "gov_other_county": make_user(role="gov", region_code="320506"),
        "gov_city": make_user(role="gov", region_code="320500"),
        "admin": make_user(role="admin"),
    }
    with app.app_context():
        enterprise = db.session.get(User, users["sme"].id).enterprise_id
        provider = db.session.get(User, users["provider"].id).provider_id
    ids = {
        "enterprise": enterprise, "provider": provider,
        "unverified_provider": make_provider(name="未认证服务商", verified=False).id,
        "private_need": make_need(enterprise, visibility="private"),
        "public_need": make_need(enterprise),
        "published": make_package(provider),
        "draft": make_package(provider, status="draft"),
        "sme_other_user": users["sme_other"].id,
    }
    imported, claimant = make_enterprise(name="导入的模具厂").id, make_user(company=False).id
    applicant = make_enterprise(name="申请链主的装备集团").id
    with app.app_context():
        deal = DealRequest(need_id=ids["public_need"], package_id=ids["published"],
                           enterprise_id=enterprise, provider_id=provider)
        ordered = DealRequest(need_id=ids["private_need"], package_id=ids["published"],
                              enterprise_id=enterprise, provider_id=provider, status="ordered")
        db.session.add_all([deal, ordered])
        db.session.flush()
        order = Order(need_id=ids["private_need"], request_id=ordered.id,
                      package_id=ids["published"], enterprise_id=enterprise,
                      provider_id=provider, amount_fen=100, scope="范围", delivery_days=5,
                      due_date=date(2027, 1, 1))
        db.session.add(order)
        db.session.commit()
        ids.update(deal=deal.id, order=order.id)
        ids.update(subsidy_world(order))
        ids["diagnosis"] = diagnosis_result(enterprise)
        ids["case"] = typical_case(order)
        ids["import_batch"] = import_batch(users["gov_county"].id)
        ids["ownership_request"] = ownership_request(ids["import_batch"], imported, claimant)
        ids["token"] = api_token(users["sme"].id)
        ids.update(account_links(users["sme_other"].id))
        ids.update(matchmaking_events(users, enterprise, provider))
        ids.update(chain_world(users, enterprise, applicant))
    return users, ids


def chain_world(users: dict, enterprise: int, applicant: int) -> dict:
    """The SME's enterprise approved as 链主 by the city, its invitation to the other SME's
    enterprise (pending), and another enterprise's application waiting for a decision."""
    from marketplace.services import chains

    with db.session.no_autoflush:
        sme, other, city = (db.session.get(User, users[k].id)
                            for k in ("sme", "sme_other", "gov_city"))
    evidence = chains.LeaderEvidence(revenue_wan=900_000, supplier_count=80, platform_id=None,
                                     evidence="省内主机厂，配套企业八十家。")
    approved = chains.apply_for_leader(sme, evidence)
    chains.decide_application(city, approved, True, "")
    invitation = chains.invite_supplier(sme, other.enterprise.credit_code, "")
    applicant_user = User(email="leader-applicant@example.com", display_name="申请人",
                          role="sme", password_hash="x", enterprise_id=applicant)
    db.session.add(applicant_user)
    db.session.flush()
    pending = chains.apply_for_leader(applicant_user, evidence)
    db.session.commit()
    return {"leader_application": approved.id, "chain_invitation": invitation.id,
            "chain_application": pending.id}


def subsidy_world(order: Order) -> dict:
    """Programs of the SME's county (active, draft, closed) and a claim on its order."""
    county = db.session.scalar(select(Region).where(Region.code == "320505"))
    programs = {}
    for name, status in (("program", "active"), ("draft_program", "draft"),
                         ("closed_program", "closed")):
        program = SubsidyProgram(region_id=county.id, name=f"补贴{name}", mode="percent",
                                 rate_bp=5000, per_order_cap_fen=50, per_enterprise_cap_fen=50,
                                 starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31),
                                 status=status)
        db.session.add(program)
        db.session.flush()
        db.session.add(LedgerEntry(program_id=program.id, kind="adjust", amount_fen=1000))
        programs[name] = program.id
    claim = SubsidyClaim(program_id=programs["program"], order_id=order.id,
                         enterprise_id=order.enterprise_id, year=2026, order_amount_fen=100,
                         amount_fen=50)
    db.session.add(claim)
    db.session.flush()
    db.session.add(LedgerEntry(program_id=claim.program_id, claim_id=claim.id, kind="reserve",
                               amount_fen=50))
    db.session.commit()
    return {**programs, "claim": claim.id}


def typical_case(order: Order) -> int:
    """A case of the world's order that both parties agreed on, waiting for the curators."""
    from marketplace.models import CaseMetric, TypicalCase

    case = TypicalCase(order_id=order.id, package_id=order.package_id,
                       enterprise_id=order.enterprise_id, provider_id=order.provider_id,
                       title="案例", problem="问题" * 10, solution="方案" * 10, results="效果" * 10,
                       status="submitted", submitted_by="sme",
                       metrics=[CaseMetric(name="开机率", value_before=60, value_after=85)])
    db.session.add(case)
    db.session.commit()
    return case.id


def diagnosis_result(enterprise_id: int) -> int:
    """A self-assessment of the SME with nothing digital (its plan starts with equipment)."""
    from marketplace.models import DiagnosisResult
    from marketplace.services.diagnosis import load_questionnaire

    questionnaire = load_questionnaire()
    result = DiagnosisResult(enterprise_id=enterprise_id, version=questionnaire.version,
                             answers={q.code: "a" for q in questionnaire.questions}, score=0.0,
                             level=1, dimension_scores={})
    db.session.add(result)
    db.session.commit()
    return result.id


def api_token(user_id: int) -> int:
    """A live API token of the SME."""
    from marketplace.services.tokens import create_token

    token, _secret = create_token(db.session.get(User, user_id), "对接")
    db.session.commit()
    return token.id


def account_links(user_id: int) -> dict:
    """A reset link of the other SME user's password and a registration link of a new
    address, as the e-mails carry them."""
    from marketplace.services import accounts

    return {"reset_token": accounts.password_reset_token(db.session.get(User, user_id)),
            "login_token": accounts.login_token(db.session.get(User, user_id)),
            "signup_token": accounts.registration_token(
                accounts.Registration("li@example.com", "李明", "sme"))}


def import_batch(official_id: int) -> int:
    """A demand-list import by the county official, with one problem row."""
    from marketplace.models import ImportBatch, ImportProblem

    official = db.session.get(User, official_id)
    batch = ImportBatch(region_id=official.region_id, uploaded_by_id=official_id,
                        filename="list.csv", file_format="csv", sha256="0" * 64,
                        visibility="public", rows_total=1, rows_invalid=1)
    batch.problems.append(ImportProblem(row_number=2, kind="invalid", cells=[""] * 9,
                                        reasons={"zh_CN": ["原因"]}))
    db.session.add(batch)
    db.session.commit()
    return batch.id


def ownership_request(batch_id: int, enterprise_id: int, user_id: int) -> int:
    """An SME user without a company asks to take over an enterprise the import created."""
    from marketplace.models import ImportedEnterprise, OwnershipRequest

    db.session.add(ImportedEnterprise(enterprise_id=enterprise_id, batch_id=batch_id))
    found = OwnershipRequest(enterprise_id=enterprise_id, user_id=user_id)
    db.session.add(found)
    db.session.commit()
    return found.id


def matchmaking_events(users: dict, enterprise: int, provider: int) -> dict:
    """Events of the SME's county: open for registration and finished, each with the SME and
    the provider registered and meeting once; and a draft."""
    from datetime import UTC, datetime, timedelta

    from marketplace.models import EventMeeting, EventRegistration, MatchEvent

    county = db.session.scalar(select(Region).where(Region.code == "320505"))
    soon = datetime.now(UTC) + timedelta(days=7)
    made = {}
    for name, status, start in (("event", "open", soon), ("draft_event", "draft", soon),
                                ("finished_event", "finished", soon - timedelta(days=30))):
        event = MatchEvent(region_id=county.id, created_by_id=users["gov_county"].id,
                           title=f"对接会{name}", mode="onsite", place="会议中心",
                           starts_at=start, slot_minutes=20, slot_count=3, table_count=2,
                           meetings_per_sme=2, sme_capacity=10, provider_capacity=10,
                           registration_deadline=start - timedelta(days=2), status=status)
        if status != "draft":
            event.registrations = [EventRegistration(enterprise_id=enterprise),
                                   EventRegistration(provider_id=provider)]
            event.meetings = [EventMeeting(slot_index=0, table_index=0,
                                           enterprise_id=enterprise, provider_id=provider)]
        db.session.add(event)
        db.session.flush()
        made[name] = event.id
        if event.meetings:
            made[name.replace("event", "meeting")] = event.meetings[0].id
    db.session.commit()
    return made


def _order(expected: dict) -> list[str]:
    """Refused roles first, so that a role whose action succeeds cannot change the answer."""
    return sorted(ROLES, key=lambda role: role != "anon" and expected[role] in (200, 302))


@pytest.mark.parametrize(("endpoint", "method", "path", "expected"), TABLE,
                         ids=[f"{endpoint}:{path}" for endpoint, _, path, _ in TABLE])
def test_access(app, world, endpoint, method, path, expected):
    users, ids = world
    for role in _order(expected):
        client = app.test_client()
        if role != "anon":
            assert AuthActions(client, app).login(users[role]).status_code == 302
        response = client.open(path.format(**ids), method=method)
        assert (role, response.status_code) == (role, expected[role])


def test_every_endpoint_has_rows(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - FRAMEWORK_ENDPOINTS
    assert endpoints == {endpoint for endpoint, *_ in TABLE}
