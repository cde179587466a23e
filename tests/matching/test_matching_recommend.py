"""Ranking, reasons, chain boost, filters and the four directions."""

from __future__ import annotations

import numpy as np
import pytest

from matching import FEATURE_NAMES, EnterpriseRecord, Matcher, NeedRecord
from tests.matching.matching_helpers import make_package


def codes(recommendation):
    return [reason.code for reason in recommendation.reasons]


def test_everyday_wording_finds_the_solution_with_reasons(fitted, broken_machines):
    top = fitted.recommend(broken_machines, N=3)
    assert top[0].id == "pm"
    assert "shared_concepts" in codes(top[0])
    concepts = next(r for r in top[0].reasons if r.code == "shared_concepts")
    assert "predictive_maintenance" in concepts.params["concepts"]
    assert {"same_industry", "within_budget", "verified_provider"} <= set(codes(top[0]))
    assert all(isinstance(r.as_dict()["code"], str) for rec in top for r in rec.reasons)


def test_scores_are_sorted_and_N_is_respected(fitted, broken_machines):
    recs = fitted.recommend(broken_machines, N=2)
    assert len(recs) == 2
    assert recs[0].score >= recs[1].score
    item, score, reasons = recs[0]
    assert isinstance(score, float) and isinstance(reasons, tuple)


def test_eliminated_providers_are_never_recommended(fitted):
    need = NeedRecord(id="e", text="电费太高，想知道哪里最费电")
    assert "energy" not in [r.id for r in fitted.recommend(need, N=10)]


def test_chain_leader_platform_gets_a_strong_explained_boost(catalogue, broken_machines):
    matcher = Matcher().fit(catalogue)
    plain = matcher.recommend(broken_machines, N=2)
    in_chain = NeedRecord(**{**_fields(broken_machines), "chain_leader_id": "L1"})
    chained = matcher.recommend(in_chain, N=2)
    assert plain[0].id == "pm"
    assert chained[0].id == "pm-chain"
    assert "chain_leader_platform" in codes(chained[0])


def test_chain_boost_does_not_lift_a_package_that_does_not_fit(catalogue, broken_machines):
    matcher = Matcher().fit(catalogue)
    in_chain = NeedRecord(**{**_fields(broken_machines), "chain_leader_id": "L1"})
    recs = {r.id: r for r in matcher.recommend(in_chain, N=10)}
    # The chain leader's MES platform is gated out: the text does not fit machine breakdowns.
    assert "chain_leader_platform" not in codes(recs["mes"])
    assert recs["mes"].score < recs["pm"].score


def test_providers_adopted_in_the_chain_are_boosted(catalogue):
    need = NeedRecord(id="s", text="排产全靠手工表格，插单一来就乱", chain_leader_id="L9")
    matcher = Matcher().fit(catalogue, chain_adoption={"L9": {"adopted-vendor": 3}})
    top = matcher.recommend(need, N=1)[0]
    adopted = next(r for r in top.reasons if r.code == "chain_adopted")
    assert top.id == "aps" and adopted.params["count"] == 3
    without = Matcher().fit(catalogue).recommend(need, N=1)[0]
    assert top.score > without.score


def test_filter_items_and_items(fitted, broken_machines):
    ids = [r.id for r in fitted.recommend(broken_machines, filter_items={"pm"})]
    assert "pm" not in ids
    only = fitted.recommend(broken_machines, items=["aps", "mes"])
    assert {r.id for r in only} <= {"aps", "mes"}


def test_region_not_served_is_penalised_or_excluded(catalogue):
    need = NeedRecord(id="q", text="外观划痕全靠人眼挑", regions=("320106", "320100", "320000"))
    soft = Matcher().fit(catalogue).recommend(need, N=10)
    strict = Matcher(strict_region=True).fit(catalogue).recommend(need, N=10)
    assert "vision" in [r.id for r in soft]
    assert "vision" not in [r.id for r in strict]
    local = NeedRecord(id="q2", text=need.text, regions=("320506", "320500", "320000"))
    top = Matcher().fit(catalogue).recommend(local, N=1)[0]
    assert top.id == "vision" and "serves_region" in codes(top)


def test_subsidy_brings_a_package_within_budget(catalogue):
    need = NeedRecord(id="b", text="生产进度看不到，工单全是纸", budget_max_fen=5_000_000)
    matcher = Matcher().fit(catalogue)
    before = next(r for r in matcher.recommend(need) if r.id == "mes")
    matcher.set_subsidised_prices({"mes": 4_000_000})
    after = next(r for r in matcher.recommend(need) if r.id == "mes")
    assert after.score > before.score
    assert {"within_budget", "subsidy"} <= set(codes(after))


def test_leads_for_a_package(fitted):
    leads = fitted.recommend_needs("pm", N=5)
    assert leads[0].id == "n1"
    assert "same_industry" in codes(leads[0])
    assert fitted.recommend_needs("energy") == []
    with pytest.raises(KeyError):
        fitted.recommend_needs("missing")


def test_similar_packages_exclude_the_package_itself(fitted):
    similar = fitted.similar_packages("pm", N=3)
    assert similar[0].id == "pm-chain"
    assert "pm" not in [r.id for r in similar]


def test_enterprise_recommendations_merge_needs_and_fall_back_to_profile(fitted, broken_machines):
    enterprise = EnterpriseRecord(id="e1", industry="C34", open_needs=(broken_machines,))
    recs = fitted.recommend(enterprise, N=3)
    assert recs[0].id == "pm" and recs[0].reasons[0].code == "for_need"
    profile_only = fitted.recommend(EnterpriseRecord(id="e2", chain_leader_id="L1"), N=2)
    assert {r.id for r in profile_only} == {"pm-chain", "mes"}


def test_indexed_need_can_be_queried_by_id(fitted, broken_machines):
    by_id = fitted.recommend("n1", N=3)
    by_record = fitted.recommend(broken_machines, N=3)
    assert [r.id for r in by_id] == [r.id for r in by_record]
    assert np.allclose([r.score for r in by_id], [r.score for r in by_record])


def test_fast_scoring_path_agrees_with_the_pair_features(catalogue):
    need = NeedRecord(
        id="x",
        text="机器老是坏，排产靠excel",
        industry="C34",
        scenario_level="cell",
        regions=("320506", "320500", "320000"),
        budget_max_fen=4_000_000,
        chain_leader_id="L1",
    )
    matcher = Matcher().fit(
        catalogue, chain_adoption={"L1": ["adopted-vendor"]}, subsidised_prices={"mes": 1}
    )
    recs = matcher.recommend(need, N=10)
    features = matcher.pair_features(need, [r.id for r in recs])
    weights = np.array([matcher.weights_[f] for f in FEATURE_NAMES])
    assert np.allclose(features @ weights, [r.score for r in recs], atol=1e-4)


def test_new_package_without_tokens_is_segmented(catalogue):
    extra = make_package("cad", "云CAD图纸管理", "图纸版本管理，设计变更", category="rnd_design")
    matcher = Matcher().fit([*catalogue, extra])
    need = NeedRecord(id="d", text="图纸老用错版本")
    assert matcher.recommend(need, N=1)[0].id == "cad"


def _fields(need: NeedRecord) -> dict:
    return {f: getattr(need, f) for f in need.__slots__}
