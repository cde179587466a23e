"""Solution packages: create, edit, publish, withdraw and archive; who may list which."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    Category,
    Deployment,
    Industry,
    Package,
    PackageCase,
    PackageStatus,
    PriceUnit,
    Provider,
    ScenarioLevel,
    Standing,
    User,
)
from ..models._base import utcnow
from . import audit
from .errors import IllegalTransition, NotAllowed, NotFound, ValidationFailed
from .states import apply_step
from .textmatch import contains_text

TITLE_MAX, SUMMARY_MAX = 120, 200
DESCRIPTION_MIN, DESCRIPTION_MAX = 20, 10000
MAX_PRICE_FEN = 100_000_000_00  # ¥100 million: far above any 小快轻准 package
MAX_DELIVERY_DAYS = 730
AUDITED_COLUMNS = ("title", "summary", "description", "category_code", "deployment",
                   "price_fen", "price_unit", "delivery_days", "free_trial")

# The allowed steps of a package, in one place: action -> (from states, to state).
TRANSITIONS = {
    "publish": ({PackageStatus.DRAFT, PackageStatus.ARCHIVED}, PackageStatus.PUBLISHED),
    "withdraw": ({PackageStatus.PUBLISHED}, PackageStatus.DRAFT),
    "archive": ({PackageStatus.DRAFT, PackageStatus.PUBLISHED}, PackageStatus.ARCHIVED),
}


@dataclass(frozen=True)
class CaseData:
    title: str
    customer: str
    content: str


@dataclass(frozen=True)
class PackageData:
    title: str
    summary: str
    description: str
    category_code: str
    scenario_level_codes: tuple[str, ...]
    industry_codes: tuple[str, ...]
    deployment: str
    price_fen: int
    price_unit: str
    delivery_days: int
    free_trial: bool
    cases: tuple[CaseData, ...] = field(default_factory=tuple)


def _codes_exist(model, codes) -> bool:
    found = db.session.scalars(select(model).where(model.code.in_(set(codes)))).all()
    return len(found) == len(set(codes))


def _check(data: PackageData) -> None:
    errors = {}
    if not data.title.strip() or len(data.title.strip()) > TITLE_MAX:
        errors["title"] = _l("标题需要 1 到 %(n)d 个字。", n=TITLE_MAX)
    if not data.summary.strip() or len(data.summary.strip()) > SUMMARY_MAX:
        errors["summary"] = _l("简介需要 1 到 %(n)d 个字。", n=SUMMARY_MAX)
    if not DESCRIPTION_MIN <= len(data.description.strip()) <= DESCRIPTION_MAX:
        errors["description"] = _l(
            "详细介绍需要 %(lo)d 到 %(hi)d 个字。", lo=DESCRIPTION_MIN, hi=DESCRIPTION_MAX
        )
    if db.session.get(Category, data.category_code) is None:
        errors["category_code"] = _l("请选择解决方案类别。")
    if not data.scenario_level_codes or not _codes_exist(ScenarioLevel, data.scenario_level_codes):
        errors["scenario_level_codes"] = _l("请至少选择一个场景层级。")
    if not _codes_exist(Industry, data.industry_codes):
        errors["industry_codes"] = _l("请选择列表中的行业。")
    if data.deployment not in Deployment.ALL:
        errors["deployment"] = _l("请选择部署方式。")
    if not 0 <= data.price_fen <= MAX_PRICE_FEN:
        errors["price_fen"] = _l("价格需在 0 到 1 亿元之间。")
    if data.price_unit not in PriceUnit.ALL:
        errors["price_unit"] = _l("请选择计价单位。")
    if not 1 <= data.delivery_days <= MAX_DELIVERY_DAYS:
        errors["delivery_days"] = _l("交付周期需在 1 到 %(n)d 天之间。", n=MAX_DELIVERY_DAYS)
    if errors:
        raise ValidationFailed(errors)


def _apply(package: Package, data: PackageData) -> None:
    package.title = data.title.strip()
    package.summary = data.summary.strip()
    package.description = data.description.strip()
    package.category_code = data.category_code
    package.scenario_levels = list(
        db.session.scalars(
            select(ScenarioLevel).where(ScenarioLevel.code.in_(data.scenario_level_codes))
        )
    )
    package.industries = list(
        db.session.scalars(select(Industry).where(Industry.code.in_(data.industry_codes)))
    )
    package.deployment = data.deployment
    package.price_fen = data.price_fen
    package.price_unit = data.price_unit
    package.delivery_days = data.delivery_days
    package.free_trial = data.free_trial
    package.cases = [
        PackageCase(title=c.title.strip(), customer=c.customer.strip(), content=c.content.strip(),
                    sort=i)
        for i, c in enumerate(data.cases)
        if c.title.strip() and c.content.strip()
    ]


def create_package(actor: User, data: PackageData) -> Package:
    """A new draft package of the actor's provider."""
    if not actor.is_provider or actor.provider is None:
        raise NotAllowed(_l("请先以服务商身份填写服务商信息，再发布解决方案包。"))
    _check(data)
    package = Package(provider_id=actor.provider_id, status=PackageStatus.DRAFT)
    _apply(package, data)
    db.session.add(package)
    db.session.flush()
    audit.record(actor, "create_package", package)
    return package


def update_package(actor: User, package: Package, data: PackageData) -> Package:
    if not package.can_edit(actor):
        raise NotAllowed(_l("只能修改本单位的解决方案包。"))
    if package.status == PackageStatus.ARCHIVED:
        raise IllegalTransition(_l("已归档的方案包不能修改，请先重新发布。"))
    _check(data)
    before = _audited_values(package)
    _apply(package, data)
    audit.record_edit(actor, "update_package", package, before, _audited_values(package))
    return package


def _audited_values(package: Package) -> dict:
    """What an edit may change, as the audit log keeps it (codes; cases as text)."""
    values = audit.values_of(package, AUDITED_COLUMNS)
    values["scenario_level_codes"] = sorted(level.code for level in package.scenario_levels)
    values["industry_codes"] = sorted(industry.code for industry in package.industries)
    values["cases"] = [f"{c.title}（{c.customer}）：{c.content}" if c.customer
                       else f"{c.title}：{c.content}" for c in package.cases]
    return values


def change_package_status(actor: User, package: Package, action: str) -> Package:
    """Apply ``publish``, ``withdraw`` or ``archive`` if the current state allows it."""
    if not package.can_edit(actor):
        raise NotAllowed(_l("只能操作本单位的解决方案包。"))
    target = apply_step(TRANSITIONS, package, action, _l("方案包当前的状态不允许这个操作。"))
    if target == PackageStatus.PUBLISHED:
        package.published_at = utcnow()
    audit.record(actor, f"{action}_package", package)
    return package


def get_package(actor: User, package_id: int) -> Package:
    """The package if ``actor`` may see it; 404 otherwise (drafts are private)."""
    package = db.session.get(Package, package_id)
    if package is None or not package.can_view(actor):
        raise NotFound()
    return package


@dataclass(frozen=True)
class PackageFilters:
    q: str = ""
    category_code: str = ""
    scenario_level_code: str = ""
    industry_code: str = ""
    deployment: str = ""
    max_price_fen: int | None = None
    free_trial: bool = False
    provider_id: int | None = None
    status: str = ""
    sort: str = "newest"


def package_details() -> tuple:
    """Loader options for showing or indexing packages without a query per row."""
    return (
        selectinload(Package.provider).selectinload(Provider.regions_served),
        selectinload(Package.scenario_levels), selectinload(Package.industries),
        selectinload(Package.cases), selectinload(Package.published_cases),
    )


def package_card_details() -> tuple:
    """Loader options for listing packages as cards or suggestions (provider, category and
    scenario levels, which the cards and the subsidy rule read), in three queries a page."""
    return (selectinload(Package.provider), selectinload(Package.category),
            selectinload(Package.scenario_levels))


def public_packages() -> Select:
    """Published packages of verified providers that are not eliminated."""
    return (
        select(Package)
        .join(Package.provider)
        .where(
            Package.status == PackageStatus.PUBLISHED,
            Provider.verified.is_(True),
            Provider.standing != Standing.ELIMINATED,
        )
    )


def visible_packages(actor: User, filters: PackageFilters) -> Select:
    """Public packages, or, for a provider asking for its own, all of its own."""
    own = actor.is_authenticated and actor.is_provider and filters.provider_id == actor.provider_id
    if own:
        query = select(Package).where(Package.provider_id == actor.provider_id)
        if filters.status in PackageStatus.ALL:
            query = query.where(Package.status == filters.status)
    else:
        query = public_packages()
        if filters.provider_id:
            query = query.where(Package.provider_id == filters.provider_id)
    return _narrow(query, filters).options(*package_card_details())


def _narrow(query: Select, filters: PackageFilters) -> Select:
    if filters.q:
        query = query.where(
            contains_text(filters.q, Package.title, Package.summary, Package.description))
    if filters.category_code:
        query = query.where(Package.category_code == filters.category_code)
    if filters.scenario_level_code:
        query = query.where(
            Package.scenario_levels.any(ScenarioLevel.code == filters.scenario_level_code)
        )
    if filters.industry_code:
        query = query.where(
            or_(Package.industries.any(Industry.code == filters.industry_code),
                ~Package.industries.any())
        )
    if filters.deployment:
        query = query.where(Package.deployment == filters.deployment)
    if filters.max_price_fen is not None:
        query = query.where(Package.price_fen <= filters.max_price_fen)
    if filters.free_trial:
        query = query.where(Package.free_trial.is_(True))
    order = {
        "price": (Package.price_fen.asc(), Package.id.asc()),
        "price_desc": (Package.price_fen.desc(), Package.id.desc()),
    }.get(filters.sort, (Package.published_at.desc().nulls_last(), Package.id.desc()))
    return query.order_by(*order)
