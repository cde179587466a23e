"""Input hygiene: labels or codes in structured fields, duplicate ids, empty needs, budgets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matching.codes import LABELS_FILE, resolve

REFERENCE = Path(__file__).resolve().parents[2] / "marketplace" / "data"


def test_label_file_matches_the_seeded_reference_data():
    # The library keeps its own copy (it may not import the app); it must not drift.
    ours = json.loads(LABELS_FILE.read_text(encoding="utf-8"))
    for kind in ("categories", "scenario_levels", "industries", "clusters"):
        seeded = json.loads((REFERENCE / f"{kind}.json").read_text(encoding="utf-8"))
        assert [(r["code"], r["name"]) for r in ours[kind]] == [
            (r["code"], r["name"]) for r in seeded
        ], kind


@pytest.mark.parametrize(
    ("kind", "value", "code"),
    [
        ("category", "quality", "quality"),
        ("category", "质量检测", "quality"),
        ("category", "质量检测类", "quality"),
        ("category", "设备联网", "device_monitoring"),
        ("category", "Quality Inspection", "quality"),
        ("category", "生产", None),  # 生产管理 or 安全生产: ambiguous
        ("scenario_level", "产线级", "line"),
        ("scenario_level", "车间", "workshop"),
        ("industry", "C36", "C36"),
        ("industry", "36", "C36"),
        ("industry", "汽车制造业", "C36"),
        ("industry", "汽车零部件", "C36"),
        ("industry", "纺织", "C17"),
        ("industry", "橡胶和塑料制品", "C29"),
        ("industry", "C99", None),
        ("cluster", "新能源", "new_energy"),
        ("cluster", "无此集群", None),
    ],
)
def test_codes_labels_and_variants_resolve(kind, value, code):
    assert resolve(kind, value) == code


# ------------------------------------------------------------------ files


def _write(path, lines):
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), "utf-8")
    return str(path)


def test_labels_in_files_become_codes_and_unknown_values_are_counted(tmp_path, capsys):
    from matching.cli import main

    packages = _write(
        tmp_path / "p.jsonl",
        [
            {
                "id": "a",
                "title": "视觉检测",
                "category": "质量检测",
                "industries": ["汽车制造业"],
                "scenario_level": "产线级",
            },
            {"id": "b", "title": "仓库管理", "category": "仓储物流类", "industries": ["外星工业"]},
        ],
    )
    needs = _write(
        tmp_path / "n.jsonl",
        [{"id": "n", "text": "外观划痕靠人眼挑", "industry": "汽车零部件", "budget": "5万"}],
    )
    assert main(["rank", "--packages", packages, "--needs", needs, "--k", "2"]) == 0
    err = capsys.readouterr().err
    assert "1 of 2 packages had unrecognised values" in err and "industries: 1" in err
    assert "needs" not in err

    from matching.io import InputReport, read_needs, read_packages

    report = InputReport()
    a, b = read_packages(packages, report)
    assert (a.category, a.industries, a.scenario_levels) == ("quality", ("C36",), ("line",))
    assert (b.category, b.industries) == ("warehouse_logistics", ())
    [need], _ = read_needs(needs, report)
    assert need.industry == "C36" and need.budget_max_fen == 5_000_000


@pytest.mark.parametrize(
    ("budget", "low", "high"),
    [
        ("5万", 5_000_000, 5_000_000),
        ("5000元", 500_000, 500_000),
        ("3-5万", 3_000_000, 5_000_000),
        ("5万以内", None, 5_000_000),
        (" 1.5 万元 ", 1_500_000, 1_500_000),
        (120000, 120000, 120000),  # a number is fen
    ],
)
def test_budgets_parse(budget, low, high):
    from matching.io import parse_money

    assert parse_money(budget) == (low, high)


@pytest.mark.parametrize("budget", ["好多钱", "5万美元", "-3", True])
def test_a_budget_that_is_no_amount_is_a_clear_error(tmp_path, capsys, budget):
    from matching.cli import main

    packages = _write(tmp_path / "p.jsonl", [{"id": "a", "title": "视觉检测"}])
    needs = _write(tmp_path / "n.jsonl", [{"id": "n", "text": "划痕", "budget_max_fen": budget}])
    assert main(["rank", "--packages", packages, "--needs", needs]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "'n'" in err and "Traceback" not in err


def test_duplicate_package_ids_are_refused(tmp_path, capsys):
    from matching import Matcher, PackageRecord
    from matching.cli import main

    lines = [
        {"id": "a", "title": "视觉检测"},
        {"id": "b", "title": "排产"},
        {"id": "a", "title": "x"},
    ]
    packages = _write(tmp_path / "p.jsonl", lines)
    needs = _write(tmp_path / "n.jsonl", [{"id": "n", "text": "划痕"}])
    assert main(["rank", "--packages", packages, "--needs", needs]) == 2
    assert "'a' appears twice (records 1 and 3)" in capsys.readouterr().err
    with pytest.raises(ValueError, match="duplicate package ids"):
        Matcher().fit([PackageRecord("a", "视觉检测"), PackageRecord("a", "排产")])


def test_upserting_one_id_twice_keeps_the_last(catalogue):
    from matching import Matcher, NeedRecord, PackageRecord

    matcher = Matcher().fit(catalogue)
    matcher.upsert_packages([PackageRecord("new", "视觉检测划痕"), PackageRecord("new", "排产")])
    ids = [r.id for r in matcher.recommend(NeedRecord("n", "排产计划乱"), N=50)]
    assert ids.count("new") == 1


# ------------------------------------------------------------------ queries


@pytest.mark.parametrize("text", ["", "   ", "。。！", "\n"])
def test_a_need_without_text_gets_no_recommendations(catalogue, text):
    from matching import Matcher, NeedRecord

    matcher = Matcher().fit(catalogue)
    need = NeedRecord("n", text, industry="C34", regions=("320102",))
    assert matcher.recommend(need) == []
    mixed = matcher.recommend_batch([need, NeedRecord("m", "设备老是坏")])
    assert mixed[0] == [] and mixed[1]


def test_ties_are_broken_by_slot_so_the_top_is_a_prefix(catalogue):
    from matching import Matcher, NeedRecord, PackageRecord

    twins = [PackageRecord(f"t{i:02d}", "设备预测性维护", "故障预警") for i in range(30)]
    matcher = Matcher().fit(twins + catalogue)
    need = NeedRecord("n", "设备老是坏，想要故障预警")
    longest = [r.id for r in matcher.recommend(need, N=40)]
    for n in (1, 3, 10, 17, 25):
        assert [r.id for r in matcher.recommend(need, N=n)] == longest[:n]
    assert longest[:30] == [f"t{i:02d}" for i in range(30)]
