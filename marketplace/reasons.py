"""Recommendation reasons (codes from :mod:`matching`) as short text in the user's language."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from .extensions import db
from .models import Category, Cluster, Enterprise, Industry, Need, ScenarioLevel
from .services.regions import region_by_code
from .templating import label, money

MAX_REASONS = 5


def _name(model, code) -> str:
    obj = db.session.get(model, code) if code is not None else None
    return obj.label if obj is not None else str(code or "")


def _region(code: str) -> str:
    region = region_by_code(code)
    return region.label if region else code


def _words(values) -> str:
    # Bare numbers ("2", "3") carry no meaning for a reader.
    return "、".join(str(v) for v in values if not str(v).isdigit())


def _concepts(params: dict) -> str:
    """The shared concepts' labels in the page's language (the vocabulary has both)."""
    locale = get_locale()
    english = locale is not None and locale.language == "en"
    labels = (params.get("labels_en") if english else None) or params.get("labels", [])
    return str(_l("都涉及：%(v)s", v=str(_l("、")).join(labels))) if labels else ""


def _within_budget(params: dict) -> str:
    """"预算内" for a total price; for a price per month or year, the estimate it rests on
    (:func:`services.matching.budget_reason` sets it, or drops the reason)."""
    months = params.get("months")
    if not months:
        return str(_l("预算内"))
    return str(_l("按 %(n)d 个月估算 %(v)s，在预算内", n=int(months),
                  v=money(params.get("estimate_fen"))))


TEXTS = {
    "shared_concepts": _concepts,
    "shared_terms": lambda p: (_l("共同关键词：%(v)s", v=_words(p.get("terms", [])))
                               if _words(p.get("terms", [])) else ""),
    "same_category": lambda p: _l("类别一致"),
    "likely_category": lambda p: _l("可能属于%(v)s", v=_name(Category, p.get("category"))),
    "same_level": lambda p: _l("场景层级一致"),
    "adjacent_level": lambda p: _l("相邻场景层级（%(v)s）",
                                   v=_name(ScenarioLevel, p.get("level"))),
    "same_industry": lambda p: (_l("同行业：%(v)s", v=_name(Industry, p["industry"]))
                                if p.get("industry") else ""),
    "same_cluster": lambda p: _l("同产业集群：%(v)s", v=_name(Cluster, p.get("cluster"))),
    "serves_region": lambda p: _l("服务%(v)s", v=_region(p.get("region", ""))),
    "within_budget": _within_budget,
    "subsidy": lambda p: _l("可享补贴"),
    "chain_leader_platform": lambda p: _l("链主平台：%(v)s",
                                          v=_enterprise(p.get("chain_leader_id"))),
    "chain_adopted": lambda p: _l("同链 %(n)d 家企业在用", n=int(p.get("count", 0))),
    "preferred_provider": lambda p: _l("优选服务商"),
    "verified_provider": lambda p: _l("已认证服务商"),
    "high_rating": lambda p: _l("好评 %(v).1f 分", v=float(p.get("rating", 0))),
    "platform_tier": lambda p: label(p.get("tier"), "tier"),
    "for_need": lambda p: _l("对应需求：%(v)s", v=_need_title(p.get("need"))),
}
# The most telling reasons first; the rest are shown only while there is room.
PRIORITY = ("for_need", "chain_leader_platform", "chain_adopted", "shared_concepts",
            "shared_terms", "same_industry", "same_cluster", "within_budget", "subsidy",
            "preferred_provider", "high_rating", "same_category", "likely_category",
            "same_level", "adjacent_level", "serves_region", "platform_tier",
            "verified_provider")


def _enterprise(enterprise_id) -> str:
    enterprise = db.session.get(Enterprise, enterprise_id) if enterprise_id else None
    return enterprise.name if enterprise else ""


def _need_title(need_id) -> str:
    need = db.session.get(Need, need_id) if need_id else None
    return need.title if need else ""


def reason_texts(reasons) -> list[dict]:
    """Up to :data:`MAX_REASONS` reasons as ``{"code", "text"}``, most telling first."""
    known = [r for r in reasons if r.code in TEXTS]
    known.sort(key=lambda r: PRIORITY.index(r.code) if r.code in PRIORITY else len(PRIORITY))
    texts = []
    for reason in known[:MAX_REASONS]:
        text = str(TEXTS[reason.code](dict(reason.params)))
        if text:
            texts.append({"code": reason.code, "text": text})
    return texts
