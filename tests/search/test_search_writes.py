"""Writes: several processes at once, the write lock, rebuilds that swap atomically."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from matching.text import Segmenter
from search import IndexBusyError, PackageDoc, SearchIndex, SearchQuery
from search._locks import FileLock

WRITERS, DOCS_EACH = 4, 12


def _writer_process(path: str, cache: str, first_id: int) -> None:
    """One of several processes writing at once, one small commit per document."""
    index = SearchIndex(path, segmenter=Segmenter(cache_file=cache), lock_timeout=60)
    for doc_id in range(first_id, first_id + DOCS_EACH):
        index.apply(upserts=[PackageDoc(doc_id, f"并发写入 编号{doc_id}", acl=("public",))])
        # every process also rewrites one shared document: last writer wins, never an error
        index.apply(upserts=[PackageDoc(0, f"共享 来自{first_id}", acl=("public",))])
    index.close()


def _all_ids(index: SearchIndex, text: str = "") -> list[int]:
    query = SearchQuery("package", text, {"public"}, per_page=100, sort="newest")
    results = index.search(query)
    assert results.total <= 100
    return sorted(hit.id for hit in results.hits)


def test_concurrent_writer_processes_lose_nothing(tmp_path, segmenter):
    path = tmp_path / "search"
    SearchIndex(path, segmenter=segmenter).apply(upserts=[PackageDoc(0, "共享", acl=("public",))])
    context = multiprocessing.get_context("spawn")
    procs = [
        context.Process(target=_writer_process,
                        args=(str(path), str(segmenter.cache_file), 1 + i * DOCS_EACH))
        for i in range(WRITERS)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [proc.exitcode for proc in procs] == [0] * WRITERS
    index = SearchIndex(path, segmenter=segmenter)
    assert _all_ids(index) == list(range(WRITERS * DOCS_EACH + 1))
    assert index.count("package") == WRITERS * DOCS_EACH + 1
    assert _all_ids(index, "并发写入") == list(range(1, WRITERS * DOCS_EACH + 1))


def test_a_held_lock_times_out_with_index_busy(tmp_path, segmenter):
    index = SearchIndex(tmp_path, segmenter=segmenter, lock_timeout=0.2)
    with FileLock(tmp_path / "package.lock"), pytest.raises(IndexBusyError):
        index.apply(upserts=[PackageDoc(1, "质量检测", acl=("public",))])
    index.apply(upserts=[PackageDoc(1, "质量检测", acl=("public",))])  # free again
    assert index.count("package") == 1


def _docs(ids, title="旧方案"):
    return [PackageDoc(i, f"{title}{i}", acl=("public",)) for i in ids]


def _generations(path: Path) -> list[Path]:
    return [p for p in path.glob("package.g*") if p.is_dir()]


def test_rebuild_replaces_the_index_and_prunes_old_generations(index):
    index.apply(upserts=_docs([1, 2, 3]))
    assert index.rebuild("package", _docs([10, 11], "新方案")) == 2
    assert _all_ids(index) == [10, 11]
    index.rebuild("package", _docs([20], "新方案"))
    index.rebuild("package", _docs([30], "新方案"))
    assert _all_ids(index) == [30]
    assert len(_generations(index.path)) <= 2


@pytest.mark.parametrize("workers", [1, 2])
def test_searches_and_writes_during_a_rebuild(index, segmenter, workers):
    index.apply(upserts=_docs([1, 2]))
    other = SearchIndex(index.path, segmenter=segmenter)  # e.g. a web worker process

    def records():
        yield from _docs([10, 11, 12], "新方案")
        # mid-rebuild: the live index still answers, and writes still land
        assert _all_ids(other) == [1, 2]
        other.apply(upserts=_docs([99], "新方案"), deletes=[("package", 11)])
        assert _all_ids(other) == [1, 2, 99]
        yield from _docs([13], "新方案")

    index.rebuild("package", records(), workers=workers)
    # the write made during the rebuild was replayed into the new generation
    assert _all_ids(index) == [10, 12, 13, 99]
    assert _all_ids(other) == [10, 12, 13, 99]
    assert not (index.path / "package.journal").exists()
    index.apply(upserts=_docs([12], "改过"), deletes=[("package", 13)])  # after the rebuild
    assert _all_ids(index) == [10, 12, 99]
    assert _all_ids(other, "改过") == [12]


def test_a_failed_rebuild_leaves_the_live_index_alone(index):
    index.apply(upserts=_docs([1, 2]))

    def broken():
        yield from _docs([10])
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        index.rebuild("package", broken())
    assert _all_ids(index) == [1, 2]
    assert len(_generations(index.path)) == 1
    assert not (index.path / "package.journal").exists()


def test_a_journal_left_by_a_crashed_rebuild_is_dropped(index):
    index.apply(upserts=_docs([1]))
    (index.path / "package.journal").write_bytes(b"")  # its rebuild lock is not held
    index.apply(upserts=_docs([2]))
    assert not (index.path / "package.journal").exists()
    assert _all_ids(index) == [1, 2]


def test_rebuild_with_worker_processes_matches_a_serial_one(tmp_path, segmenter, package):
    docs = [package(i, f"方案{i} 质量检测" if i % 3 else f"方案{i} 设备联网",
                    "数控设备联网监测" if i % 2 else "视觉质量检测", category="quality")
            for i in range(1, 121)]
    serial = SearchIndex(tmp_path / "serial", segmenter=segmenter)
    parallel = SearchIndex(tmp_path / "parallel", segmenter=segmenter)
    assert serial.rebuild("package", docs) == parallel.rebuild("package", docs, workers=2) == 120
    for text in ("质量检测", "设备联网", '"联网监测"', ""):
        query = SearchQuery("package", text, {"public"}, per_page=100)
        a, b = serial.search(query), parallel.search(query)
        assert a.total == b.total > 0
        assert [h.id for h in a.hits] == [h.id for h in b.hits]
        assert a.facets == b.facets


def test_rebuild_with_no_records_gives_an_empty_searchable_index(index, package):
    index.apply(upserts=[package(1, "设备联网")])
    assert index.rebuild("package", []) == 0
    assert index.count("package") == 0
    assert index.search(SearchQuery("package", "", principals={"public"})).total == 0
    index.apply(upserts=[package(2, "能耗监测")])
    assert index.count("package") == 1


def _children() -> list:
    return multiprocessing.active_children()


def test_a_worker_failure_fails_the_rebuild_and_leaves_the_live_index_alone(index, package):
    index.apply(upserts=[package(1, "设备联网")])
    docs = [package(i, f"方案{i}") for i in range(10, 600)]
    docs[400] = package(410, "坏记录", price_fen="not a number")  # prepare() fails in a worker
    with pytest.raises(ValueError) as failure:
        index.rebuild("package", docs, workers=2)
    assert "rebuild worker" in str(failure.value.__cause__)
    assert _all_ids(index) == [1]
    assert len(_generations(index.path)) == 1
    assert not (index.path / "package.journal").exists()
    assert _children() == []


def test_a_failing_record_source_stops_the_workers(index, package):
    index.apply(upserts=[package(1, "设备联网")])

    def broken():
        yield from (package(i, f"方案{i}") for i in range(10, 700))
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="database went away"):
        index.rebuild("package", broken(), workers=2)
    assert _all_ids(index) == [1]
    assert len(_generations(index.path)) == 1
    assert _children() == []
    assert index.rebuild("package", [package(2, "能耗监测")], workers=2) == 1  # one worker idle
    assert _all_ids(index) == [2]
