"""The meeting scheduler of matchmaking events: worked examples, then its guarantees as
properties over random inputs (no app, no database)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.schedule import (
    Assignment,
    Candidate,
    Problem,
    schedule_meetings,
    schedule_problems,
)


def pairs(result: list[Assignment]) -> list[tuple]:
    return [(a.slot, a.table, a.sme, a.provider) for a in result]


# -- worked examples ---------------------------------------------------------------------------

def test_nothing_to_schedule():
    assert schedule_meetings([], slots=3, tables=2, max_per_sme=2) == []
    assert schedule_meetings([Candidate("a", "p", 1.0)], slots=0, tables=2, max_per_sme=2) == []
    assert schedule_meetings([Candidate("a", "p", 1.0)], slots=2, tables=0, max_per_sme=2) == []
    assert schedule_meetings([Candidate("a", "p", 1.0)], slots=2, tables=2, max_per_sme=0) == []


def test_a_provider_wanted_by_everyone_meets_them_one_slot_after_another():
    wanted = [Candidate("a", "p", 0.5), Candidate("b", "p", 0.9), Candidate("c", "p", 0.7)]
    result = schedule_meetings(wanted, slots=2, tables=3, max_per_sme=3)
    # the two best fits get the two slots, the better one first; "a" cannot be fitted
    assert pairs(result) == [(0, 0, "b", "p"), (1, 0, "c", "p")]


def test_a_slot_never_has_more_meetings_than_tables():
    wanted = [Candidate("a", "p", 0.9), Candidate("b", "q", 0.8), Candidate("c", "r", 0.7)]
    assert pairs(schedule_meetings(wanted, slots=1, tables=2, max_per_sme=1)) == [
        (0, 0, "a", "p"), (0, 1, "b", "q")]
    assert pairs(schedule_meetings(wanted, slots=2, tables=2, max_per_sme=1)) == [
        (0, 0, "a", "p"), (0, 1, "b", "q"), (1, 0, "c", "r")]


def test_an_sme_meets_at_most_its_limit_and_its_best_providers_first():
    wanted = [Candidate("a", "p", 0.2), Candidate("a", "q", 0.9), Candidate("a", "r", 0.5)]
    assert pairs(schedule_meetings(wanted, slots=5, tables=1, max_per_sme=2)) == [
        (0, 0, "a", "q"), (1, 0, "a", "r")]


def test_every_smes_best_pair_comes_before_anyones_second():
    """Pure greedy by score would give "a" both tables' worth of slots and "b" nothing."""
    wanted = [Candidate("a", "p", 0.9), Candidate("a", "q", 0.8), Candidate("b", "r", 0.3)]
    assert pairs(schedule_meetings(wanted, slots=2, tables=1, max_per_sme=2)) == [
        (0, 0, "a", "p"), (1, 0, "b", "r")]


def test_a_pair_goes_to_the_earliest_slot_where_both_sides_are_free():
    wanted = [Candidate("a", "p", 0.9), Candidate("b", "q", 0.8), Candidate("b", "p", 0.7),
              Candidate("a", "q", 0.6)]
    # round 0: a–p in slot 0, b–q in slot 0; round 1: b–p and a–q both move to slot 1
    assert pairs(schedule_meetings(wanted, slots=3, tables=4, max_per_sme=2)) == [
        (0, 0, "a", "p"), (0, 1, "b", "q"), (1, 0, "b", "p"), (1, 1, "a", "q")]


def test_a_pair_listed_twice_meets_once_with_its_best_score():
    wanted = [Candidate("a", "p", 0.1), Candidate("a", "p", 0.8)]
    result = schedule_meetings(wanted, slots=3, tables=3, max_per_sme=3)
    assert result == [Assignment(0, 0, "a", "p", 0.8)]


def test_ties_fall_to_the_keys():
    wanted = [Candidate(2, 20, 0.5), Candidate(1, 20, 0.5), Candidate(1, 10, 0.5)]
    assert pairs(schedule_meetings(wanted, slots=2, tables=1, max_per_sme=1)) == [
        (0, 0, 1, 10), (1, 0, 2, 20)]


def test_negative_sizes_are_refused():
    with pytest.raises(ValueError):
        schedule_meetings([], slots=-1, tables=1, max_per_sme=1)


@pytest.mark.parametrize(("schedule_", "kind"), [
    ([Assignment(3, 0, "a", "p")], "slot_out_of_range"),
    ([Assignment(0, 2, "a", "p")], "table_out_of_range"),
    ([Assignment(0, 0, "a", "p"), Assignment(0, 0, "b", "q")], "table_taken"),
    ([Assignment(0, 0, "a", "p"), Assignment(0, 1, "a", "q")], "sme_busy"),
    ([Assignment(0, 0, "a", "p"), Assignment(0, 1, "b", "p")], "provider_busy"),
    ([Assignment(0, 0, "a", "p"), Assignment(1, 0, "a", "p")], "pair_repeated"),
    ([Assignment(0, 0, "a", "p"), Assignment(1, 0, "a", "q")], "sme_over_limit"),
])
def test_problems_names_each_broken_rule(schedule_, kind):
    limit = 1 if kind == "sme_over_limit" else 2
    found = schedule_problems(schedule_, slots=3, tables=2, max_per_sme=limit)
    assert [p.kind for p in found] == [kind]
    assert found[0].assignment == schedule_[-1]


def test_a_good_schedule_has_no_problems():
    good = [Assignment(0, 0, "a", "p"), Assignment(0, 1, "b", "q"), Assignment(1, 0, "a", "q")]
    assert schedule_problems(good, slots=2, tables=2, max_per_sme=2) == []
    assert schedule_problems(good, slots=2, tables=2, max_per_sme=1) == [
        Problem("sme_over_limit", good[2])]


# -- properties --------------------------------------------------------------------------------

SMES = st.integers(0, 6)
PROVIDERS = st.sampled_from([f"p{i}" for i in range(6)])
SCORES = st.floats(0, 1, allow_nan=False).map(lambda x: round(x, 2))  # ties happen
CANDIDATES = st.lists(st.builds(Candidate, SMES, PROVIDERS, SCORES), max_size=40)
SIZES = st.tuples(st.integers(0, 5), st.integers(0, 4), st.integers(0, 4))
PROPERTY = settings(max_examples=300, deadline=None)


def expected_order(candidates: list[Candidate]) -> list[Candidate]:
    """The documented order, written out independently of the module: best score per pair;
    round = the pair's rank among its SME's pairs; then (round, -score, sme, provider)."""
    best: dict[tuple, float] = {}
    for c in candidates:
        best[(c.sme, c.provider)] = max(best.get((c.sme, c.provider), c.score), c.score)
    ranked = []
    for sme in {s for s, _ in best}:
        own = sorted(((score, p) for (s, p), score in best.items() if s == sme),
                     key=lambda x: (-x[0], x[1]))
        ranked += [((rank, -score, sme, p), Candidate(sme, p, score))
                   for rank, (score, p) in enumerate(own)]
    return [c for _, c in sorted(ranked, key=lambda x: x[0])]


def fits(sme, provider, placed: list[Assignment], slots: int, tables: int,
         max_per_sme: int) -> bool:
    """Whether the pair could be added to ``placed`` somewhere without breaking a rule."""
    if sum(a.sme == sme for a in placed) >= max_per_sme:
        return False
    for slot in range(slots):
        here = [a for a in placed if a.slot == slot]
        if len(here) < tables and all(a.sme != sme and a.provider != provider for a in here):
            return True
    return False


@PROPERTY
@given(CANDIDATES, SIZES)
def test_the_schedule_keeps_every_rule(candidates, sizes):
    slots, tables, max_per_sme = sizes
    result = schedule_meetings(candidates, slots, tables, max_per_sme)
    assert schedule_problems(result, slots, tables, max_per_sme) == []
    per_slot = Counter(a.slot for a in result)
    assert all(count <= tables for count in per_slot.values())
    assert result == sorted(result, key=lambda a: (a.slot, a.table))


@PROPERTY
@given(CANDIDATES, SIZES)
def test_every_assignment_is_a_candidate_with_its_best_score(candidates, sizes):
    result = schedule_meetings(candidates, *sizes)
    best: dict[tuple, float] = {}
    for c in candidates:
        best[(c.sme, c.provider)] = max(best.get((c.sme, c.provider), c.score), c.score)
    for a in result:
        assert best[(a.sme, a.provider)] == a.score
    assert len({(a.sme, a.provider) for a in result}) == len(result)


@PROPERTY
@given(CANDIDATES, SIZES)
def test_no_candidate_left_out_could_be_added(candidates, sizes):
    """Maximal: whatever is left out has its SME at its limit or no slot where both sides and
    a table are free."""
    result = schedule_meetings(candidates, *sizes)
    placed = {(a.sme, a.provider) for a in result}
    for c in candidates:
        if (c.sme, c.provider) not in placed:
            assert not fits(c.sme, c.provider, result, *sizes)


@PROPERTY
@given(CANDIDATES, SIZES)
def test_only_pairs_ranked_ahead_crowd_a_pair_out(candidates, sizes):
    """Priority: a left-out pair could not be added even to the meetings of the pairs ahead of
    it in the documented order (every SME's best before anyone's second, then by score)."""
    result = schedule_meetings(candidates, *sizes)
    by_pair = {(a.sme, a.provider): a for a in result}
    ahead: list[Assignment] = []
    for c in expected_order(candidates):
        meeting = by_pair.get((c.sme, c.provider))
        if meeting is None:
            assert not fits(c.sme, c.provider, ahead, *sizes), c
        else:
            ahead.append(meeting)
    assert len(ahead) == len(result)


@PROPERTY
@given(st.data(), CANDIDATES, SIZES)
def test_the_same_candidates_in_any_order_give_the_same_schedule(data, candidates, sizes):
    shuffled = data.draw(st.permutations(candidates))
    assert schedule_meetings(shuffled, *sizes) == schedule_meetings(candidates, *sizes)


@PROPERTY
@given(st.lists(SCORES, min_size=1, max_size=6), st.integers(1, 3))
def test_with_room_for_everyone_every_pair_meets(scores, slots):
    """Distinct SMEs and providers, enough tables: nothing stands in anyone's way."""
    candidates = [Candidate(i, f"p{i}", s) for i, s in enumerate(scores)]
    result = schedule_meetings(candidates, slots=slots, tables=len(scores), max_per_sme=1)
    assert {(a.sme, a.provider) for a in result} == {(c.sme, c.provider) for c in candidates}
    assert {a.slot for a in result} == {0}
