"""The deterministic demo content: counts, referential integrity, codes and text variety."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import FrozenInstanceError, asdict
from datetime import date
from pathlib import Path

import pytest

from marketplace import creditcode
from marketplace.demo import DemoContent, build_demo

DATA = Path(__file__).resolve().parent.parent / "marketplace" / "data"

PROVIDER_KINDS = {"platform", "service", "software"}
TIERS = {"enterprise", "industry", "regional", "provincial_cross", "national_specialized",
         "national_cross"}
DEPLOYMENTS = {"saas", "private", "hybrid"}
PRICE_UNITS = {"per_year", "per_month", "per_set", "per_device", "per_project"}


def _json(name):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo() -> DemoContent:
    return build_demo()


@pytest.fixture(scope="module")
def ref():
    regions = {r["code"]: r for r in _json("regions.json")}
    return {
        "regions": regions,
        "cities": {c for c, r in regions.items() if r["level"] == "city"},
        "counties": {c for c, r in regions.items() if r["level"] == "county"},
        "industries": {r["code"] for r in _json("industries.json")},
        "clusters": {r["code"]: set(r["industries"]) for r in _json("clusters.json")},
        "categories": [r["code"] for r in _json("categories.json")],
        "levels": {r["code"]: r["rank"] for r in _json("scenario_levels.json")},
        "sizes": sorted(_json("size_classes.json"), key=lambda r: r["sort"]),
    }


def size_class(ref, employees, revenue_wan):
    for row in ref["sizes"]:
        if employees >= row["min_employees"] and revenue_wan >= row["min_revenue_wan"]:
            return row["code"]
    raise AssertionError("micro has zero minimums")


# --------------------------------------------------------------------------- reference JSON


def test_reference_json_shape(ref):
    for name in ["regions.json", "industries.json", "clusters.json", "categories.json",
                 "scenario_levels.json", "size_classes.json"]:
        rows = _json(name)
        assert rows and isinstance(rows, list)
        codes = [r["code"] for r in rows]
        assert len(codes) == len(set(codes)), name
        for row in rows:
            assert {"code", "name", "name_en", "sort"} <= set(row), (name, row)
            assert row["name"] and row["name_en"]
    # 13 cities, 95 county-level divisions, each under a city with the same 4-digit prefix
    assert len(ref["cities"]) == 13
    assert len(ref["counties"]) == 95
    for code in ref["counties"]:
        parent = ref["regions"][code]["parent"]
        assert parent in ref["cities"] and parent[:4] == code[:4]
    assert ref["regions"]["320508"]["name"] == "姑苏区"
    assert ref["regions"]["320614"]["name"] == "海门区"
    assert ref["regions"]["320812"]["name"] == "清江浦区"
    assert ref["industries"] == {f"C{i}" for i in range(13, 44)}
    assert set(ref["clusters"]) == {"biomed", "high_end_equipment", "ic", "power_equipment",
                                    "new_energy"}
    assert all(inds <= ref["industries"] for inds in ref["clusters"].values())
    assert len(ref["categories"]) == 13
    assert ref["levels"] == {"device": 1, "cell": 2, "line": 3, "workshop": 4, "factory": 5}
    assert [r["code"] for r in ref["sizes"]] == ["large", "medium", "small", "micro"]
    assert size_class(ref, 1000, 40000) == "large"
    assert size_class(ref, 5000, 39999) == "medium"
    assert size_class(ref, 299, 50000) == "small"
    assert size_class(ref, 19, 50000) == "micro"


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_output(demo):
    assert asdict(build_demo(2026)) == asdict(demo)
    assert asdict(build_demo(7)) == asdict(build_demo(7))


def test_other_seed_differs(demo):
    other = build_demo(7)
    assert [s["name"] for s in other.smes] != [s["name"] for s in demo.smes]


def test_frozen(demo):
    with pytest.raises(FrozenInstanceError):
        demo.needs = []  # type: ignore[misc]


def test_plain_json_serialisable(demo):
    json.dumps(asdict(demo), ensure_ascii=False)


# --------------------------------------------------------------------------- counts & keys


def test_counts(demo):
    assert len(demo.chain_leaders) == 10
    assert len(demo.providers) >= 40
    assert len(demo.packages) >= 200
    assert len(demo.smes) == 300
    assert len(demo.needs) == 500
    for rows in asdict(demo).values():
        keys = [r["key"] for r in rows]
        assert len(keys) == len(set(keys))


def test_credit_codes_valid_and_unique(demo):
    rows = demo.chain_leaders + demo.providers + demo.smes
    codes = [r["credit_code"] for r in rows]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert creditcode.validate(code) is None, code
        assert code.startswith("91")
    for sme in demo.smes:
        assert sme["credit_code"][2:8] == sme["county_code"][:4] + "00"


# --------------------------------------------------------------------------- enterprises


def test_chain_leaders(demo, ref):
    clusters = Counter(cl["cluster_code"] for cl in demo.chain_leaders)
    assert set(clusters) == set(ref["clusters"])
    assert len({cl["county_code"][:4] for cl in demo.chain_leaders}) >= 5
    for cl in demo.chain_leaders:
        assert cl["county_code"] in ref["counties"]
        assert cl["industry_code"] in ref["clusters"][cl["cluster_code"]]
        assert size_class(ref, cl["employees"], cl["revenue_wan"]) == "large"


def test_smes(demo, ref):
    leaders = {cl["key"]: cl for cl in demo.chain_leaders}
    sizes = Counter()
    for sme in demo.smes:
        assert sme["county_code"] in ref["counties"]
        assert ref["regions"][sme["county_code"]]["parent"][:4] == sme["county_code"][:4]
        assert sme["industry_code"] in ref["industries"]
        assert isinstance(sme["employees"], int) and isinstance(sme["revenue_wan"], int)
        sizes[size_class(ref, sme["employees"], sme["revenue_wan"])] += 1
        if sme["cluster_code"] is not None:
            assert sme["industry_code"] in ref["clusters"][sme["cluster_code"]]
        if sme["chain_leader_key"] is not None:
            leader = leaders[sme["chain_leader_key"]]
            assert sme["cluster_code"] == leader["cluster_code"]
    assert sizes["large"] == 0
    assert sizes["medium"] >= 20 and sizes["small"] >= 60 and sizes["micro"] >= 20
    in_chain = sum(1 for s in demo.smes if s["chain_leader_key"])
    assert 120 <= in_chain <= 180
    assert {s["chain_leader_key"] for s in demo.smes if s["chain_leader_key"]} == set(leaders)
    cities = Counter(s["county_code"][:4] + "00" for s in demo.smes)
    assert set(cities) == ref["cities"]
    top5 = {c for c, _ in cities.most_common(5)}
    assert top5 == {"320500", "320200", "320400", "320100", "320600"}
    names = [s["name"] for s in demo.smes]
    assert len(set(names)) == len(names)
    assert all(n.endswith("有限公司") for n in names)


def test_county_names_not_misused_as_cities(demo, ref):
    """'如东市' or '江宁市' would be wrong: only real 市 may appear with 市 in a name."""
    real_names = {r["name"] for r in ref["regions"].values()}  # 淮安区 vs 淮安市
    wrong = set()
    for region in ref["regions"].values():
        name = region["name"]
        if region["level"] == "county" and not name.endswith("市") and len(name) > 2:
            if name[:-1] + "市" not in real_names:
                wrong.add(name[:-1] + "市")
    assert "如东市" in wrong and "江宁市" in wrong
    for sme in demo.smes:
        assert not any(w in sme["name"] for w in wrong), sme["name"]


# --------------------------------------------------------------------------- providers


def test_providers(demo, ref):
    leaders = {cl["key"] for cl in demo.chain_leaders}
    platforms = Counter(p["lead_key"] for p in demo.providers if p["lead_key"])
    assert set(platforms) == leaders and set(platforms.values()) == {1}
    verified = sum(p["verified"] for p in demo.providers)
    assert 33 <= verified <= 39
    for p in demo.providers:
        assert p["kind"] in PROVIDER_KINDS
        assert p["tier"] in TIERS
        assert p["regions_served"]
        for code in p["regions_served"]:
            assert code == "320000" or code in ref["cities"]
        if p["lead_key"]:
            assert p["kind"] == "platform" and p["verified"]
        assert p["contact_name"] and p["phone"]
        assert 40 <= len(p["description"]) <= 400
        assert not any(k.startswith("_") for k in p)
    assert {p["kind"] for p in demo.providers} == PROVIDER_KINDS


# --------------------------------------------------------------------------- packages


def test_packages(demo, ref):
    providers = {p["key"]: p for p in demo.providers}
    levels_seen, cats_seen = set(), set()
    for pk in demo.packages:
        assert pk["provider_key"] in providers
        assert pk["category"] in ref["categories"]
        cats_seen.add(pk["category"])
        levels = pk["scenario_levels"]
        assert 1 <= len(levels) <= 2 and all(lv in ref["levels"] for lv in levels)
        if len(levels) == 2:
            assert ref["levels"][levels[1]] - ref["levels"][levels[0]] == 1
        levels_seen.update(levels)
        assert len(pk["industries"]) <= 4
        assert set(pk["industries"]) <= ref["industries"]
        assert pk["deployment"] in DEPLOYMENTS
        assert pk["price_unit"] in PRICE_UNITS
        assert type(pk["price_fen"]) is int
        assert 200_000 <= pk["price_fen"] <= 30_000_000
        assert isinstance(pk["delivery_days"], int) and pk["delivery_days"] > 0
        assert isinstance(pk["free_trial"], bool)
        assert pk["status"] in {"published", "draft", "archived"}
        assert len(pk["summary"]) <= 60
        assert 150 <= len(pk["description"]) <= 500
        assert len(pk["title"]) <= 120
        assert len(pk["cases"]) <= 2
        for case in pk["cases"]:
            assert case["title"] and case["customer"]
            assert "%" in case["content"]
    assert cats_seen == set(ref["categories"])
    assert levels_seen == set(ref["levels"])
    statuses = Counter(pk["status"] for pk in demo.packages)
    assert statuses["published"] > len(demo.packages) * 0.6
    assert statuses["draft"] and statuses["archived"]


def test_chain_platform_packages_fit_cluster(demo, ref):
    leaders = {cl["key"]: cl for cl in demo.chain_leaders}
    for provider in demo.providers:
        if not provider["lead_key"]:
            continue
        cluster = leaders[provider["lead_key"]]["cluster_code"]
        own = [pk for pk in demo.packages if pk["provider_key"] == provider["key"]]
        assert len(own) >= 4
        fitted = [pk for pk in own if set(pk["industries"]) & ref["clusters"][cluster]]
        assert len(fitted) >= 4


# --------------------------------------------------------------------------- needs


def test_needs(demo, ref):
    smes = {s["key"] for s in demo.smes}
    cats = Counter()
    for need in demo.needs:
        assert need["sme_key"] in smes
        assert need["category"] in ref["categories"]
        cats[need["category"]] += 1
        assert need["scenario_level"] in ref["levels"]
        assert 60 <= len(need["description"]) <= 400
        assert need["title"] and len(need["title"]) <= 120
        lo, hi = need["budget_min_fen"], need["budget_max_fen"]
        for value in (lo, hi):
            assert value is None or (type(value) is int and value > 0)
        if lo is not None and hi is not None:
            assert lo <= hi
        start = date.fromisoformat(need["desired_start"])
        assert date(2026, 9, 1) <= start <= date(2027, 6, 30)
        assert need["visibility"] in {"public", "private"}
        assert need["status"] in {"open", "closed"}
        assert 0 <= need["created_days_ago"] <= 240
    assert set(cats) == set(ref["categories"])
    public = sum(n["visibility"] == "public" for n in demo.needs) / len(demo.needs)
    assert 0.7 <= public <= 0.9
    statuses = Counter(n["status"] for n in demo.needs)
    assert statuses["open"] > statuses["closed"] > 0
    assert any(n["budget_min_fen"] is None for n in demo.needs)
    assert any(n["budget_max_fen"] is None for n in demo.needs)


def test_every_city_has_needs(demo, ref):
    county_of = {s["key"]: s["county_code"] for s in demo.smes}
    cities = {county_of[n["sme_key"]][:4] + "00" for n in demo.needs}
    assert cities == ref["cities"]


# --------------------------------------------------------------------------- text variety


def test_need_text_variety(demo):
    descriptions = [n["description"] for n in demo.needs]
    duplicates = len(descriptions) - len(set(descriptions))
    assert duplicates < 0.05 * len(descriptions)
    titles = {n["title"] for n in demo.needs}
    assert len(titles) >= 0.7 * len(demo.needs)
    # no single opening dominates: the first 8 characters vary widely
    openings = Counter(d[:8] for d in descriptions)
    assert openings.most_common(1)[0][1] < 0.1 * len(descriptions)
    # colloquial phrasing from factory owners is present
    joined = "".join(descriptions)
    for phrase in ["老师傅", "停机", "追溯", "老板"]:
        assert phrase in joined


def test_package_text_variety(demo):
    titles = {p["title"] for p in demo.packages}
    assert len(titles) >= 0.9 * len(demo.packages)
    descriptions = {p["description"] for p in demo.packages}
    assert len(descriptions) == len(demo.packages)
    summaries = {p["summary"] for p in demo.packages}
    assert len(summaries) >= 0.8 * len(demo.packages)


def test_industry_specific_products_appear(demo):
    joined = "".join(n["description"] + n["title"] for n in demo.needs)
    hits = [p for p in ["注塑", "原料药", "晶圆", "光伏组件", "电机", "纺织面料", "阀门", "PCB"]
            if p in joined]
    assert len(hits) >= 6, hits
