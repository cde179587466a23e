"""The benchmark CLI runs end to end on a tiny catalogue, on both backends."""

from __future__ import annotations

import pytest

from search.bench import main


# The bench loads its own segmenter; jieba leaves the user dictionary file open while loading.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_bench_runs(tmp_path, capsys):
    args = ["--sizes", "200", "--queries", "10", "--workers", "1", "--dir", str(tmp_path),
            "--plain-words"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "200 packages" in out and "p95" in out
    assert "expansion + fallback p50" in out and "(all fall back) p50" in out


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_bench_runs_on_postgresql(postgres_dsn, capsys):
    args = ["--sizes", "300", "--queries", "10", "--workers", "2", "--backend", "postgresql",
            "--dsn", postgres_dsn]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "postgresql:     300 packages" in out and "browse p50" in out


def test_bench_wants_a_database_for_postgresql(capsys):
    with pytest.raises(SystemExit):
        main(["--backend", "postgresql"])
    assert "--dsn" in capsys.readouterr().err
