"""The benchmark CLI runs end to end on a tiny catalogue."""

from __future__ import annotations

import pytest

from search.bench import main


# The bench loads its own segmenter; jieba leaves the user dictionary file open while loading.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_bench_runs(tmp_path, capsys):
    args = ["--sizes", "200", "--queries", "10", "--workers", "1", "--dir", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "200 packages" in out and "p95" in out
