"""Tests leave the shared reference tables as seeded: a test that renames an industry (the admin
page, the form fuzz) used to change what every later test found (issue 15)."""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def test_reference_rows_changed_by_one_test_are_seeded_again_for_the_next():
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
         str(HERE / "isolation_probe.py")],
        cwd=HERE.parent, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout
