"""Meeting schedules for matchmaking events (供需对接活动): who meets whom, in which slot, at
which table. Plain values in, plain values out — no Flask, no database.

The rule of :func:`schedule_meetings`:

1. Candidates are ``(sme, provider, score)``; a pair listed twice keeps its best score.
2. Pairs are taken round-robin by preference: each SME's candidates are ranked by score (its best
   is round 0), and pairs are taken by ``(round, -score, sme, provider)``. Every SME's best pair
   is placed before anyone's second best, so an SME whose scores are all low is not crowded out
   by one whose scores are high; within a round the higher score goes first. Ties fall to the
   keys' own order, so the same input always gives the same schedule (keys must be comparable:
   ids or strings).
3. Each pair in turn goes into the earliest slot where the SME and the provider are both free
   and a table is free, at the lowest free table. It is skipped when its SME already has
   ``max_per_sme`` meetings or no slot fits.

What it guarantees (``tests/matching/test_schedule.py`` checks each on random inputs):

- no SME and no provider has two meetings in one slot; a slot has at most ``tables`` meetings,
  each at its own table in ``range(tables)``; slots lie in ``range(slots)``;
- every assignment is a candidate pair, each pair meets at most once, no SME has more than
  ``max_per_sme`` meetings (:func:`schedule_problems` finds any breach in a schedule);
- *maximal*: a candidate left out cannot be added to the result without breaking a rule;
- *priority*: a candidate left out could not have been added even to just the assignments of
  the pairs ahead of it in the order of step 2 — only pairs that rank before it crowded it out;
- the same input gives the same output, whatever the order of the candidates.

Greedy placement does not maximise the total score (no polynomial rule here claims to); it is
predictable for the official who adjusts the proposal afterwards, and fair across SMEs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """A pair that may meet, with how well the provider fits the SME (higher is better)."""

    sme: Hashable
    provider: Hashable
    score: float


@dataclass(frozen=True, order=True)
class Assignment:
    """One meeting: ``slot`` and ``table`` count from 0."""

    slot: int
    table: int
    sme: Hashable
    provider: Hashable
    score: float = 0.0


@dataclass(frozen=True)
class Problem:
    """A rule a schedule breaks, and the assignment that breaks it.

    ``kind`` is one of ``slot_out_of_range``, ``table_out_of_range``, ``table_taken``,
    ``sme_busy``, ``provider_busy``, ``pair_repeated``, ``sme_over_limit``.
    """

    kind: str
    assignment: Assignment


def best_candidates(candidates: Iterable[Candidate]) -> dict[tuple, Candidate]:
    """One candidate per (sme, provider) pair: the best score."""
    best: dict[tuple, Candidate] = {}
    for candidate in candidates:
        key = (candidate.sme, candidate.provider)
        if key not in best or candidate.score > best[key].score:
            best[key] = candidate
    return best


def priority_order(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The candidates in the order :func:`schedule_meetings` places them (step 2 of the rule)."""
    by_sme: dict[Hashable, list[Candidate]] = defaultdict(list)
    for candidate in best_candidates(candidates).values():
        by_sme[candidate.sme].append(candidate)
    keyed = []
    for own in by_sme.values():
        own.sort(key=lambda c: (-c.score, c.provider))
        keyed.extend(((rank, -c.score, c.sme, c.provider), c) for rank, c in enumerate(own))
    keyed.sort(key=lambda pair: pair[0])
    return [candidate for _key, candidate in keyed]


class _Grid:
    """Occupancy of the slots while a schedule is built."""

    def __init__(self, slots: int, tables: int):
        self.slots, self.tables = slots, tables
        self.smes_in = [set() for _ in range(slots)]
        self.providers_in = [set() for _ in range(slots)]
        self.tables_in = [set() for _ in range(slots)]
        self.meetings_of: dict[Hashable, int] = defaultdict(int)

    def first_fit(self, sme: Hashable, provider: Hashable) -> tuple[int, int] | None:
        for slot in range(self.slots):
            if (sme in self.smes_in[slot] or provider in self.providers_in[slot]
                    or len(self.tables_in[slot]) >= self.tables):
                continue
            table = next(t for t in range(self.tables) if t not in self.tables_in[slot])
            return slot, table
        return None

    def place(self, assignment: Assignment) -> None:
        self.smes_in[assignment.slot].add(assignment.sme)
        self.providers_in[assignment.slot].add(assignment.provider)
        self.tables_in[assignment.slot].add(assignment.table)
        self.meetings_of[assignment.sme] += 1


def schedule_meetings(candidates: Iterable[Candidate], slots: int, tables: int,
             max_per_sme: int) -> list[Assignment]:
    """Assign candidate pairs to ``slots`` × ``tables`` (see the module's rule), sorted by
    slot and table."""
    if slots < 0 or tables < 0 or max_per_sme < 0:
        raise ValueError("slots, tables and max_per_sme must not be negative")
    grid = _Grid(slots, tables)
    placed: list[Assignment] = []
    for candidate in priority_order(candidates):
        if grid.meetings_of[candidate.sme] >= max_per_sme:
            continue
        fit = grid.first_fit(candidate.sme, candidate.provider)
        if fit is None:
            continue
        assignment = Assignment(fit[0], fit[1], candidate.sme, candidate.provider,
                                candidate.score)
        grid.place(assignment)
        placed.append(assignment)
    return sorted(placed, key=lambda a: (a.slot, a.table))


def schedule_problems(assignments: Iterable[Assignment], slots: int, tables: int,
             max_per_sme: int | None = None) -> list[Problem]:
    """Every rule the schedule breaks (empty when it keeps them all); the assignment named is
    the later of two that clash, in the order given."""
    found: list[Problem] = []
    seen_tables, seen_smes, seen_providers, seen_pairs = set(), set(), set(), set()
    count: dict[Hashable, int] = defaultdict(int)
    for a in assignments:
        checks = [
            ("slot_out_of_range", not 0 <= a.slot < slots),
            ("table_out_of_range", not 0 <= a.table < tables),
            ("table_taken", (a.slot, a.table) in seen_tables),
            ("sme_busy", (a.slot, a.sme) in seen_smes),
            ("provider_busy", (a.slot, a.provider) in seen_providers),
            ("pair_repeated", (a.sme, a.provider) in seen_pairs),
            ("sme_over_limit", max_per_sme is not None and count[a.sme] >= max_per_sme),
        ]
        found.extend(Problem(kind, a) for kind, broken in checks if broken)
        seen_tables.add((a.slot, a.table))
        seen_smes.add((a.slot, a.sme))
        seen_providers.add((a.slot, a.provider))
        seen_pairs.add((a.sme, a.provider))
        count[a.sme] += 1
    return found
