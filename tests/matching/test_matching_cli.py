"""The python -m matching commands on small data."""

from __future__ import annotations

import json

import pytest

from matching import Matcher
from matching.cli import main
from matching.io import read_needs, read_packages
from matching.metrics import METRICS
from tests.matching.matching_helpers import DATA


@pytest.fixture
def small_files(tmp_path):
    packages = (DATA / "packages.jsonl").read_text(encoding="utf-8").splitlines()[:30]
    kept = {json.loads(line)["id"] for line in packages}
    needs = []
    for line in (DATA / "needs.jsonl").read_text(encoding="utf-8").splitlines():
        need = json.loads(line)
        need["relevant"] = [p for p in need["relevant"] if p in kept]
        if need["relevant"]:
            needs.append(json.dumps(need, ensure_ascii=False))
    (tmp_path / "p.jsonl").write_text("\n".join(packages), encoding="utf-8")
    (tmp_path / "n.jsonl").write_text("\n".join(needs), encoding="utf-8")
    return tmp_path / "p.jsonl", tmp_path / "n.jsonl"


def test_evaluate_json(small_files, capsys):
    packages, needs = small_files
    assert main(["evaluate", "--packages", str(packages), "--needs", str(needs), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["results"]) == {"matcher", "tfidf", "bm25"}
    assert set(out["results"]["matcher"]) == set(METRICS)
    assert {"mrr_first", "hit@1_first", "hit@1"} <= set(METRICS)


def test_evaluate_table_with_ablation(small_files, capsys):
    packages, needs = small_files
    argv = ["evaluate", "--packages", str(packages), "--needs", str(needs), "--k", "5"]
    assert main([*argv, "--ablation"]) == 0
    out = capsys.readouterr().out
    assert "words only" in out and "bm25" in out and "k=5" in out


def test_rank_writes_one_line_per_need(small_files, capsys):
    packages, needs = small_files
    assert main(["rank", "--packages", str(packages), "--needs", str(needs), "--k", "3"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == len(needs.read_text(encoding="utf-8").splitlines())
    first = lines[0]
    assert set(first) == {"need", "packages", "scores", "reasons"}
    assert len(first["packages"]) == len(first["scores"]) == len(first["reasons"]) == 3
    assert all("code" in reason for reasons in first["reasons"] for reason in reasons)


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    assert main(["rank", "--packages", str(bad), "--needs", str(bad)]) == 2
    assert "not JSON" in capsys.readouterr().err


def test_retrain_learns_from_feedback_and_reports(tmp_path, capsys):
    packages = read_packages(DATA / "packages.jsonl")
    needs, labels = read_needs(DATA / "needs.jsonl")
    matcher = Matcher().fit(packages)
    events = []
    for need, recs in zip(needs, matcher.recommend_batch(needs, 10, reasons=False), strict=True):
        for rec in recs:
            events.append({"need": need.id, "package": rec.id, "event": "impression"})
            if rec.id in labels[need.id]:
                events.append({"need": need.id, "package": rec.id, "event": "request"})
    feedback = tmp_path / "f.jsonl"
    feedback.write_text("\n".join(json.dumps(e) for e in events), encoding="utf-8")
    out = tmp_path / "w.json"
    argv = [
        "retrain",
        "--packages",
        str(DATA / "packages.jsonl"),
        "--needs",
        str(DATA / "needs.jsonl"),
        "--feedback",
        str(feedback),
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["positive"] >= 50 and set(report["before"]) == {"auc", "mrr"}
    weights = json.loads(out.read_text())
    assert Matcher(weights=weights).fit(packages)  # learned weights are usable as they are
    assert main([*argv[:-2], "--min-events", "100000"]) == 3


def test_bench_runs_on_a_tiny_catalogue():
    from matching.bench import run_bench

    report = run_bench(sizes=[300], batch=300, queries=10, log=lambda line: None)
    size = report["sizes"][0]
    assert size["packages"] == 300 and size["batch"]["needs"] == 300
    assert size["recommend"]["p95_ms"] > 0 and size["ratio_p50"] > 0
