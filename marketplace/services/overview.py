"""What each role's dashboard shows: counts and the next things to do."""

from __future__ import annotations

from sqlalchemy import func, select

from ..extensions import db
from ..models import (
    Enterprise,
    Need,
    NeedStatus,
    Package,
    PackageStatus,
    Provider,
    User,
    Visibility,
)
from . import matching, statistics, subsidies
from .accounts import count_users_by_role
from .figures import kept
from .packages import package_card_details, public_packages
from .profiles import providers_awaiting_verification
from .regions import region_ids_governed


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def sme_overview(user: User) -> dict:
    if user.enterprise_id is None:
        return {"needs_by_status": {}, "recent_needs": [], "suggestions": []}
    rows = db.session.execute(
        select(Need.status, func.count()).where(Need.enterprise_id == user.enterprise_id)
        .group_by(Need.status)
    )
    recent = db.session.scalars(
        select(Need).where(Need.enterprise_id == user.enterprise_id)
        .order_by(Need.created_at.desc()).limit(5)
    ).all()
    return {"needs_by_status": dict(rows.all()), "recent_needs": recent,
            "suggestions": matching.packages_for_enterprise(user.enterprise)}


def provider_overview(user: User) -> dict:
    if user.provider_id is None:
        return {"packages_by_status": {}, "recent_packages": [], "leads": []}
    rows = db.session.execute(
        select(Package.status, func.count()).where(Package.provider_id == user.provider_id)
        .group_by(Package.status)
    )
    recent = db.session.scalars(
        select(Package).where(Package.provider_id == user.provider_id)
        .order_by(Package.updated_at.desc()).limit(5)
    ).all()
    return {"packages_by_status": dict(rows.all()), "recent_packages": recent,
            "leads": matching.leads_for_provider(user, n=6)}


def gov_overview(user: User) -> dict:
    governed = region_ids_governed(user)
    in_region = Enterprise.county_id.in_(governed)
    needs = select(Need).join(Need.enterprise).where(in_region)
    return {
        "enterprises": _count(select(Enterprise).where(in_region, ~Enterprise.is_chain_leader)),
        "needs": _count(needs),
        "open_needs": _count(needs.where(Need.status == NeedStatus.OPEN)),
        # the statistics' definition (FIGURES["providers_serving"]): those serving everywhere
        # count too
        "providers_serving": statistics.supply(statistics.scope_for(user)).providers,
        "recent_needs": db.session.scalars(needs.order_by(Need.created_at.desc()).limit(8)).all(),
        "claims_ready": len(subsidies.claims_for(user, subsidies.ClaimFilter(ready_only=True))),
    }


def admin_overview() -> dict:
    return {
        "users_by_role": count_users_by_role(),
        "awaiting": providers_awaiting_verification()[:10],
        "packages_published": _count(select(Package).where(
            Package.status == PackageStatus.PUBLISHED)),
        "needs_open": _count(select(Need).where(Need.status == NeedStatus.OPEN)),
    }


def landing() -> dict:
    counts, _at = kept("landing:counts", "LANDING_CACHE_SECONDS", _landing_counts)
    return {
        "packages": db.session.scalars(
            public_packages().order_by(Package.published_at.desc().nulls_last(),
                                       Package.id.desc()).limit(6)
            .options(*package_card_details())
        ).all(),
        **counts,
    }


def _landing_counts() -> dict[str, int]:
    """Whole-marketplace counts: reading 300k rows for them on every visit to the home page
    cost more than everything else on it, and a minute's delay changes nothing for a visitor."""
    return {
        "package_count": _count(public_packages()),
        "provider_count": _count(select(Provider).where(Provider.verified)),
        "need_count": _count(select(Need).where(Need.visibility == Visibility.PUBLIC)),
    }
