"""Fixtures for the recommender tests: small hand-made catalogues, no app."""

from __future__ import annotations

import pytest

from matching import Matcher, NeedRecord, PackageRecord
from matching.io import read_needs, read_packages
from tests.matching.matching_helpers import DATA, make_package


@pytest.fixture(scope="session")
def labelled():
    """The labelled evaluation set: packages, needs, labels."""
    needs, labels = read_needs(DATA / "needs.jsonl")
    return read_packages(DATA / "packages.jsonl"), needs, labels


@pytest.fixture
def catalogue() -> list[PackageRecord]:
    return [
        make_package(
            "pm",
            "设备预测性维护包",
            "振动传感器与边缘网关，故障预警，减少非计划停机",
            category="device_monitoring",
            scenario_levels=("device",),
            industries=("C34",),
            price_fen=3_000_000,
            provider_tier="national_cross",
            provider_verified=True,
            provider_rating=4.8,
        ),
        make_package(
            "pm-chain",
            "设备预测性维护包",
            "振动传感器与边缘网关，故障预警，减少非计划停机",
            category="device_monitoring",
            scenario_levels=("device",),
            provider_id="leader-platform",
            chain_leader_id="L1",
            price_fen=3_000_000,
        ),
        make_package(
            "mes",
            "MES生产执行轻量版",
            "工单、报工、生产进度看板",
            category="production_mgmt",
            scenario_levels=("workshop",),
            provider_id="leader-platform",
            chain_leader_id="L1",
            price_fen=8_000_000,
        ),
        make_package(
            "vision",
            "AI视觉质检",
            "表面缺陷检测，替代人工目检",
            category="quality",
            scenario_levels=("line",),
            provider_status="preferred",
            regions_served=("320500",),
        ),
        make_package(
            "energy",
            "能耗监测SaaS",
            "分项计量，电费分析，峰谷用电优化",
            category="energy",
            provider_status="eliminated",
        ),
        make_package(
            "aps",
            "智能排产APS",
            "插单急单自动排程，替代手工表格",
            category="production_mgmt",
            provider_id="adopted-vendor",
        ),
    ]


@pytest.fixture
def broken_machines() -> NeedRecord:
    return NeedRecord(
        id="n1",
        text="机器老是坏，一坏就停产，损失大",
        industry="C34",
        regions=("320506", "320500", "320000"),
        budget_max_fen=5_000_000,
    )


@pytest.fixture
def fitted(catalogue, broken_machines) -> Matcher:
    return Matcher().fit(catalogue, [broken_machines])
