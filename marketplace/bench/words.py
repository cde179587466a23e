"""Chinese names and texts for the volume seeder, from the demo's phrase banks.

The demo (:mod:`marketplace.demo.content`) writes a few hundred carefully varied texts; the
seeder needs hundreds of thousands, fast. These composers draw from the same banks (what factory
owners say about a category, what vendors write about an offering, company words per industry)
with fewer sentence patterns, so search and the recommender see realistic vocabulary at volume.
Every function takes the caller's ``random.Random``: the same seed gives the same words.
"""

from __future__ import annotations

import re
from random import Random

from ..demo.content import (
    BRAND_WORDS,
    COMPANY_SUFFIXES,
    DEPLOY_NAMES,
    EDITIONS,
    LEVEL_NAMES,
    NEED_BANKS,
    NEED_CLOSINGS,
    NEED_CONSTRAINTS,
    NEED_CONTEXTS,
    NEED_GOAL_PREFIX,
    PACKAGE_BANKS,
    PROFILES,
    SERVICE_LINES,
    UNIT_NAMES,
)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
PROVIDER_WORDS = ("工业互联网", "智能科技", "信息技术", "软件", "数字科技", "智造科技")
REVIEW_TEXTS = (
    "实施团队很专业，上线比预期快。", "效果不错，车间主任说省了不少事。",
    "价格合适，售后响应及时。", "功能够用，就是培训还可以再细一点。",
    "数据看板很直观，老板天天看。", "交付拖了几天，但最后问题都解决了。",
    "和我们的ERP对接花了些时间。", "性价比高，准备推广到第二个车间。",
)
REVIEW_REPLIES = ("感谢认可，我们会持续做好服务。", "收到建议，培训材料已经补充。",
                  "抱歉交付延误，已安排专人回访。")


def short_place(name: str) -> str:
    """'昆山市' → '昆山'; two-character names stay."""
    return name[:-1] if len(name) > 2 and name[-1] in "市区县" else name


def fill(text: str, ctx: dict) -> str:
    return _PLACEHOLDER.sub(lambda m: str(ctx.get(m.group(1), m.group(0))), text)


def money_words(fen: int) -> str:
    yuan = fen // 100
    return f"{yuan // 10000}万" if yuan >= 10000 and yuan % 10000 == 0 else f"{yuan}元"


def enterprise_name(rng: Random, place: str, industry: str) -> str:
    word = rng.choice(PROFILES[industry]["words"])
    brand = "".join(rng.sample(BRAND_WORDS, 2))
    return f"{short_place(place)}{brand}{word}{rng.choice(COMPANY_SUFFIXES)}"


def provider_name(rng: Random, city: str) -> tuple[str, str]:
    """A provider's name and its brand (used in package titles)."""
    brand = "".join(rng.sample(BRAND_WORDS, 2))
    return f"{short_place(city)}{brand}{rng.choice(PROVIDER_WORDS)}有限公司", brand


def need_context(rng: Random, industry: str, place: str, leader: str) -> dict:
    profile = PROFILES[industry]
    products = rng.sample(profile["products"], 2) if len(profile["products"]) > 1 else (
        profile["products"] * 2)
    return {
        "p": products[0], "p2": products[1], "m": rng.choice(profile["machines"]),
        "mat": rng.choice(profile["materials"]), "cust": rng.choice(profile["customers"]),
        "proc": rng.choice(profile["processes"]),
        "n": rng.choice((6, 8, 12, 15, 20, 24, 30, 40, 60)), "place": short_place(place),
        "city2": "上海", "leader": leader or "链主", "emp": rng.randint(20, 400),
        "rev": "几千万", "month": rng.choice(("5到7", "9到11", "年底")), "erp": "用友U8",
    }


def need_text(rng: Random, category: str, level: str, ctx: dict,
              budget_max_fen: int | None) -> tuple[str, str]:
    """A need's title and description in an owner's words."""
    bank = NEED_BANKS[category]
    symptom, symptom2 = (fill(s, ctx) for s in rng.sample(bank["symptoms"], 2))
    consequence = fill(rng.choice(bank["consequences"]), ctx)
    goal = fill(rng.choice(bank["goals"]), ctx)
    context = fill(rng.choice(NEED_CONTEXTS), ctx)
    constraint = fill(rng.choice(NEED_CONSTRAINTS), ctx)
    if budget_max_fen and rng.random() < 0.5:
        constraint = f"预算{money_words(budget_max_fen)}以内"
    prefix = rng.choice(NEED_GOAL_PREFIX)
    closing = rng.choice(NEED_CLOSINGS) if rng.random() < 0.5 else ""
    pattern = rng.randrange(4)
    if pattern == 0:
        text = f"{context}。{symptom}，{consequence}。{prefix}{goal}。{constraint}。{closing}"
    elif pattern == 1:
        text = f"现状：{symptom}；{symptom2}。\n需求：{goal}。\n要求：{constraint}。{closing}"
    elif pattern == 2:
        text = (f"{symptom}。有没有{rng.choice(bank['asks'])}能帮我们{goal}？"
                f"先从{LEVEL_NAMES[level]}这一级做起，{constraint}。")
    else:
        text = f"{context}，一是{symptom}；二是{symptom2}。{prefix}{goal}。{closing}"
    text = text.replace("。。", "。").replace("，。", "。").strip()[:400]
    title = fill(rng.choice(bank["titles"]), ctx)
    if rng.random() < 0.3:
        title = f"{ctx['place']}{ctx['p']}企业{title}"
    return title[:120], text


def package_text(rng: Random, category: str, offer: dict, brand: str, deployment: str,
                 days: int, price_fen: int, unit: str, city: str) -> tuple[str, str, str]:
    """A package's title, summary and description in a vendor's words."""
    bank = PACKAGE_BANKS[category]
    edition = rng.choice(EDITIONS)
    title = f"{brand}{offer['name']}{edition}"[:120]
    features = rng.sample(offer["features"], min(len(offer["features"]), rng.randint(3, 5)))
    metric, direction, lo, hi = rng.choice(bank["metrics"])
    pain, value = rng.choice(bank["pains"]), rng.choice(bank["values"])
    description = "".join((
        f"针对中小制造企业{pain}的痛点，{brand}推出{offer['name']}，{value}。",
        "核心功能：" + "；".join(features) + "。",
        f"已上线客户平均{metric}{direction}{rng.randint(lo, hi)}%。",
        f"采用{DEPLOY_NAMES[deployment]}，{days}天内完成交付。",
        f"参考价{price_fen // 100:,}{UNIT_NAMES[unit]}。",
        fill(rng.choice(SERVICE_LINES), {"city": city}),
    ))[:500]
    summary = "，".join(f for f in features[:2] if len(f) <= 20) or features[0][:20]
    return title, f"{summary}，{days}天上线"[:200], description


def nice_yuan(value: float) -> int:
    """A price a vendor would print: whole hundreds, thousands or five thousands."""
    step = 100 if value < 10_000 else 1_000 if value < 100_000 else 5_000
    return max(step, round(value / step) * step)
