"""The figures officials read: what each one counts (:data:`FIGURES`, its 口径) and how
figures computed for everyone are kept for a short while.

Figures computed for everyone and kept for a short while (the landing page's counts, an
official's dashboard): in each process by default, in Redis when several workers or hosts
serve (``CACHE_TYPE``). What is kept must be plain data (numbers, strings, dataclasses of
them), never database objects; it is at most the configured number of seconds old, and the
pages that show such figures say when they were computed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..extensions import cache
from ..models._base import utcnow

T = TypeVar("T")


def kept(key: str, seconds_setting: str, compute: Callable[[], T]) -> tuple[T, datetime]:
    """The value kept under ``key`` with the moment it was computed, or ``compute()`` now
    (kept for ``current_app.config[seconds_setting]`` seconds; 0 keeps nothing)."""
    seconds = int(current_app.config.get(seconds_setting, 0) or 0)
    if seconds > 0:
        found = cache.get(key)
        if found is not None:
            return found
    fresh = (compute(), utcnow())
    if seconds > 0:
        cache.set(key, fresh, timeout=seconds)
    return fresh


# -- what each figure counts (口径) -------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One figure officials read: its name and its 口径 (what is counted, over which period,
    in which region, by which date). Pages show the 口径 beside the figure, exports write it
    into the file, and the README lists them all (tests/test_figures.py checks it does)."""

    label: str
    definition: str


FIGURES: dict[str, Figure] = {
    # the home page, for everyone
    "public_needs": Figure(_l("公开的企业需求"), _l(
        "全平台公开发布的需求条数，征集中、实施中和已关闭的都计入；不含仅对接服务商可见的需求；"
        "不限时间和地区。")),
    "public_packages": Figure(_l("已发布方案包"), _l(
        "全平台已发布、且服务商已认证未被淘汰的方案包。")),
    "verified_providers": Figure(_l("认证服务商"), _l("全平台已通过认证的服务商。")),
    # an official's dashboard
    "region_needs": Figure(_l("本地区全部需求"), _l(
        "企业所在县（市、区）属于本地区的全部需求：公开和非公开、各种状态都计入，不限时间。"
        "首页的“公开的企业需求”只数全省公开的需求，所以两者不同。")),
    "region_open_needs": Figure(_l("征集中的需求"), _l(
        "本地区全部需求中状态为“征集中”的需求。")),
    # the statistics dashboard, its exports and the annual report
    "posted": Figure(_l("发布需求"), _l(
        "企业所在县（市、区）属于所选地区、发布时间（北京时间）在所选期间内的需求，公开和非公开"
        "都计入；行业、集群按企业，类别、层级按需求筛选。")),
    "matched": Figure(_l("已对接"), _l("上述需求中至少收到过一次对接申请的需求。")),
    "converted": Figure(_l("已成交"), _l("上述需求中有未取消订单的需求（订单取消后不再计入）。")),
    "match_rate": Figure(_l("对接率"), _l("已对接 ÷ 发布需求，0–100%。")),
    "conversion_rate": Figure(_l("成交率"), _l("已成交 ÷ 发布需求，0–100%。")),
    "open_unmatched": Figure(_l("征集中且无人对接"), _l(
        "上述需求中仍在征集、还没有任何对接申请的需求。")),
    "median_to_request": Figure(_l("发布到首次申请（中位数）"), _l(
        "在获得过报价的需求中，从发布到第一次对接申请的时间的中位数；与“发布到首次报价”取同一批"
        "需求，所以不会比它长。")),
    "median_to_quote": Figure(_l("发布到首次报价（中位数）"), _l(
        "在获得过报价的需求中，从发布到第一次报价的时间的中位数。")),
    "median_to_order": Figure(_l("发布到下单（中位数）"), _l(
        "在获得过报价且有未取消订单的需求中，从发布到下单的时间的中位数。")),
    "providers_serving": Figure(_l("服务本地区的服务商"), _l(
        "已认证、未被淘汰，服务范围包含本地区、其上级地区或不限地区的服务商（当前状态，不按期间）。")),
    "unmet": Figure(_l("未满足需求"), _l(
        "所选期间发布、现在仍在征集且没有有效订单的需求，按方案类别；“其中已有申请”为收到过申请的。")),
    "chain_adoption": Figure(_l("链式转型"), _l(
        "链主在本地区的链上企业（当前关系），其中在所选期间下过链主平台方案包订单（未取消）的企业数"
        "和比例。")),
    "subsidy_reserved": Figure(_l("已预留（待拨付）"), _l(
        "预留日期（北京时间）在所选期间内、现在仍待拨付（已预留或已批准）的补贴金额。"
        "不选期间时等于各政策资金记录的已预留。")),
    "subsidy_paid": Figure(_l("已拨付"), _l(
        "拨付日期（北京时间）在所选期间内的补贴金额。政策表按本地区及下辖地区设立的政策，"
        "规模表按本地区企业（含上级政策的补贴）。")),
    "subsidy_budget": Figure(_l("总预算"), _l(
        "政策截至所选期间末的预算：初始预算加历次追加、核减。只列在所选期间内有效的政策。")),
    # subsidy programs
    "program_available": Figure(_l("可用余额"), _l(
        "总预算 − 已预留 − 已拨付，按资金记录逐笔累计；不会小于零。时间为北京时间。")),
    # the ranking (the formula: docs/ranking.md)
    "win_rate": Figure(_l("报价成交率"), _l(
        "报价后下单的申请 ÷ 已报价的申请（之后取消的订单也算；未经报价的订单不计），0–100%。")),
    "on_time_rate": Figure(_l("按期交付率"), _l(
        "交付日（北京时间）不晚于约定交付日的订单 ÷ 已交付的订单，0–100%。")),
}


def figure_note(*keys: str) -> str:
    """The 口径 of the figures ``keys``, as one note (for a table, a file or a hover)."""
    return " ".join(str(_l("%(label)s：%(definition)s", label=FIGURES[k].label,
                            definition=FIGURES[k].definition)) for k in keys)
