"""Save, load, fingerprints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from matching import Matcher, fingerprint, read_fingerprint
from tests.matching.matching_helpers import make_package


def test_round_trip_gives_the_same_recommendations(fitted, broken_machines, tmp_path):
    fitted.set_chain_adoption({"L1": ["adopted-vendor"]})
    fitted.save(tmp_path / "m")
    loaded = Matcher.load(tmp_path / "m")
    assert loaded.recommend(broken_machines) == fitted.recommend(broken_machines)
    assert loaded.fingerprint_ == fitted.fingerprint_
    loaded.upsert_packages([make_package("z", "扫码仓储", "库位与盘点")])  # lock restored


def test_fingerprint_tells_whether_a_refit_is_needed(catalogue, broken_machines, tmp_path):
    matcher = Matcher().fit(catalogue, [broken_machines])
    assert matcher.fingerprint_ == fingerprint(catalogue, [broken_machines])
    matcher.save(tmp_path)
    assert read_fingerprint(tmp_path) == matcher.fingerprint_for(catalogue, [broken_machines])
    changed = [*catalogue[:-1], make_package("aps", "智能排产APS", "改过的描述")]
    assert read_fingerprint(tmp_path) != matcher.fingerprint_for(changed, [broken_machines])
    # Incremental updates keep the fingerprint equal to the records the index now holds.
    matcher.upsert_packages(changed[-1:])
    assert matcher.fingerprint_ == fingerprint(changed, [broken_machines])
    assert Matcher(gate=(0.1, 0.5)).fingerprint_for(catalogue) != fingerprint(catalogue)


def test_missing_or_broken_directory_has_no_fingerprint(tmp_path):
    assert read_fingerprint(tmp_path / "nothing") is None
    (tmp_path / "meta.json").write_text("{not json")
    assert read_fingerprint(tmp_path) is None


def test_a_saved_matcher_loads_in_another_process(fitted, tmp_path):
    fitted.save(tmp_path)
    code = (
        "import json, sys; from matching import Matcher, NeedRecord; "
        f"m = Matcher.load({str(tmp_path)!r}); "
        "print(json.dumps([r.id for r in m.recommend(NeedRecord(id='q', text='机器老坏'))]))"
    )
    root = Path(__file__).parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert json.loads(out.stdout)[0] in {"pm", "pm-chain"}
