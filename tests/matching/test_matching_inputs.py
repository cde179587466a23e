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
