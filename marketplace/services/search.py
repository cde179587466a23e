"""Search: keeping the index in step with the database, and searching as a given user.

Every commit that touches a package or need leaves rows in the change log
(:mod:`marketplace.changes`). :func:`drain` turns unindexed rows into index writes; it runs after
each such request and from ``flask search drain``, and the search library serialises writers
across processes, so several workers never corrupt the index or show a lock error. A failed
drain loses nothing: the rows stay unindexed until the next drain, and ``flask search rebuild``
rebuilds everything from the database.

``SEARCH_BACKEND`` chooses the index: ``"whoosh"`` (files under ``SEARCH_INDEX_DIR``, one host)
or ``"postgresql"`` (tables in the app's own PostgreSQL database, any number of hosts; drains
then take a database advisory lock instead of a file lock).
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

import search
from matching.text import default_segmenter

from ..extensions import db
from ..models import Change, Enterprise, Need, Package, User, Visibility
from ..models._base import utcnow
from . import subsidies
from .deals import today
from .packages import package_card_details, package_details
from .regions import region_codes_up

log = logging.getLogger("marketplace.search")
DRAIN_BATCH = 500
DRAIN_LOCK_TIMEOUT = 10.0
#: The PostgreSQL advisory lock held by the one drainer at a time (any host).
DRAIN_LOCK_KEY = search.lock_key("marketplace", "search", "drain")


def get_index() -> search.SearchIndex | search.PostgresSearchIndex:
    """The app's index (one per process): ``SEARCH_BACKEND`` ``"whoosh"`` under
    ``SEARCH_INDEX_DIR``, or ``"postgresql"`` in the app's own database."""
    app = current_app._get_current_object()
    index = app.extensions.get("search_index")
    if index is None:
        backend = app.config.get("SEARCH_BACKEND", "whoosh")
        dsn = None
        if backend == "postgresql":
            url = db.engine.url
            if url.get_backend_name() != "postgresql":
                raise RuntimeError("SEARCH_BACKEND 'postgresql' needs the app's database on "
                                   f"PostgreSQL, not {url.get_backend_name()}")
            dsn = url.render_as_string(hide_password=False)
        path = app.config.get("SEARCH_INDEX_DIR") or str(Path(app.instance_path) / "search")
        segmenter = default_segmenter(cache_file=Path(app.instance_path) / "jieba.cache")
        index = search.open_index(backend, path=path, dsn=dsn,
                                  segmenter=segmenter.initialize())
        app.extensions["search_index"] = index
    return index


# -- who may see what ---------------------------------------------------------------------------


def principals(user) -> frozenset[str]:
    """The principals of a viewer, matched against documents' ``acl``."""
    if not user.is_authenticated:
        return frozenset({"public"})
    found = {"public", "user"}
    if user.enterprise_id:
        found.add(f"enterprise:{user.enterprise_id}")
    if user.provider_id:
        found.add(f"provider:{user.provider_id}")
    if user.is_gov and user.region is not None:
        found.add(f"region:{user.region.code}")
    if user.is_admin:
        found.add("admin")
    return frozenset(found)


def package_acl(package: Package) -> tuple[str, ...]:
    """Mirrors :meth:`Package.can_view`."""
    if package.is_public:
        return ("public",)
    return (f"provider:{package.provider_id}", "admin")


def need_acl(need: Need) -> tuple[str, ...]:
    """Mirrors :meth:`Need.can_view`: officials of every region above the enterprise."""
    owners = (f"enterprise:{need.enterprise_id}", "admin",
              *(f"region:{code}" for code in region_codes_up(need.enterprise.county)),
              *(f"provider:{p}" for p in sorted(need.engaged_provider_ids())))
    return ("user", *owners) if need.visibility == Visibility.PUBLIC else owners


# -- records ------------------------------------------------------------------------------------


def package_doc(package: Package, programs: list | None = None) -> search.PackageDoc:
    """The library's document builder, so ``python -m search rank`` indexes what we index.

    ``programs`` are the open subsidy programs (:func:`subsidies.open_programs`, read once per
    batch); the package is 可享补贴 when one of them may subsidise it.
    """
    if programs is None:
        programs = subsidies.open_programs(today())
    provider = package.provider
    return search.package_document(
        package.id, package.title, summary=package.summary, description=package.description,
        provider_name=provider.name,
        cases=[f"{c.title} {c.customer} {c.content}" for c in package.cases],
        category=package.category_code,
        scenario_levels=tuple(s.code for s in package.scenario_levels),
        industries=tuple(i.code for i in package.industries),
        regions_served=tuple(r.code for r in provider.regions_served),
        deployment=package.deployment, price_fen=package.price_fen,
        provider_id=provider.id, provider_tier=provider.tier,
        subsidy_available=any(subsidies.may_subsidise(p, package) for p in programs),
        created=package.created_at, published=package.published_at, acl=package_acl(package),
    )


def need_doc(need: Need) -> search.NeedDoc:
    enterprise = need.enterprise
    return search.NeedDoc(
        id=need.id, title=need.title,
        text=f"{need.description}\n{enterprise.name}\n{enterprise.industry.name}",
        category=need.category_code, scenario_levels=(need.scenario_level_code,),
        industries=(enterprise.industry_code,),
        clusters=(enterprise.cluster_code,) if enterprise.cluster_code else (),
        regions=region_codes_up(enterprise.county),
        budget_min_fen=need.budget_min_fen, budget_max_fen=need.budget_max_fen,
        enterprise_id=enterprise.id, enterprise_name=enterprise.name, status=need.status,
        created=need.created_at, acl=need_acl(need),
    )


def _packages(ids: Iterable[int] | None = None) -> Iterator[Package]:
    query = select(Package).options(*package_details()).order_by(Package.id)
    if ids is not None:
        query = query.where(Package.id.in_(list(ids)))
    yield from db.session.scalars(query)


def _needs(ids: Iterable[int] | None = None) -> Iterator[Need]:
    query = select(Need).options(
        selectinload(Need.enterprise).selectinload(Enterprise.industry)
    ).order_by(Need.id)
    if ids is not None:
        query = query.where(Need.id.in_(list(ids)))
    yield from db.session.scalars(query)


# -- keeping the index in step ------------------------------------------------------------------


def _drain_lock(index, timeout: float):
    """One drainer per index at a time, from reading the queue to marking it done.

    Without it, a drainer that read an object before another drainer indexed a newer version
    could write the old document last and leave, say, a now-private need searchable. Yields
    whether the lock was taken within ``timeout``; the drain then reads what was committed
    before.
    """
    if isinstance(index, search.PostgresSearchIndex):
        return _database_drain_lock(timeout)
    return _file_drain_lock(index, timeout)


@contextmanager
def _database_drain_lock(timeout: float) -> Iterator[bool]:
    """Across hosts: a transaction-level advisory lock in the app's database, released by the
    commit that marks the changes indexed (or by the rollback at the end)."""
    db.session.commit()  # end the request's transaction: the lock belongs to the next one
    deadline = time.monotonic() + timeout
    try:
        while not db.session.scalar(select(func.pg_try_advisory_xact_lock(DRAIN_LOCK_KEY))):
            if time.monotonic() > deadline:
                yield False
                return
            time.sleep(0.02)
        yield True  # read committed: each statement from here sees every earlier commit
    finally:
        db.session.rollback()  # releases the lock unless the drain's commit already did


@contextmanager
def _file_drain_lock(index: search.SearchIndex, timeout: float) -> Iterator[bool]:
    """On one host: an ``flock`` beside the Whoosh index."""
    fd = os.open(index.path / ".drain.lock", os.O_CREAT | os.O_RDWR, 0o600)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    yield False
                    return
                time.sleep(0.02)
        try:
            db.session.commit()  # read what was committed before the lock was ours
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def drain(limit: int = DRAIN_BATCH, timeout: float | None = None) -> int:
    """Index up to ``limit`` unindexed changes; returns how many were applied.

    A drainer that cannot get the drain lock in time returns 0: the rows stay queued for the
    next drain.
    """
    index = get_index()
    with _drain_lock(index, DRAIN_LOCK_TIMEOUT if timeout is None else timeout) as locked:
        if not locked:
            return 0
        return _drain_locked(index, limit)


def _drain_locked(index, limit: int) -> int:
    rows = db.session.execute(
        select(Change.id, Change.kind, Change.object_id)
        .where(Change.indexed_at.is_(None)).order_by(Change.id).limit(limit)
    ).all()
    if not rows:
        return 0
    wanted = {"package": {r.object_id for r in rows if r.kind == "package"},
              "need": {r.object_id for r in rows if r.kind == "need"}}
    programs = subsidies.open_programs(today())
    upserts = [package_doc(p, programs) for p in _packages(wanted["package"])]
    upserts += [need_doc(n) for n in _needs(wanted["need"])]
    found = {(doc.kind, doc.id) for doc in upserts}
    deletes = [(kind, i) for kind, ids in wanted.items() for i in ids if (kind, i) not in found]
    try:
        index.apply(upserts=upserts, deletes=deletes)
    except search.IndexBusyError:
        db.session.rollback()
        return 0
    db.session.execute(update(Change).where(Change.id.in_([r.id for r in rows]))
                       .values(indexed_at=utcnow()))
    db.session.commit()
    return len(rows)


def drain_all() -> int:
    total = 0
    while applied := drain():
        total += applied
    return total


def rebuild() -> dict[str, int]:
    """Rebuild both indexes from the database; searches keep working meanwhile."""
    started = utcnow()
    index = get_index()
    workers = current_app.config.get("SEARCH_REBUILD_WORKERS", 2)
    programs = subsidies.open_programs(today())
    counts = {
        "package": index.rebuild("package", (package_doc(p, programs) for p in _packages()),
                                 workers=workers),
        "need": index.rebuild("need", (need_doc(n) for n in _needs()), workers=workers),
    }
    # Changes made while rebuilding stay queued; the rebuild read what existed before them.
    db.session.execute(update(Change).where(Change.indexed_at.is_(None), Change.at < started)
                       .values(indexed_at=utcnow()))
    db.session.commit()
    return counts


def index_is_empty() -> bool:
    index = get_index()
    return index.count("package") == 0 and index.count("need") == 0


# -- searching ----------------------------------------------------------------------------------


def run_search(user: User, query_args: dict, *, plain_words: bool = False
               ) -> search.SearchResults:
    """Search as ``user``; ``query_args`` are :class:`search.SearchQuery` fields but principals.

    ``plain_words`` is for people typing a problem in their own words (the search page): each
    word also matches the scenario vocabulary's solution wording (``expand``), and when no
    document holds every word the ones holding some are ranked instead (``fallback``;
    ``results.relaxed`` says so, and the page must too). Both backends do both. The API keeps
    every word required: its answers have no way to say they are partial.
    """
    options = {"expand": plain_words, "fallback": plain_words, **query_args}
    return get_index().search(search.SearchQuery(principals=principals(user), **options))


def hit_packages(results: search.SearchResults) -> dict[int, Package]:
    """The packages of a page of package hits, by id, loaded as cards show them (the price
    unit and the subsidy rule are not in the index)."""
    ids = [hit.id for hit in results.hits]
    if not ids:
        return {}
    query = select(Package).options(*package_card_details()).where(Package.id.in_(ids))
    return {package.id: package for package in db.session.scalars(query)}
