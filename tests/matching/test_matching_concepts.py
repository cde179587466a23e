"""The scenario vocabulary counts mentions, respects word boundaries and is not fooled by
packages with few concepts."""

from __future__ import annotations

from matching import Matcher, NeedRecord, PackageRecord, analyze
from matching.features import ScenarioVocabulary


def test_mentions_are_counted_once_each():
    vocabulary = ScenarioVocabulary()
    text = "设备老是坏，非计划停机多，上个月又停机三次"
    found = vocabulary.find(text, analyze(text))
    # 停机 inside 非计划停机 is the same mention; the later 停机 is a new one.
    assert found["predictive_maintenance"] == ["老是坏", "非计划停机", "停机"]
    tokens = vocabulary.tokens_many([text], [analyze(text)], counts=True)[0]
    assert tokens.count("predictive_maintenance") == 3
    assert tokens.count("cat:device_monitoring") == 3
    assert vocabulary.tokens_many([text])[0].count("predictive_maintenance") == 1


def test_a_trigger_inside_a_longer_word_is_no_mention():
    vocabulary = ScenarioVocabulary()
    text = "我们做互联网营销"
    assert "device_connectivity" in vocabulary.find(text)  # substring: 联网
    assert "device_connectivity" not in vocabulary.find(text, analyze(text))


def test_what_a_need_is_mostly_about_wins_over_a_passing_mention():
    packages = [
        PackageRecord("pm", "预测性维护", "振动监测，故障预警，减少非计划停机"),
        PackageRecord("energy", "能耗监测", "分项计量电表，用电分析，峰谷电价优化"),
        PackageRecord("wms", "仓库管理", "扫码出入库，库位管理"),
    ]
    need = NeedRecord(
        "n", "电费也不便宜。主要是设备老是坏，三天两头停机，坏了才修，抢修耽误交货，想要故障预警"
    )
    scores = _scores(Matcher(), packages, need)
    presence = _scores(Matcher(concept_counts=False), packages, need)
    assert max(scores, key=scores.get) == "pm"
    # Counting mentions shrinks the passing one's share.
    assert scores["energy"] / scores["pm"] < presence["energy"] / presence["pm"]


def test_a_package_with_one_generic_concept_does_not_outrank_the_fitting_one():
    # "narrow" carries only the concept the need mentions in passing, "fit" the need's main
    # concept among others: the l2 norm alone gives "narrow" a concept cosine of 1.0.
    packages = [
        PackageRecord("narrow", "数据采集", "数据采集"),
        PackageRecord(
            "fit", "视觉检测", "机器视觉外观检测，划痕瑕疵，漏检少，数据采集，质量追溯批次"
        ),
        *[PackageRecord(f"x{i}", "排产", "aps排程插单，生产计划，报工，工单") for i in range(5)],
    ]
    need = NeedRecord("n", "外观划痕全靠人眼挑，漏检多，瑕疵品流到客户那里，顺便做点数据采集")
    scores = _scores(Matcher(), packages, need)
    plain_l2 = _scores(Matcher(concept_pivot=0.0), packages, need)
    assert scores["fit"] > scores["narrow"]
    assert scores["narrow"] / scores["fit"] < plain_l2["narrow"] / plain_l2["fit"]


def _scores(matcher, packages, need):
    return {r.id: r.score for r in matcher.fit(packages).recommend(need, N=len(packages))}


def test_keyword_chips_hold_content_words_only():
    from matching.features import chip_word

    for weak in ("开", "写", "刚", "两个", "三天", "几台", "第一", "2024", "觉得", "每天"):
        assert not chip_word(weak), weak
    for word in ("注塑机", "mes", "电费", "一体机", "5g"):
        assert chip_word(word), word
    packages = [PackageRecord("p", "注塑机两个工位", "注塑机开机 每天 写报表 两个班")]
    need = NeedRecord("n", "两个注塑机每天开，刚写完报表")
    [rec] = Matcher().fit(packages).recommend(need)
    terms = [t for r in rec.reasons if r.code == "shared_terms" for t in r.params["terms"]]
    assert "注塑机" in terms and all(chip_word(t) for t in terms)
    assert all(r.params.get("terms", True) for r in rec.reasons)  # never an empty chip


def test_shared_concepts_carry_english_labels():
    packages = [PackageRecord("pm", "预测性维护", "故障预警，减少非计划停机")]
    [rec] = Matcher().fit(packages).recommend(NeedRecord("n", "设备老是坏，三天两头停机"))
    shared = next(r for r in rec.reasons if r.code == "shared_concepts").params
    assert shared["labels"] == ["预测性维护"] and shared["labels_en"] == ["predictive maintenance"]
