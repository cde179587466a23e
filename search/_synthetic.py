"""Synthetic catalogues for the benchmark: realistic Chinese package texts from phrase banks.

Deterministic for a given seed, so runs on different days index the same documents.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from .records import PackageDoc

CATEGORIES = {
    "device_monitoring": ("设备联网", "设备监测", "预测性维护", "故障预警", "数据采集", "稼动率",
                          "边缘网关", "状态监测", "设备综合效率", "振动分析"),
    "production_mgmt": ("生产管理", "MES", "排产", "工单", "报工", "生产计划", "车间调度",
                        "产线平衡", "精益生产", "看板"),
    "quality": ("质量检测", "视觉检测", "缺陷检测", "质量追溯", "SPC", "来料检验", "AI质检",
                "尺寸测量", "不良率", "质量分析"),
    "energy": ("能耗监测", "能耗管理", "碳排放", "电能计量", "节能优化", "空压机", "用能分析",
               "峰谷电价", "光伏", "能源看板"),
    "warehouse_logistics": ("仓储管理", "WMS", "AGV", "立体仓库", "条码", "RFID", "出入库",
                            "库存周转", "物流调度", "拣货"),
    "business_mgmt": ("ERP", "财务管理", "进销存", "成本核算", "采购管理", "订单管理", "OA",
                      "人事管理", "预算", "经营分析"),
    "marketing_crm": ("CRM", "客户管理", "销售预测", "营销自动化", "经销商", "售后服务",
                      "线索管理", "商机", "会员", "电商"),
    "supply_chain": ("供应链协同", "供应商管理", "协同采购", "链主", "订单协同", "交付预警",
                     "库存共享", "产业链", "需求预测", "对账"),
    "rnd_design": ("研发设计", "CAD", "PLM", "仿真", "工艺设计", "BOM", "图纸管理",
                   "三维建模", "试验管理", "设计协同"),
    "safety": ("安全生产", "隐患排查", "视频监控", "危化品", "人员定位", "安全培训", "应急预案",
               "双重预防", "作业票", "环保监测"),
    "lowcode_integration": ("低代码", "系统集成", "数据中台", "接口", "流程引擎", "表单",
                            "主数据", "API", "数据治理", "报表"),
    "digital_twin": ("数字孪生", "可视化", "三维可视化", "大屏", "工厂建模", "虚拟调试",
                     "产线仿真", "实时监控", "驾驶舱", "BIM"),
}
SCENARIOS = ("device", "cell", "line", "workshop", "factory")
SCENARIO_WORDS = {"device": "设备", "cell": "单元", "line": "产线", "workshop": "车间",
                  "factory": "工厂"}
INDUSTRIES = tuple(f"C{n}" for n in range(13, 44))
INDUSTRY_WORDS = ("汽车零部件", "纺织服装", "食品加工", "化工", "医药", "电子元器件", "机械加工",
                  "注塑", "五金", "家具", "钢铁", "光伏组件", "锂电池", "集成电路封测", "电力设备")
CLUSTERS = ("biomed", "high_end_equipment", "ic", "power_equipment", "new_energy")
CITIES = tuple(f"32{n:02d}00" for n in range(1, 14))
TIERS = ("enterprise", "industry", "regional", "provincial_cross", "national_specialized",
         "national_cross")
DEPLOYMENTS = ("saas", "private", "hybrid")
OPENERS = ("面向中小企业的{w}解决方案", "{w}一站式服务", "轻量化{w}平台", "{w}快速部署包",
           "{w}与{v}一体化", "基于工业互联网的{w}")
BENEFITS = ("部署周期不超过两周", "按年订阅，开箱即用", "支持与现有ERP和MES系统对接",
            "提供本地化实施和培训服务", "已在多家规上企业落地", "支持移动端和大屏展示",
            "数据本地存储，满足数据安全要求", "可享受智改数转专项补贴", "提供免费试用一个月",
            "按设备数量灵活计费")
EFFECTS = ("生产效率提升{n}%", "不良率下降{n}%", "能耗降低{n}%", "库存周转提高{n}%",
           "设备停机时间减少{n}%", "交付周期缩短{n}%", "人工成本降低{n}%")
SENTENCES = ("通过{w}和{v}，帮助企业实现{s}级数字化改造。", "针对{i}行业的{w}痛点，提供{v}能力。",
             "系统覆盖{w}、{v}等核心环节，支持{s}级应用场景。",
             "采用{v}技术实现{w}的实时分析与预警。", "客户在{i}企业中应用{w}后，{e}。",
             "方案包含{w}模块、{v}模块和数据看板。")
PROVIDER_SUFFIX = ("科技有限公司", "信息技术有限公司", "智能装备有限公司", "工业互联网有限公司",
                   "软件股份有限公司")
PROVIDER_CITY = ("南京", "苏州", "无锡", "常州", "南通", "徐州", "扬州", "盐城", "泰州", "镇江",
                 "淮安", "连云港", "宿迁")


def _effect(rng: random.Random) -> str:
    return rng.choice(EFFECTS).format(n=rng.randint(5, 40))


def _sentence(rng: random.Random, bank, levels, industry: str) -> str:
    return rng.choice(SENTENCES).format(
        w=rng.choice(bank), v=rng.choice(bank), s=SCENARIO_WORDS[rng.choice(levels)],
        i=industry, e=_effect(rng))


def packages(n: int, seed: int = 7, private_share: float = 0.05) -> Iterator[PackageDoc]:
    """``n`` packages, about ``private_share`` of them drafts visible only to their provider."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1)
    for pid in range(1, n + 1):
        category = rng.choice(tuple(CATEGORIES))
        bank = CATEGORIES[category]
        w, v = rng.sample(bank, 2)
        levels = tuple(sorted(rng.sample(SCENARIOS, rng.randint(1, 3)), key=SCENARIOS.index))
        industry = rng.choice(INDUSTRY_WORDS)
        provider_id = rng.randint(1, max(1, n // 20))
        provider = (PROVIDER_CITY[provider_id % 13] + rng.choice(("智造", "云联", "数智", "工达"))
                    + rng.choice(PROVIDER_SUFFIX))

        description = "".join(
            _sentence(rng, bank, levels, industry) for _ in range(rng.randint(6, 10))
        )
        case = "".join(
            f"应用案例：某{industry}企业引入{rng.choice(bank)}，{_effect(rng)}。"
            for _ in range(rng.randint(1, 2))
        )
        summary = "，".join(rng.sample(BENEFITS, 2)) + "。"
        public = rng.random() >= private_share
        yield PackageDoc(
            id=pid,
            title=rng.choice(OPENERS).format(w=w, v=v),
            text="\n".join((summary, description, provider, case)),
            category=category,
            scenario_levels=levels,
            industries=tuple(rng.sample(INDUSTRIES, rng.randint(0, 3))),
            clusters=tuple(rng.sample(CLUSTERS, rng.randint(0, 1))),
            regions_served=(
                () if rng.random() < 0.3 else tuple(rng.sample(CITIES, rng.randint(1, 3)))
            ),
            deployment=rng.choice(DEPLOYMENTS),
            price_fen=None if rng.random() < 0.05 else rng.randint(10, 2000) * 10_000,
            provider_id=provider_id,
            provider_name=provider,
            provider_tier=rng.choice(TIERS),
            subsidy_available=rng.random() < 0.4,
            created=start + timedelta(minutes=pid),
            published=start + timedelta(minutes=pid + rng.randint(0, 5000)) if public else None,
            acl=("public", f"provider:{provider_id}") if public else (f"provider:{provider_id}",),
        )


#: Typical two-word queries of SME users.
QUERIES = ("设备 联网", "质量 检测", "能耗 监测", "视觉 检测", "仓储 管理", "预测性维护 设备",
           "MES 排产", "数字孪生 车间", "供应链 协同", "安全生产 隐患", "低代码 集成", "ERP 财务",
           "缺陷 检测", "碳排放 管理", "AGV 物流", "故障 预警", "生产 计划", "客户 管理",
           "汽车零部件 质量", "注塑 MES", "数据 采集", "可视化 大屏", "工业互联网 平台",
           "纺织 能耗")
