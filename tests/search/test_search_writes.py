"""Writes: several processes at once, the write lock, rebuilds that swap atomically.

Every test runs on both backends (``store``/``index`` fixtures); the few about one backend's
own machinery (Whoosh's files, PostgreSQL's rows) say so in their name.
"""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import psycopg
import pytest

from matching.text import Segmenter
from search import IndexBusyError, NeedDoc, PackageDoc, SearchQuery
from search._locks import FileLock
from tests.search.conftest import Store

WRITERS, DOCS_EACH = 4, 12


def _writer_process(store: Store, cache: str, first_id: int) -> None:
    """One of several processes writing at once, one small commit per document."""
    index = store.open(Segmenter(cache_file=cache), lock_timeout=60)
    for doc_id in range(first_id, first_id + DOCS_EACH):
        index.apply(upserts=[PackageDoc(doc_id, f"并发写入 编号{doc_id}", acl=("public",))])
        # every process also rewrites one shared document: last writer wins, never an error
        index.apply(upserts=[PackageDoc(0, f"共享 来自{first_id}", acl=("public",))])
    index.close()


def _all_ids(index, text: str = "") -> list[int]:
    query = SearchQuery("package", text, {"public"}, per_page=100, sort="newest")
    results = index.search(query)
    assert results.total <= 100
    return sorted(hit.id for hit in results.hits)


def _generations(index, store: Store) -> int:
    """How many generations of the package index exist (the live one and any kept or left)."""
    if store.backend == "whoosh":
        return len([p for p in Path(store.location).glob("package.g*") if p.is_dir()])
    rows = store.sql("SELECT count(DISTINCT generation) FROM search_documents "
                     "WHERE kind = 'package'")
    return rows[0][0]


def _rebuild_left_nothing(store: Store) -> bool:
    """No journal (Whoosh) / no generation being filled (PostgreSQL) after a rebuild."""
    if store.backend == "whoosh":
        return not (Path(store.location) / "package.journal").exists()
    rows = store.sql("SELECT building FROM search_generations WHERE kind = 'package'")
    return rows in ([], [(None,)])


def test_concurrent_writer_processes_lose_nothing(store, segmenter):
    with store.open(segmenter) as first:
        first.apply(upserts=[PackageDoc(0, "共享", acl=("public",))])
    context = multiprocessing.get_context("spawn")
    procs = [
        context.Process(target=_writer_process,
                        args=(store, str(segmenter.cache_file), 1 + i * DOCS_EACH))
        for i in range(WRITERS)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [proc.exitcode for proc in procs] == [0] * WRITERS
    with store.open(segmenter) as index:
        assert _all_ids(index) == list(range(WRITERS * DOCS_EACH + 1))
        assert index.count("package") == WRITERS * DOCS_EACH + 1
        assert _all_ids(index, "并发写入") == list(range(1, WRITERS * DOCS_EACH + 1))


def test_whoosh_a_held_lock_times_out_with_index_busy(tmp_path, segmenter):
    store = Store("whoosh", str(tmp_path))
    index = store.open(segmenter, lock_timeout=0.2)
    with FileLock(tmp_path / "package.lock"), pytest.raises(IndexBusyError):
        index.apply(upserts=[PackageDoc(1, "质量检测", acl=("public",))])
    index.apply(upserts=[PackageDoc(1, "质量检测", acl=("public",))])  # free again
    assert index.count("package") == 1


def test_postgresql_a_held_lock_times_out_with_index_busy(postgres_store, segmenter):
    store = postgres_store
    with store.open(segmenter, lock_timeout=0.2) as index:
        index.apply(upserts=[PackageDoc(1, "设备联网", acl=("public",))])
        with psycopg.connect(store.location) as other:  # another host's write, in progress
            other.execute("SELECT 1 FROM search_generations WHERE kind = 'package' FOR UPDATE")
            with pytest.raises(IndexBusyError):
                index.apply(upserts=[PackageDoc(2, "质量检测", acl=("public",))])
            index.apply(upserts=[NeedDoc(3, "需求", acl=("public",))])  # other kinds go on
        index.apply(upserts=[PackageDoc(2, "质量检测", acl=("public",))])  # free again
        assert index.count("package") == 2


def _docs(ids, title="旧方案"):
    return [PackageDoc(i, f"{title}{i}", acl=("public",)) for i in ids]


def test_rebuild_replaces_the_index_and_prunes_old_generations(index, store):
    index.apply(upserts=_docs([1, 2, 3]))
    assert index.rebuild("package", _docs([10, 11], "新方案")) == 2
    assert _all_ids(index) == [10, 11]
    index.rebuild("package", _docs([20], "新方案"))
    index.rebuild("package", _docs([30], "新方案"))
    assert _all_ids(index) == [30]
    assert _generations(index, store) <= 2


@pytest.mark.parametrize("workers", [1, 2])
def test_searches_and_writes_during_a_rebuild(request, index, store, segmenter, workers):
    index.apply(upserts=_docs([1, 2]))
    other = store.open(segmenter)  # e.g. a web worker process, or another host
    request.addfinalizer(other.close)

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
    assert _rebuild_left_nothing(store)
    index.apply(upserts=_docs([12], "改过"), deletes=[("package", 13)])  # after the rebuild
    assert _all_ids(index) == [10, 12, 99]
    assert _all_ids(other, "改过") == [12]


def test_a_write_during_a_rebuild_wins_over_the_rebuilds_older_copy(request, index, store,
                                                                     segmenter):
    index.apply(upserts=_docs([1]))
    other = store.open(segmenter)
    request.addfinalizer(other.close)

    def records():
        other.apply(upserts=[PackageDoc(1, "写入时的新版本", acl=("public",))])
        yield PackageDoc(1, "重建读到的旧版本", acl=("public",))  # read before the write

    index.rebuild("package", records())
    assert _all_ids(index, "新版本") == [1] and _all_ids(index, "旧版本") == []


def test_a_failed_rebuild_leaves_the_live_index_alone(index, store):
    index.apply(upserts=_docs([1, 2]))

    def broken():
        yield from _docs([10])
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        index.rebuild("package", broken())
    assert _all_ids(index) == [1, 2]
    assert _generations(index, store) == 1
    assert _rebuild_left_nothing(store)


def test_whoosh_a_journal_left_by_a_crashed_rebuild_is_dropped(tmp_path, segmenter):
    index = Store("whoosh", str(tmp_path)).open(segmenter)
    index.apply(upserts=_docs([1]))
    (tmp_path / "package.journal").write_bytes(b"")  # its rebuild lock is not held
    index.apply(upserts=_docs([2]))
    assert not (tmp_path / "package.journal").exists()
    assert _all_ids(index) == [1, 2]


def test_postgresql_a_generation_left_by_a_crashed_rebuild_is_dropped(postgres_store,
                                                                       segmenter):
    store = postgres_store
    with store.open(segmenter) as index:
        index.apply(upserts=_docs([1]))
        # a rebuild died after filling part of generation 2 (its advisory lock died with it)
        store.sql("UPDATE search_generations SET building = 2 WHERE kind = 'package'")
        store.sql("INSERT INTO search_documents (kind, generation, doc_id, record, acl, codes, "
                  "sort_ms, tsv) VALUES ('package', 2, 5, '{}', '{public}', '{}', 0, '')")
        index.apply(upserts=_docs([2]))  # notices, and stops writing into generation 2
        assert _rebuild_left_nothing(store)
        assert store.sql("SELECT doc_id FROM search_documents WHERE generation = 2") == [(5,)]
        assert _all_ids(index) == [1, 2]
        assert index.rebuild("package", _docs([3])) == 1  # removes the dead generation's rows
        assert _all_ids(index) == [3]
        assert _generations(index, store) == 1


def test_postgresql_writes_racing_a_rebuild_land_in_the_new_generation(postgres_store,
                                                                        segmenter):
    """Writes from another host during a rebuild and its switch of generations are all kept,
    over the rebuild's own (older) copies of the same documents."""
    with postgres_store.open(segmenter) as index, postgres_store.open(segmenter) as other:
        index.apply(upserts=_docs([1]))
        errors: list[BaseException] = []

        def write():
            try:
                for doc_id in range(280, 320):
                    other.apply(upserts=_docs([doc_id], "并发"))
            except BaseException as exc:  # reported below
                errors.append(exc)

        writer = threading.Thread(target=write)

        def records():
            writer.start()
            yield from _docs(range(2, 300))

        index.rebuild("package", records())
        writer.join()
        assert errors == []
        assert _all_ids(index, "并发") == list(range(280, 320))
        assert index.count("package") == 298 + 20


def test_rebuild_with_worker_processes_matches_a_serial_one(index, package):
    docs = [package(i, f"方案{i} 质量检测" if i % 3 else f"方案{i} 设备联网",
                    "数控设备联网监测" if i % 2 else "视觉质量检测", category="quality")
            for i in range(1, 1201)]
    queries = [SearchQuery("package", text, {"public"}, per_page=100)
               for text in ("质量检测", "设备联网", '"联网监测"', "")]
    assert index.rebuild("package", docs) == 1200
    serial = [index.search(query) for query in queries]
    assert index.rebuild("package", docs, workers=2) == 1200
    for query, a in zip(queries, serial, strict=True):
        b = index.search(query)
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


def test_a_worker_failure_fails_the_rebuild_and_leaves_the_live_index_alone(index, store,
                                                                            package):
    index.apply(upserts=[package(1, "设备联网")])
    docs = [package(i, f"方案{i}") for i in range(10, 600)]
    docs[400] = package(410, "坏记录", price_fen="not a number")  # prepare() fails in a worker
    with pytest.raises(ValueError) as failure:
        index.rebuild("package", docs, workers=2)
    assert "rebuild worker" in str(failure.value.__cause__)
    assert _all_ids(index) == [1]
    assert _generations(index, store) == 1
    assert _rebuild_left_nothing(store)
    assert _children() == []


def test_a_failing_record_source_stops_the_workers(index, store, package):
    index.apply(upserts=[package(1, "设备联网")])

    def broken():
        yield from (package(i, f"方案{i}") for i in range(10, 700))
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="database went away"):
        index.rebuild("package", broken(), workers=2)
    assert _all_ids(index) == [1]
    assert _generations(index, store) == 1
    assert _children() == []
    assert index.rebuild("package", [package(2, "能耗监测")], workers=2) == 1  # one worker idle
    assert _all_ids(index) == [2]


def test_a_failed_commit_releases_the_write_lock(tmp_path, monkeypatch):
    """A commit that fails part-way (Whoosh raised AssertionError in create_compound_file under
    rapid writes) must not leave the write lock held, or every later write waits it out."""
    from whoosh.writing import SegmentWriter

    from search import PackageDoc, SearchIndex

    index = SearchIndex(str(tmp_path / "ix"), lock_timeout=0.5)
    doc = PackageDoc(id=1, title="设备联网", text="注塑机联网", category="device_monitoring",
                     acl=("public",))
    original = SegmentWriter._commit_toc

    def broken(self, segments):
        raise AssertionError("simulated failure inside the commit")

    monkeypatch.setattr(SegmentWriter, "_commit_toc", broken)
    with pytest.raises(AssertionError) as failure:  # its traceback keeps the writer alive,
        index.apply(upserts=[doc])                  # as a logged exception does in the app
    monkeypatch.setattr(SegmentWriter, "_commit_toc", original)
    index.apply(upserts=[doc])  # would raise IndexBusyError if the lock were still held
    assert failure.value is not None
