"""The estimator contract (scikit-learn style)."""

from __future__ import annotations

import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from matching import DEFAULT_WEIGHTS, Matcher


def test_init_only_stores_hyperparameters():
    matcher = Matcher(weights={"same_industry": 0.5}, gate=(0.1, 0.5))
    assert matcher.get_params()["weights"] == {"same_industry": 0.5}
    assert not [k for k in vars(matcher) if k.endswith("_") and not k.startswith("_")]
    assert clone(matcher).get_params() == matcher.get_params()


def test_fit_returns_self_and_sets_learned_state(catalogue):
    matcher = Matcher()
    assert matcher.fit(catalogue) is matcher
    assert matcher.weights_ == DEFAULT_WEIGHTS
    assert matcher.package_ids_ == [p.id for p in catalogue]


def test_use_before_fit_raises(broken_machines):
    with pytest.raises(NotFittedError):
        Matcher().recommend(broken_machines)


def test_unknown_weight_and_empty_catalogue_are_refused(catalogue):
    with pytest.raises(ValueError, match="unknown weights"):
        Matcher(weights={"nonsense": 1.0}).fit(catalogue)
    with pytest.raises(ValueError, match="without packages"):
        Matcher().fit([])


def test_set_params_then_refit_changes_scores(catalogue, broken_machines):
    base = Matcher().fit(catalogue).recommend(broken_machines)
    other = Matcher(weights={"same_industry": 2.0}).fit(catalogue).recommend(broken_machines)
    assert base[0].id == other[0].id == "pm"
    assert other[0].score > base[0].score


def test_a_one_package_catalogue_can_be_fitted():
    from matching import Matcher, NeedRecord, PackageRecord

    matcher = Matcher().fit([PackageRecord(id=1, title="设备联网监测", text="停机报警")])
    found = matcher.recommend(NeedRecord(id=9, text="机器老是停机"), N=3)
    assert [r.id for r in found] == [1]


def test_leads_with_no_open_needs_are_empty():
    from matching import Matcher, NeedRecord, PackageRecord

    matcher = Matcher().fit([PackageRecord(id=1, title="设备联网监测", text="停机报警")])
    assert matcher.recommend_needs(1, N=5) == []
    matcher.upsert_needs([NeedRecord(id=7, text="机器老是停机")])
    matcher.remove_needs([7])
    assert matcher.recommend_needs(1, N=5) == []
