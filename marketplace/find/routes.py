"""The search page: words, facets, highlights, pagination, for packages and needs."""

from flask import Blueprint, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

import search

from ..extensions import db
from ..models import Category, Cluster, Industry, Region, ScenarioLevel
from ..services.figures import kept
from ..services.search import hit_packages, run_search
from ..templating import LABELS, query_args

bp = Blueprint("find", __name__)

MAX_QUERY = 100
SORT_LABELS = {"relevance": _l("相关度"), "newest": _l("最新"), "price_asc": _l("价格从低到高"),
               "price_desc": _l("价格从高到低")}
FACET_TITLES = {"category": _l("类别"), "scenario_level": _l("场景层级"), "industry": _l("行业"),
                "cluster": _l("产业集群"), "region": _l("地区"), "deployment": _l("部署方式"),
                "price_band": _l("价格"), "provider_tier": _l("平台等级"),
                "subsidy": _l("可享补贴"), "status": _l("状态")}
PRICE_BAND_LABELS = {"lt_5k": _l("5千元以下"), "5k_20k": _l("5千–2万元"),
                     "20k_50k": _l("2万–5万元"), "50k_100k": _l("5万–10万元"),
                     "100k_500k": _l("10万–50万元"), "ge_500k": _l("50万元以上")}


def _reference_labels() -> dict[str, dict[str, str]]:
    """Every facet value's name in the current language (kept a minute: reading five reference
    tables was a third of a search page's time)."""
    def names(model, key="code"):
        return {getattr(row, key): row.label for row in db.session.scalars(select(model))}

    return {
        "category": names(Category), "scenario_level": names(ScenarioLevel),
        "industry": names(Industry), "cluster": names(Cluster), "region": names(Region),
        "deployment": {k: str(v) for k, v in LABELS["deployment"].items()},
        "provider_tier": {k: str(v) for k, v in LABELS["tier"].items()},
        "status": {k: str(v) for k, v in LABELS["need_status"].items()},
        "price_band": {k: str(v) for k, v in PRICE_BAND_LABELS.items()},
        "subsidy": {"true": str(_l("可享补贴")), "false": str(_l("暂无补贴"))},
    }


def _query_args(kind: str) -> dict:
    spec = search.SPECS[kind]
    filters = {name: tuple(v[:40] for v in request.args.getlist(name)[:10])
               for name in spec.facet_names if request.args.getlist(name)}
    sort = request.args.get("sort", "relevance")
    return {
        "kind": kind, "text": request.args.get("q", "")[:MAX_QUERY], "filters": filters,
        "sort": sort if sort in search.SORTS else "relevance",
        "page": min(max(request.args.get("page", 1, type=int), 1), 500),
    }


def toggle_url(name: str, value: str) -> str:
    """This search with ``name=value`` added, or removed if it is there; back to page 1."""
    args = query_args()
    values = args.get(name, [])
    args[name] = [v for v in values if v != value] if value in values else [*values, value]
    args.pop("page", None)
    return url_for("find.index", **args)


@bp.route("/")
def index():
    kind = request.args.get("kind", "package")
    if kind not in search.KINDS or (kind == "need" and not current_user.is_authenticated):
        kind = "package"
    args = _query_args(kind)
    try:
        results = run_search(current_user, args, plain_words=True)
        error = None
    except search.SearchError:
        results, error = None, _l("搜索暂时不可用，请稍后再试。")
    packages = hit_packages(results) if results is not None and kind == "package" else {}
    return render_template(
        "find/index.html", kind=kind, args=args, results=results, error=error,
        labels=kept(f"search-labels:{get_locale()}", "LANDING_CACHE_SECONDS",
                    _reference_labels)[0], facet_titles=FACET_TITLES, sort_labels=SORT_LABELS,
        toggle_url=toggle_url, packages=packages,
    )
