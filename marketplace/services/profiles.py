"""Company profiles: the SME's enterprise and the provider, and provider verification."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import creditcode
from ..extensions import db
from ..models import (
    Cluster,
    Enterprise,
    Industry,
    Provider,
    ProviderKind,
    Region,
    Role,
    SizeClass,
    Standing,
    Tier,
    User,
)
from ..models._base import utcnow
from . import audit, ownership
from .errors import NotAllowed, NotFound, ValidationFailed
from .regions import region_by_code

CREDIT_CODE_MESSAGES = {
    "length": _l("统一社会信用代码应为 18 位。"),
    "charset": _l("统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V）。"),
    "check": _l("统一社会信用代码校验位不正确，请核对。"),
}


def classify_size(employees: int, revenue_wan: int) -> SizeClass:
    """The size class by the national classification for industrial enterprises.

    The first class (by ``sort``) whose minimum employees and minimum revenue are both met;
    the last class (微型) has no minimum.
    """
    classes = db.session.scalars(select(SizeClass).order_by(SizeClass.sort)).all()
    for size in classes:
        if employees >= size.min_employees and revenue_wan >= size.min_revenue_wan:
            return size
    return classes[-1]


def credit_code_problem(model, code: str, current) -> str | None:
    """Why ``code`` cannot be the credit code of ``current`` (an Enterprise or Provider, or
    None when new): malformed, or already another row's of the same table."""
    reason = creditcode.validate(code)
    if reason:
        return CREDIT_CODE_MESSAGES[reason]
    owner = db.session.scalar(select(model).where(model.credit_code == code))
    if owner is not None and owner is not current:
        return _l("这个统一社会信用代码已被另一家单位使用。")
    return None


@dataclass(frozen=True)
class EnterpriseData:
    name: str
    credit_code: str
    employees: int
    revenue_wan: int
    county_code: str
    industry_code: str
    cluster_code: str | None
    chain_leader_id: int | None


def _by_code(model, code):
    return db.session.get(model, code) if code else None


def _county(code: str) -> Region | None:
    region = region_by_code(code)
    return region if region is not None and region.level == "county" else None


def enterprise_problems(data: EnterpriseData, current: Enterprise | None) -> dict:
    errors = {}
    problem = credit_code_problem(Enterprise, creditcode.normalize(data.credit_code), current)
    if problem:
        errors["credit_code"] = problem
        if current is None and ownership.claimable(data.credit_code) is not None:
            errors["credit_code"] = _l("这家企业已由主管部门通过需求清单录入，"
                                       "请在下方申请认领。")
    if _county(data.county_code) is None:
        errors["county_code"] = _l("请选择企业所在的县（市、区）。")
    if _by_code(Industry, data.industry_code) is None:
        errors["industry_code"] = _l("请选择行业门类。")
    if data.cluster_code and _by_code(Cluster, data.cluster_code) is None:
        errors["cluster_code"] = _l("没有这个产业集群。")
    if data.chain_leader_id is not None:
        leader = db.session.get(Enterprise, data.chain_leader_id)
        if leader is None or not leader.is_chain_leader or leader is current:
            errors["chain_leader_id"] = _l("请选择列表中的链主企业。")
    return errors


def save_enterprise(actor: User, data: EnterpriseData) -> Enterprise:
    """Create the actor's enterprise, or update it."""
    if not actor.is_sme:
        raise NotAllowed(_l("只有企业用户可以维护企业信息。"))
    current = actor.enterprise
    errors = enterprise_problems(data, current)
    if errors:
        raise ValidationFailed(errors)
    enterprise = current or Enterprise()
    enterprise.name = data.name.strip()
    enterprise.credit_code = creditcode.normalize(data.credit_code)
    enterprise.employees = data.employees
    enterprise.revenue_wan = data.revenue_wan
    enterprise.size_class = classify_size(data.employees, data.revenue_wan)
    enterprise.county = _county(data.county_code)
    enterprise.industry_code = data.industry_code
    enterprise.cluster_code = data.cluster_code or None
    enterprise.chain_leader_id = data.chain_leader_id
    if current is None:
        db.session.add(enterprise)
        actor.enterprise = enterprise
    _flush_unique_credit_code()
    audit.record(actor, "save_enterprise", enterprise, region_id=enterprise.county_id)
    return enterprise


def _flush_unique_credit_code() -> None:
    """The checks above ran before the write; a concurrent save of the same code loses here."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed(
            {"credit_code": _l("这个统一社会信用代码已被另一家单位使用。")}) from None


def chain_leaders() -> list[Enterprise]:
    return list(
        db.session.scalars(
            select(Enterprise).where(Enterprise.is_chain_leader).order_by(Enterprise.name)
        )
    )


@dataclass(frozen=True)
class ProviderData:
    name: str
    credit_code: str
    kind: str
    tier: str
    description: str
    contact_name: str
    phone: str
    region_codes: tuple[str, ...]
    lead_enterprise_id: int | None


def _check_provider(data: ProviderData, current: Provider | None) -> dict:
    errors = {}
    problem = credit_code_problem(Provider, creditcode.normalize(data.credit_code), current)
    if problem:
        errors["credit_code"] = problem
    if data.kind not in ProviderKind.ALL:
        errors["kind"] = _l("请选择单位类型。")
    if data.tier not in Tier.ALL:
        errors["tier"] = _l("请选择平台等级。")
    if not data.region_codes or len(_regions(data.region_codes)) != len(set(data.region_codes)):
        errors["region_codes"] = _l("请至少选择一个服务地区。")
    if data.lead_enterprise_id is not None:
        leader = db.session.get(Enterprise, data.lead_enterprise_id)
        if leader is None or not leader.is_chain_leader:
            errors["lead_enterprise_id"] = _l("请选择列表中的链主企业。")
    return errors


def _regions(codes) -> list[Region]:
    return list(db.session.scalars(select(Region).where(Region.code.in_(set(codes)))))


def save_provider(actor: User, data: ProviderData) -> Provider:
    """Create the actor's provider profile, or update it.

    Changing the name, credit code, tier or chain-leader link of a verified provider sends
    it back to verification: those are what the admin checked.
    """
    if not actor.is_provider:
        raise NotAllowed(_l("只有服务商用户可以维护服务商信息。"))
    current = actor.provider
    errors = _check_provider(data, current)
    if errors:
        raise ValidationFailed(errors)
    provider = current or Provider()
    checked = (provider.name, provider.credit_code, provider.tier, provider.lead_enterprise_id)
    provider.name = data.name.strip()
    provider.credit_code = creditcode.normalize(data.credit_code)
    provider.kind = data.kind
    provider.tier = data.tier
    provider.description = data.description.strip()
    provider.contact_name = data.contact_name.strip()
    provider.phone = data.phone.strip()
    provider.regions_served = _regions(data.region_codes)
    provider.lead_enterprise_id = data.lead_enterprise_id
    now_checked = (provider.name, provider.credit_code, provider.tier, provider.lead_enterprise_id)
    if current is None:
        db.session.add(provider)
        actor.provider = provider
    elif provider.verified and checked != now_checked:
        provider.verified = False
        provider.verified_at = None
    _flush_unique_credit_code()
    audit.record(actor, "save_provider", provider)
    return provider


def verify_provider(actor: User, provider: Provider, verified: bool) -> None:
    if not actor.is_admin:
        raise NotAllowed(_l("只有管理员可以认证服务商。"))
    provider.verified = verified
    provider.verified_at = utcnow() if verified else None
    audit.record(actor, "verify_provider" if verified else "unverify_provider", provider)


def set_standing(actor: User, provider: Provider, standing: str) -> None:
    """The province's prefer/eliminate mark (优选/淘汰): preferred providers rank higher in
    recommendations; an eliminated provider's packages leave search and recommendations."""
    if not actor.is_admin:
        raise NotAllowed(_l("只有管理员可以标记优选或淘汰。"))
    if standing not in Standing.ALL:
        raise ValidationFailed({"standing": _l("没有这种标记。")})
    before, provider.standing = provider.standing, standing
    audit.record(actor, "set_standing", provider, before=before, after=standing)


def providers_awaiting_verification() -> list[Provider]:
    return list(
        db.session.scalars(
            select(Provider).where(Provider.verified.is_(False)).order_by(Provider.created_at)
        )
    )


def role_has_profile(user: User) -> bool:
    if user.role == Role.SME:
        return user.enterprise_id is not None
    if user.role == Role.PROVIDER:
        return user.provider_id is not None
    return True


def get_enterprise(actor: User, enterprise_id: int) -> Enterprise:
    """The enterprise profile if ``actor`` may see it (404 otherwise); officials' and admins'
    reads are audited: the profile holds revenue and the credit code."""
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None or not enterprise.can_view(actor):
        raise NotFound()
    if actor.enterprise_id != enterprise.id:
        audit.record(actor, "view_enterprise", enterprise, region_id=enterprise.county_id)
    return enterprise


def get_provider(actor: User, provider_id: int) -> Provider:
    provider = db.session.get(Provider, provider_id)
    if provider is None or not provider.can_view(actor):
        raise NotFound()
    return provider


def provider_list(pending: bool):
    """Providers for the admin's verification list, those awaiting verification first."""
    query = select(Provider).order_by(Provider.verified, Provider.created_at.desc())
    return query.where(Provider.verified.is_(False)) if pending else query
