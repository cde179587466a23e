"""Company profiles: the SME's enterprise and the provider, and provider verification."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import creditcode
from ..extensions import db
from ..models import (
    ClaimStatus,
    Cluster,
    Enterprise,
    Industry,
    Provider,
    ProviderKind,
    Region,
    Role,
    SizeClass,
    Standing,
    SubsidyClaim,
    Tier,
    User,
)
from ..models._base import utcnow
from . import audit, ownership
from .errors import NotAllowed, NotFound, ValidationFailed
from .regions import region_by_code
from .txn import begin_write

PROVINCE_PREFIX = "32"  # GB/T 2260: the codes of Jiangsu's regions start with 32
# What a subsidy program's rules read about an enterprise (services.subsidies.Eligibility):
# fixed while a claim is open, so that no claim can be made in one region and approved in
# another (the form field each is refused beside).
ELIGIBILITY_FIELDS = {"county_code": "county_code", "size_class_code": "employees",
                      "industry_code": "industry_code", "cluster_code": "cluster_code"}
# Audited as they are; county and size class are audited too, by code.
AUDITED_COLUMNS = ("name", "credit_code", "employees", "revenue_wan", "industry_code",
                   "cluster_code", "chain_leader_id")
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
class RegionMismatch:
    """The credit code's region digits (positions 3–8) name a region that does not contain
    the enterprise's chosen county. Allowed — a company may have moved, or registered with
    the city — but shown to officials."""

    digits: str
    registered: Region | None  # the county or city those digits name (None: none we know)


def registered_region(credit_code: str) -> Region | None:
    """The region whose authority registered the code: its county if we know the digits,
    else their city (a former county's code still names its city), else None."""
    digits = creditcode.region_digits(credit_code)
    return region_by_code(digits) or region_by_code(digits[:4] + "00")


def region_mismatch(enterprise: Enterprise) -> RegionMismatch | None:
    registered = registered_region(enterprise.credit_code)
    if registered is not None and registered.contains(enterprise.county):
        return None
    return RegionMismatch(creditcode.region_digits(enterprise.credit_code), registered)


@dataclass(frozen=True)
class EnterpriseData:
    name: str
    credit_code: str
    employees: int
    revenue_wan: int
    county_code: str
    industry_code: str
    cluster_code: str | None


def _by_code(model, code):
    return db.session.get(model, code) if code else None


def _county(code: str) -> Region | None:
    region = region_by_code(code)
    return region if region is not None and region.level == "county" else None


def enterprise_problems(data: EnterpriseData, current: Enterprise | None) -> dict:
    errors = {}
    code = creditcode.normalize(data.credit_code)
    problem = credit_code_problem(Enterprise, code, current)
    if problem:
        errors["credit_code"] = problem
        if current is None and ownership.claimable(data.credit_code) is not None:
            errors["credit_code"] = _l("这家企业已由主管部门通过需求清单录入，"
                                       "请在下方申请认领。")
    elif not creditcode.region_digits(code).startswith(PROVINCE_PREFIX):
        errors["credit_code"] = _l(
            "统一社会信用代码第 3–8 位是登记机关所在地的行政区划代码，%(digits)s 不在江苏省："
            "平台只受理在江苏登记的企业，请核对。", digits=creditcode.region_digits(code))
    if _county(data.county_code) is None:
        errors["county_code"] = _l("请选择企业所在的县（市、区）。")
    if _by_code(Industry, data.industry_code) is None:
        errors["industry_code"] = _l("请选择行业门类。")
    if data.cluster_code and _by_code(Cluster, data.cluster_code) is None:
        errors["cluster_code"] = _l("没有这个产业集群。")
    return errors


def lock_enterprise(enterprise: Enterprise) -> Enterprise:
    """The enterprise row locked until the transaction ends, as it is now (PostgreSQL; on
    SQLite the caller holds the write lock, :func:`txn.begin_write`). ``FOR NO KEY UPDATE``:
    rows that merely refer to the enterprise (a need posted meanwhile) do not wait for it."""
    return db.session.scalar(select(Enterprise).where(Enterprise.id == enterprise.id)
                             .with_for_update(key_share=True)
                             .execution_options(populate_existing=True))


def open_claims(enterprise: Enterprise) -> int:
    """How many of the enterprise's subsidy claims are not settled yet (reserved, or approved
    and not paid): their eligibility rests on the profile as it was when they were made."""
    return db.session.scalar(select(func.count()).select_from(SubsidyClaim).where(
        SubsidyClaim.enterprise_id == enterprise.id,
        SubsidyClaim.status.in_((ClaimStatus.RESERVED, ClaimStatus.APPROVED)))) or 0


def _eligibility_refusals(count: int, before: dict, after: dict) -> dict:
    """Messages beside the fields that would change a fact a program's rules read, while
    ``count`` claims of the enterprise are open."""
    changed = [name for name in ELIGIBILITY_FIELDS if count and before[name] != after[name]]
    if not changed:
        return {}
    message = _l("本企业有 %(n)d 笔补贴尚未办结（已预留或已批准、未拨付），补贴按申请时的所在地区、"
                 "规模类型、行业和产业集群审批，办结前不能修改这一项。", n=count)
    errors = {ELIGIBILITY_FIELDS[name]: message for name in changed}
    if "employees" in errors:
        errors["employees"] = _l(
            "按这组从业人员和营业收入，规模类型会从“%(old)s”变为“%(new)s”；本企业有 %(n)d 笔补贴"
            "尚未办结，办结前不能改变规模类型。",
            old=db.session.get(SizeClass, before["size_class_code"]).label,
            new=db.session.get(SizeClass, after["size_class_code"]).label, n=count)
    return errors


def _audited_values(enterprise: Enterprise) -> dict:
    """The audited fields; county and size class read through their relationships, which
    are set before the foreign keys follow (at the flush)."""
    values = audit.values_of(enterprise, AUDITED_COLUMNS)
    values["size_class_code"] = enterprise.size_class.code if enterprise.size_class else None
    values["county_code"] = enterprise.county.code if enterprise.county else None
    return values


def save_enterprise(actor: User, data: EnterpriseData) -> Enterprise:
    """Create the actor's enterprise, or update it. An update keeps its old and new values in
    the audit log; while a subsidy claim of the enterprise is open, its county, size class,
    industry and cluster cannot change (the whole save is refused, beside those fields)."""
    if not actor.is_sme:
        raise NotAllowed(_l("只有企业用户可以维护企业信息。"))
    current = actor.enterprise
    if current is not None:
        begin_write()
        current = lock_enterprise(current)  # an order placed meanwhile sees the old or new
    errors = enterprise_problems(data, current)
    if errors:
        raise ValidationFailed(errors)
    enterprise = current or Enterprise()
    before = _audited_values(enterprise) if current is not None else {}
    unsettled = open_claims(current) if current is not None else 0
    with db.session.no_autoflush:
        _fill_enterprise(enterprise, data)
        after = _audited_values(enterprise)
        refusals = _eligibility_refusals(unsettled, before, after)
    if refusals:
        raise ValidationFailed(refusals)  # nothing flushed; the view rolls the changes back
    if current is None:
        db.session.add(enterprise)
        actor.enterprise = enterprise
    _flush_unique_credit_code()
    if current is None:
        audit.record(actor, "create_enterprise", enterprise, region_id=enterprise.county_id)
    else:
        audit.record_edit(actor, "update_enterprise", enterprise, before, after,
                          region_id=enterprise.county_id)
    return enterprise


def _fill_enterprise(enterprise: Enterprise, data: EnterpriseData) -> None:
    enterprise.name = data.name.strip()
    enterprise.credit_code = creditcode.normalize(data.credit_code)
    enterprise.employees = data.employees
    enterprise.revenue_wan = data.revenue_wan
    enterprise.size_class = classify_size(data.employees, data.revenue_wan)
    enterprise.county = _county(data.county_code)
    enterprise.industry_code = data.industry_code
    enterprise.cluster_code = data.cluster_code or None


def eligibility_changes(enterprise: Enterprise, limit: int = 10) -> list:
    """The latest audited changes of the enterprise's county, size class, industry or
    cluster (what officials weigh when approving its subsidies)."""
    entries = audit.history_of(enterprise, ("update_enterprise",))
    return [e for e in entries
            if set(e.details.get("changes", {})) & set(ELIGIBILITY_FIELDS)][:limit]


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
