"""Recommendations: records from the database, one recommender per process, kept fresh.

Each process holds a :class:`matching.Matcher`. At first use it loads the one saved under
``instance/matching`` (fitting from the database if there is none) and then catches up with the
change log; before answering it catches up again at most every ``MATCHING_SYNC_SECONDS``, by
upserting or removing just the changed packages and needs — no refit. A refit (``flask matching
refit``, or in a background thread once many rows changed) builds a new matcher beside the old
one and swaps it in, so requests never wait for it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask, current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

import matching

from ..extensions import db
from ..models import (
    Change,
    Enterprise,
    FeedbackKind,
    MatchFeedback,
    Need,
    NeedStatus,
    Order,
    Package,
    Region,
    User,
    Visibility,
)
from ..models._base import utcnow
from .figures import kept
from .packages import package_card_details, package_details, public_packages
from .regions import region_codes_up

log = logging.getLogger("marketplace.matching")
# Rows committed a little out of order (long transactions) are caught by re-reading this much.
CATCH_UP_OVERLAP = timedelta(seconds=60)
SYNC_FILE = "sync.json"
WEIGHTS_FILE = "weights.json"


# -- records ------------------------------------------------------------------------------------


def package_record(package: Package) -> matching.PackageRecord:
    provider = package.provider
    cases = " ".join([*(f"{c.title} {c.content}" for c in package.cases),
                      *(f"{c.title} {c.problem} {c.results}" for c in package.published_cases)])
    return matching.PackageRecord(
        id=package.id, title=package.title,
        text=f"{package.summary}。{package.description} {cases}".strip(),
        category=package.category_code,
        scenario_levels=tuple(s.code for s in package.scenario_levels),
        industries=tuple(i.code for i in package.industries),
        regions_served=tuple(r.code for r in provider.regions_served if r.level != "province"),
        deployment=package.deployment, price_fen=package.price_fen, provider_id=provider.id,
        provider_tier=provider.tier, provider_verified=provider.verified,
        provider_status=provider.standing, chain_leader_id=provider.lead_enterprise_id,
    )


def need_record(need: Need) -> matching.NeedRecord:
    enterprise = need.enterprise
    return matching.NeedRecord(
        id=need.id, text=f"{need.title}。{need.description}", category=need.category_code,
        scenario_level=need.scenario_level_code, industry=enterprise.industry_code,
        cluster=enterprise.cluster_code, regions=region_codes_up(enterprise.county),
        budget_min_fen=need.budget_min_fen, budget_max_fen=need.budget_max_fen,
        chain_leader_id=enterprise.chain_leader_id, enterprise_id=enterprise.id,
    )


def enterprise_record(enterprise: Enterprise) -> matching.EnterpriseRecord:
    needs = db.session.scalars(
        select(Need).where(Need.enterprise_id == enterprise.id, Need.status == NeedStatus.OPEN)
        .order_by(Need.created_at.desc()).limit(10)
    )
    return matching.EnterpriseRecord(
        id=enterprise.id, industry=enterprise.industry_code, cluster=enterprise.cluster_code,
        regions=region_codes_up(enterprise.county), chain_leader_id=enterprise.chain_leader_id,
        open_needs=tuple(need_record(n) for n in needs),
    )


def chain_adoption() -> dict[int, dict[int, int]]:
    """For each chain leader, how many SMEs of its chain ordered from each provider (链式转型:
    a provider its chain already uses is a strong, explained signal)."""
    rows = db.session.execute(
        select(Enterprise.chain_leader_id, Order.provider_id,
               func.count(func.distinct(Order.enterprise_id)))
        .join(Order, Order.enterprise_id == Enterprise.id)
        .where(Enterprise.chain_leader_id.is_not(None))
        .group_by(Enterprise.chain_leader_id, Order.provider_id)
    ).all()
    adoption: dict[int, dict[int, int]] = {}
    for leader, provider, count in rows:
        adoption.setdefault(leader, {})[provider] = count
    return adoption


def _package_query():
    return public_packages().options(*package_details())


def _lead_needs_query():
    """Needs a provider may be shown as leads: open and public."""
    return select(Need).where(Need.status == NeedStatus.OPEN,
                              Need.visibility == Visibility.PUBLIC).options(
        selectinload(Need.enterprise).selectinload(Enterprise.county)
        .selectinload(Region.parent))


# -- one matcher per process ------------------------------------------------------------------


@dataclass
class _State:
    matcher: matching.Matcher | None = None
    synced_at: datetime | None = None  # the change log has been applied up to here
    checked: float = 0.0  # monotonic time of the last catch-up
    changed_since_fit: int = 0
    refitting: bool = False
    # change ids already applied that are still inside the overlap window, with their time
    seen: dict[int, datetime] = field(default_factory=dict)


class Recommender:
    """The process's matcher, its persistence under ``directory`` and its catch-up."""

    def __init__(self, directory: Path, sync_seconds: float, refit_after: int):
        self.directory = directory
        self.sync_seconds = sync_seconds
        self.refit_after = refit_after
        self.state = _State()
        self.lock = threading.RLock()

    def matcher(self) -> matching.Matcher | None:
        """The current matcher, caught up; None while there is no public package to fit."""
        with self.lock:
            due = time.monotonic() - self.state.checked >= self.sync_seconds
            if self.state.matcher is None:
                if due:
                    self._load_or_fit()
            elif due:
                self.catch_up()
            return self.state.matcher

    def _load_or_fit(self) -> None:
        sync = self.directory / SYNC_FILE
        if sync.exists():
            try:
                synced_at = datetime.fromisoformat(json.loads(sync.read_text())["synced_at"])
                self.state = _State(matching.Matcher.load(self.directory), synced_at)
                return
            except (OSError, ValueError, KeyError, TypeError, EOFError):
                log.warning("saved recommender at %s unreadable; fitting anew", self.directory)
        self.refit()

    def refit(self) -> None:
        """Fit from the database, save, and swap in (the old matcher serves meanwhile)."""
        started = utcnow()
        packages = [package_record(p) for p in db.session.scalars(_package_query())]
        needs = [need_record(n) for n in db.session.scalars(_lead_needs_query())]
        if not packages:
            with self.lock:
                self.state = _State(checked=time.monotonic())
            return
        fitted = matching.Matcher(weights=self.learned_weights()).fit(
            packages, needs, chain_adoption=chain_adoption())
        fitted.save(self.directory)
        (self.directory / SYNC_FILE).write_text(json.dumps({"synced_at": started.isoformat()}))
        # Changes logged before the fit began are in it: the first catch-up need not redo them.
        included = db.session.execute(select(Change.id, Change.at).where(
            Change.at >= started - CATCH_UP_OVERLAP, Change.at < started)).all()
        with self.lock:
            self.state = _State(fitted, started, checked=0.0,
                                seen={i: _as_utc(at) for i, at in included})
        log.info("recommender fitted: %d packages, %d needs", len(packages), len(needs))

    def catch_up(self) -> int:
        """Apply the changes logged since the last catch-up; returns how many were new.

        Rows are re-read from ``CATCH_UP_OVERLAP`` before the newest one applied, so a row that
        committed late (a long transaction) is still seen; ids already applied are skipped.
        """
        state = self.state
        since = (state.synced_at or utcnow()) - CATCH_UP_OVERLAP
        rows = db.session.execute(
            select(Change.id, Change.kind, Change.object_id, Change.at)
            .where(Change.at >= since)
        ).all()
        state.checked = time.monotonic()
        new = [r for r in rows if r.id not in state.seen]
        state.seen = {i: at for i, at in state.seen.items() if at >= since}
        if not new:
            return 0
        self._apply({r.object_id for r in new if r.kind == "package"},
                    {r.object_id for r in new if r.kind == "need"})
        for row in new:
            state.seen[row.id] = _as_utc(row.at)
        state.synced_at = max(state.synced_at, *(_as_utc(r.at) for r in new))
        state.changed_since_fit += len(new)
        return len(new)

    def _apply(self, package_ids: set[int], need_ids: set[int]) -> None:
        matcher = self.state.matcher
        if package_ids:
            live = list(db.session.scalars(_package_query().where(Package.id.in_(package_ids))))
            matcher.upsert_packages([package_record(p) for p in live])
            matcher.remove_packages(package_ids - {p.id for p in live})
        if need_ids:
            live = list(db.session.scalars(_lead_needs_query().where(Need.id.in_(need_ids))))
            matcher.upsert_needs([need_record(n) for n in live])
            matcher.remove_needs(need_ids - {n.id for n in live})
            # an order moves its need: who in each chain uses which provider may have changed
            matcher.set_chain_adoption(chain_adoption())

    def learned_weights(self) -> dict | None:
        """Weights written by :func:`retrain`, if any (else the library's defaults)."""
        path = self.directory / WEIGHTS_FILE
        return json.loads(path.read_text()) if path.exists() else None

    def needs_refit(self) -> bool:
        return not self.state.refitting and self.state.changed_since_fit >= self.refit_after


def _as_utc(moment: datetime) -> datetime:
    """Change times as aware UTC: SQLite gives naive UTC, PostgreSQL the session's zone."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def get_recommender() -> Recommender:
    app = current_app._get_current_object()
    recommender = app.extensions.get("recommender")
    if recommender is None:
        directory = Path(app.config.get("MATCHING_DIR") or Path(app.instance_path) / "matching")
        recommender = app.extensions["recommender"] = Recommender(
            directory, app.config.get("MATCHING_SYNC_SECONDS", 2.0),
            app.config.get("MATCHING_REFIT_AFTER", 2000),
        )
    return recommender


def _refit_in_background(app: Flask, recommender: Recommender) -> None:
    recommender.state.refitting = True

    def run():
        with app.app_context():
            try:
                recommender.refit()
            except Exception:
                log.exception("background refit failed")
                recommender.state.refitting = False
            finally:
                db.session.remove()

    threading.Thread(target=run, name="recommender-refit", daemon=True).start()


def _matcher() -> matching.Matcher | None:
    recommender = get_recommender()
    matcher = recommender.matcher()
    if matcher is not None and recommender.needs_refit():
        _refit_in_background(current_app._get_current_object(), recommender)
    return matcher


# -- what the pages ask for ---------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """A recommended object with its score and reasons, loaded for display."""

    item: object
    score: float
    reasons: tuple[matching.Reason, ...]


#: How a price per period is compared with a need's total budget: over this many months.
BUDGET_MONTHS = {"per_month": 12, "per_year": 12}
PERIOD_MONTHS = {"per_month": 1, "per_year": 12}


def budget_reason(reason: matching.Reason, price_unit: str) -> matching.Reason | None:
    """"Within budget" as the package's price unit allows it to be said.

    A total price (per set, per project) compares with a total budget as it is. A price per
    month or year is estimated over :data:`BUDGET_MONTHS` (``months`` and ``estimate_fen`` are
    added, and the page states the assumption); no claim if the estimate is over the budget. A
    price per device cannot be compared without a device count: no claim.
    """
    params = dict(reason.params)
    if price_unit not in PERIOD_MONTHS:
        return reason if price_unit in ("per_set", "per_project") else None
    price, budget = params.get("price_fen"), params.get("budget_max_fen")
    if price is None or budget is None:
        return None
    months = BUDGET_MONTHS[price_unit]
    estimate = price * months // PERIOD_MONTHS[price_unit]
    if estimate > budget:
        return None
    return matching.Reason(reason.code, {**params, "months": months, "estimate_fen": estimate})


def _reasons_for(package: Package, reasons) -> tuple[matching.Reason, ...]:
    out = []
    for reason in reasons:
        if reason.code == "within_budget":
            reason = budget_reason(reason, package.price_unit)
        if reason is not None:
            out.append(reason)
    return tuple(out)


def _load(model, recommendations, query=None) -> list[Suggestion]:
    ids = [r.id for r in recommendations]
    if not ids:
        return []
    query = (query if query is not None else select(model)).where(model.id.in_(ids))
    if model is Package:
        query = query.options(*package_card_details())
    found = {obj.id: obj for obj in db.session.scalars(query)}
    return [Suggestion(found[r.id], r.score,
                       _reasons_for(found[r.id], r.reasons) if model is Package
                       else tuple(r.reasons))
            for r in recommendations if r.id in found]


def _settled_packages(need_ids) -> set[int]:
    """Packages not to recommend again for these needs: dismissed (不合适) or already requested."""
    return set(db.session.scalars(select(MatchFeedback.package_id).where(
        MatchFeedback.need_id.in_(list(need_ids)),
        MatchFeedback.kind.in_((FeedbackKind.DISMISSED, FeedbackKind.REQUEST)))))


def packages_for_need(need: Need, n: int = 8) -> list[Suggestion]:
    matcher = _matcher()
    if matcher is None:
        return []
    found = matcher.recommend(need_record(need), N=n,
                              filter_items=_settled_packages([need.id]))
    return _load(Package, found, public_packages())


def packages_for_description(enterprise: Enterprise, text: str, category: str | None,
                             scenario_level: str | None = None, n: int = 3) -> list[Suggestion]:
    """Packages for a need the enterprise has not posted (a self-diagnosis suggestion): the
    need page's ranking for a record that is not stored."""
    matcher = _matcher()
    if matcher is None:
        return []
    record = matching.NeedRecord(
        id=f"draft:{enterprise.id}:{category}", text=text, category=category,
        scenario_level=scenario_level, industry=enterprise.industry_code,
        cluster=enterprise.cluster_code, regions=region_codes_up(enterprise.county),
        chain_leader_id=enterprise.chain_leader_id, enterprise_id=enterprise.id,
    )
    return _load(Package, matcher.recommend(record, N=n), public_packages())


def packages_for_enterprise(enterprise: Enterprise, n: int = 6) -> list[Suggestion]:
    matcher = _matcher()
    if matcher is None:
        return []
    record = enterprise_record(enterprise)
    settled = _settled_packages([need.id for need in record.open_needs])
    return _load(Package, matcher.recommend(record, N=n, filter_items=settled),
                 public_packages())


def similar_packages(package: Package, n: int = 4) -> list[Suggestion]:
    matcher = _matcher()
    if matcher is None:
        return []
    try:
        found = matcher.similar_packages(package.id, N=n)
    except KeyError:  # a draft or archived package is not in the recommender
        found = matcher.similar_packages(package_record(package), N=n)
    return _load(Package, [r for r in found if r.id != package.id], public_packages())


def leads_for_provider(user: User, n: int = 20) -> list[tuple[Suggestion, Package]]:
    """Open public needs that fit the provider's published packages, best first.

    Ranking them scores every open need once per package (a provider with 17 packages: 150 ms
    at 145k needs), so the ranking is kept for ``LEADS_CACHE_SECONDS`` under a key naming the
    provider's packages as they are now (publishing, editing or withdrawing one ranks afresh);
    the needs themselves are read from the database on every visit, so a need closed meanwhile
    is not shown."""
    matcher = _matcher()
    if user.provider_id is None or matcher is None:
        return []
    own = {p.id: p for p in db.session.scalars(
        _package_query().where(Package.provider_id == user.provider_id))}
    state = sorted((p.id, p.updated_at.timestamp() if p.updated_at else 0) for p in own.values())
    key = f"leads:{user.provider_id}:{n}:{hash(tuple(state)) & 0xFFFFFFFF:x}"
    ranked, _at = kept(key, "LEADS_CACHE_SECONDS", lambda: _rank_leads(matcher, list(own), n))
    loaded = {s.item.id: s for s in _load(Need, [r for r, _ in ranked], _lead_needs_query())}
    return [(loaded[r.id], own[package_id]) for r, package_id in ranked
            if r.id in loaded and package_id in own]


def _rank_leads(matcher, package_ids: list[int], n: int):
    """(recommendation, package id) for the ``n`` needs fitting one of the packages best."""
    best: dict[int, tuple[matching.Recommendation, int]] = {}
    for package_id in package_ids:
        for rec in matcher.recommend_needs(package_id, N=n):
            if rec.id not in best or rec.score > best[rec.id][0].score:
                best[rec.id] = (rec, package_id)
    return sorted(best.values(), key=lambda pair: -pair[0].score)[:n]


# -- learning from what SMEs did ----------------------------------------------------------------


# Impressions are written by a POST, never by the GET that renders the need page: a link on
# another site can make a browser open the page with its login cookie (SameSite=Lax allows
# top-level GETs), and a GET that writes would let any site record "shown" for packages the
# owner never looked at. The page carries a signed receipt of what it showed, and a small
# script posts it back with the CSRF token (:func:`record_impression_receipt`).
IMPRESSION_SALT = "impressions"
IMPRESSION_RECEIPT_MAX_AGE = 24 * 60 * 60
MAX_RECEIPT = 4000


def _receipts() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=IMPRESSION_SALT)


def impression_receipt(need: Need, package_ids: Iterable[int]) -> str:
    """What the need's page showed, signed, for the page to post back."""
    return _receipts().dumps([need.id, sorted(set(package_ids))])


def record_impression_receipt(actor: User, need: Need, receipt: str) -> bool:
    """Record the impressions of a receipt the need's page posted back; False when the
    receipt is not one this app made for this need in the last day (nothing is written)."""
    if not need.can_edit(actor) or len(receipt) > MAX_RECEIPT:
        return False
    try:
        need_id, package_ids = _receipts().loads(receipt, max_age=IMPRESSION_RECEIPT_MAX_AGE)
    except (BadData, TypeError, ValueError):  # forged, expired, or not a [need, ids] pair
        return False
    if need_id != need.id or not isinstance(package_ids, list) \
            or not all(type(i) is int for i in package_ids):
        return False
    _record_impressions(need, set(package_ids))
    return True


def record_impressions(need: Need, suggestions: list[Suggestion]) -> None:
    """Remember which packages were shown for a need (once per pair): the negatives that
    requests and orders are weighed against when the weights are learned."""
    _record_impressions(need, {s.item.id for s in suggestions})


def _record_impressions(need: Need, shown: set[int]) -> None:
    if not shown:
        return
    known = set(db.session.scalars(select(MatchFeedback.package_id).where(
        MatchFeedback.need_id == need.id, MatchFeedback.kind == FeedbackKind.IMPRESSION,
        MatchFeedback.package_id.in_(shown))))
    new = [MatchFeedback(need_id=need.id, package_id=package_id, kind=FeedbackKind.IMPRESSION)
           for package_id in sorted(shown - known)]
    if not new:
        return
    try:
        with db.session.begin_nested():
            db.session.add_all(new)
    except IntegrityError:  # the same page, viewed at the same moment in another worker
        pass  # recorded them first; once per pair is all that is kept


def retrain(min_events: int = 50):
    """Learn the signal weights from the stored feedback and keep them for the next refit.

    Returns the library's result, whose ``report()`` compares the ranking metrics before and
    after on held-out needs; raises ``matching.learn.InsufficientFeedback`` when too little
    feedback exists.
    """
    from matching.learn import learn_weights

    events = [{"need": f.need_id, "package": f.package_id, "event": f.kind}
              for f in db.session.scalars(select(MatchFeedback))]
    need_ids = {e["need"] for e in events}
    needs = [need_record(n) for n in db.session.scalars(
        select(Need).where(Need.id.in_(need_ids)).options(selectinload(Need.enterprise)))]
    packages = [package_record(p) for p in db.session.scalars(_package_query())]
    result = learn_weights(matching.Matcher().fit(packages), needs, events, min_events)
    recommender = get_recommender()
    recommender.directory.mkdir(parents=True, exist_ok=True)
    (recommender.directory / WEIGHTS_FILE).write_text(json.dumps(result.weights, indent=2))
    return result
