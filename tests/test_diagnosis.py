"""Self-diagnosis: the scoring rules (table and property tests), the questionnaire data, the
pages (validation, result, plan, one-click needs, history) and who sees which results."""

import json
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.extensions import db
from marketplace.models import (
    AuditEntry,
    DiagnosisNeed,
    DiagnosisResult,
    LedgerEntry,
    Need,
    Region,
    SubsidyProgram,
    User,
)
from marketplace.services import diagnosis
from marketplace.services.diagnosis import (
    answer_errors,
    load_questionnaire,
    parse_questionnaire,
    score_answers,
)
from tests.conftest import AuthActions

DATA = Path(__file__).resolve().parent.parent / "marketplace" / "data"
Q = load_questionnaire()
CODES = [q.code for q in Q.questions]
BY_DIMENSION = {d.code: [q.code for q in Q.questions if q.dimension == d.code]
                for d in Q.dimensions}


def answers(default: str = "a", **chosen) -> dict[str, str]:
    return {code: chosen.get(code, default) for code in CODES}


def dimension_answers(**per_dimension) -> dict[str, str]:
    """Every question of a dimension answered with the given option (``a`` where not given)."""
    return {code: per_dimension.get(q_dim, "a")
            for q_dim, codes in BY_DIMENSION.items() for code in codes}


# -- the rules, as a table ----------------------------------------------------------------------

# option codes a–d earn 0, 35, 70, 100 points on every question of the shipped questionnaire
TABLE = [
    ("nothing digital", answers("a"), 0.0, 1),
    ("everything at the top", answers("d"), 100.0, 4),
    ("all third answers", answers("c"), 70.0, 3),
    ("all second answers", answers("b"), 35.0, 1),
    # foundation only at the top: 20 of 100
    ("foundation only", dimension_answers(foundation="d"), 20.0, 1),
    # operations at 70 (28) + the rest at 35 (21): 49, operations ≥ 30 → level 2
    ("operations ahead", dimension_answers(operations="c", foundation="b", management="b",
                                           results="b"), 49.0, 2),
    # 60 points without operations, operations at 35 (14): 74 … but level 3 needs operations
    # ≥ 50: the gate holds it at level 2
    ("strong elsewhere, weak operations", dimension_answers(foundation="d", management="d",
                                                          results="d", operations="b"), 74.0, 2),
]


@pytest.mark.parametrize(("name", "given_answers", "score", "level"), TABLE,
                         ids=[row[0] for row in TABLE])
def test_score_table(name, given_answers, score, level):
    result = score_answers(Q, given_answers)
    assert (result.score, result.level) == (score, level)


def test_level_four_needs_operations_at_seventy():
    ops = BY_DIMENSION["operations"]
    half = {code: ("d" if i < len(ops) // 2 else "a") for i, code in enumerate(ops)}
    result = score_answers(Q, {**answers("d"), **half})
    # 60 + 40 × 50% = 80 points, yet operations at 50 < 70 keeps it at level 3
    assert (result.score, result.dimensions["operations"], result.level) == (80.0, 50.0, 3)
    result = score_answers(Q, {**answers("d"), **{code: "c" for code in ops}})
    assert (result.score, result.level) == (88.0, 4)


def test_worked_example_of_the_docs():
    """docs/diagnosis.md walks through exactly this enterprise."""
    given_answers = answers("b", equipment="a", network_cloud="c", integration="a",
                            security="b", production="c", quality="a", erp="c",
                            planning="c", efficiency="a")
    result = score_answers(Q, given_answers)
    assert result.dimensions == {"foundation": 26.3, "operations": 39.4, "management": 43.8,
                                 "results": 26.3}
    assert (result.score, result.level) == (35.0, 1)
    assert [a.question.code for a in result.plan] == ["equipment", "integration", "quality"]
    assert [a.points_lost for a in result.plan] == [5.0, 5.0, 5.0]


def test_weak_areas_rank_the_most_points_lost_first():
    result = score_answers(Q, answers("d", rnd="b", planning="a", equipment="c"))
    assert [(a.question.code, a.score) for a in result.weak_areas] == [("planning", 0),
                                                                       ("rnd", 35)]
    assert [a.question.code for a in result.plan] == ["planning", "rnd"]  # only weak ones
    assert result.areas[2].question.code == "equipment"  # not weak: after the weak ones


def test_rounding_is_half_up_on_exact_values():
    assert diagnosis.round1(diagnosis.Fraction(2625, 100)) == 26.3
    assert diagnosis.round1(diagnosis.Fraction(3994, 100)) == 39.9
    assert diagnosis.round1(diagnosis.Fraction(3995, 100)) == 40.0


# -- the rules, as properties -------------------------------------------------------------------

answer_sets = st.fixed_dictionaries({
    q.code: st.sampled_from([o.code for o in q.options]) for q in Q.questions})


@settings(max_examples=300, deadline=None)
@given(answer_sets)
def test_scores_stay_within_bounds(given_answers):
    result = score_answers(Q, given_answers)
    assert 0 <= result.score <= 100
    assert all(0 <= value <= 100 for value in result.dimensions.values())
    assert result.level in {lv.level for lv in Q.levels}
    assert len(result.areas) == len(Q.questions)
    assert len(result.plan) <= Q.plan_areas
    assert all(a.score < Q.weak_below for a in result.weak_areas)
    level = Q.level(result.level)
    assert result.score >= level.min_score


@settings(max_examples=300, deadline=None)
@given(answer_sets, st.sampled_from(CODES), st.data())
def test_a_better_answer_never_lowers_score_or_level(given_answers, code, data):
    question = Q.question(code)
    current = question.option(given_answers[code]).score
    better = [o.code for o in question.options if o.score >= current]
    improved = {**given_answers, code: data.draw(st.sampled_from(better))}
    before, after = score_answers(Q, given_answers), score_answers(Q, improved)
    assert after.score >= before.score
    assert after.level >= before.level
    assert all(after.dimensions[d] >= before.dimensions[d] for d in before.dimensions)


@settings(max_examples=100, deadline=None)
@given(answer_sets)
def test_the_level_is_the_highest_whose_thresholds_are_met(given_answers):
    result = score_answers(Q, given_answers)
    met = [lv.level for lv in Q.levels if result.score >= lv.min_score and all(
        result.dimensions[d] >= least for d, least in lv.min_dimensions.items())]
    assert result.level == max(met)


def test_answer_errors_name_each_missing_or_foreign_answer():
    given_answers = answers("a")
    del given_answers["equipment"]
    given_answers["quality"] = "z"
    given_answers["rnd"] = ""
    errors = answer_errors(Q, given_answers)
    assert set(errors) == {"equipment", "quality", "rnd"}
    assert str(errors["quality"]) == "请从列出的选项中选择。"
    assert answer_errors(Q, answers("c")) == {}


# -- the questionnaire data ---------------------------------------------------------------------


def test_every_suggestion_posts_as_a_valid_need():
    categories = {c["code"] for c in json.loads((DATA / "categories.json").read_text("utf-8"))}
    levels = {s["code"] for s in json.loads((DATA / "scenario_levels.json").read_text("utf-8"))}
    for question in Q.questions:
        assert question.suggestions, question.code
        for s in question.suggestions:
            assert s.category in categories and s.scenario_level in levels, s.code
            assert 1 <= len(s.title) <= 120 and 20 <= len(s.description) <= 4000, s.code
            assert s.title_en and s.description_en, s.code
    assert {q.dimension for q in Q.questions} == {"foundation", "operations", "management",
                                                  "results"}
    assert [lv.name for lv in Q.levels] == ["一级", "二级", "三级", "四级"]


@pytest.mark.parametrize("breakage", [
    lambda raw: raw["dimensions"][0].update(weight=99),
    lambda raw: raw["questions"][0]["options"][-1].update(score=90),
    lambda raw: raw["questions"][0].update(dimension="nowhere"),
    lambda raw: raw["levels"][0].update(min_score=10),
    lambda raw: raw["questions"][1]["suggestions"][0].update(
        code=raw["questions"][0]["suggestions"][0]["code"]),
])
def test_a_questionnaire_the_rules_cannot_score_is_refused(breakage):
    raw = json.loads((DATA / "diagnosis.json").read_text("utf-8"))
    breakage(raw)
    with pytest.raises(ValueError):
        parse_questionnaire(raw)


# -- pages --------------------------------------------------------------------------------------


def _login(app, user):
    client = app.test_client()
    assert AuthActions(client, app).login(user).status_code == 302
    return client


@pytest.fixture
def sme(app, make_user):
    return make_user()


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_incomplete_or_foreign_answers_show_beside_the_question_and_write_nothing(app, sme):
    client = _login(app, sme)
    form = answers("b")
    del form["equipment"]
    form["quality"] = "x"
    response = client.post("/diagnosis/new", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "请选择一项。" in page and "请从列出的选项中选择。" in page
    assert page.index('id="q-equipment"') < page.index("请选择一项。") < page.index(
        'id="q-network_cloud"')
    assert re.search(r'<input checked[^>]*name="rnd"[^>]*value="b"', page)  # answers kept
    assert _count(app, DiagnosisResult) == 0


def test_the_whole_journey(app, sme, make_provider, make_package):
    provider = make_provider(name="设备联网服务商有限公司")
    make_package(provider.id, title="设备联网监测快速包",
                 description="注塑机、数控机床联网采集开机率与故障，OEE 看板和报警。")
    with app.app_context():  # 10 % of the list price (¥12,800) from the county's program
        county = db.session.scalar(db.select(Region).where(Region.code == "320505"))
        program = SubsidyProgram(region_id=county.id, name="上云用云补贴", mode="percent",
                                 rate_bp=1000, per_order_cap_fen=10_000_000,
                                 per_enterprise_cap_fen=10_000_000, starts_on=date(2020, 1, 1),
                                 ends_on=date(2099, 12, 31), status="active")
        db.session.add(program)
        db.session.flush()
        db.session.add(LedgerEntry(program_id=program.id, kind="adjust", amount_fen=10**8))
        db.session.commit()
    client = _login(app, sme)
    assert "开始自评" in client.get("/diagnosis/").get_data(as_text=True)
    page = client.get("/diagnosis/new").get_data(as_text=True)
    assert page.count('type="radio"') == sum(len(q.options) for q in Q.questions)
    response = client.post("/diagnosis/new", data=answers("c", equipment="a", rnd="b"))
    assert response.status_code == 302
    result_url = response.headers["Location"]
    page = client.get(result_url).get_data(as_text=True)
    assert "三级" in page and "总分 64.8 / 100" in page
    assert "关键设备联网与运行监测" in page and "设备联网监测快速包" in page  # plan + package
    assert "可享补贴：上云用云补贴 ¥1,280，补贴后 ¥11,520" in page
    result_id = int(result_url.rsplit("/", 1)[1])
    post_url = f"/diagnosis/results/{result_id}/needs/equipment-monitoring"
    response = client.post(post_url)
    assert response.status_code == 302 and "/needs/" in response.headers["Location"]
    with app.app_context():
        need = db.session.scalar(db.select(Need))
        assert (need.category_code, need.scenario_level_code, need.status) == (
            "device_monitoring", "workshop", "open")
        assert need.enterprise_id == db.session.get(User, sme.id).enterprise_id
        assert db.session.scalar(db.select(DiagnosisNeed.need_id)) == need.id
        assert db.session.scalar(db.select(AuditEntry.id).where(
            AuditEntry.action == "post_diagnosis_need")) is not None
    # a second click leads to the same need
    response = client.post(post_url)
    assert response.headers["Location"].endswith(f"/needs/{need.id}")
    assert _count(app, Need) == 1
    assert "已发布，查看需求" in client.get(result_url).get_data(as_text=True)


def test_only_suggestions_of_the_plan_can_be_posted(app, sme):
    client = _login(app, sme)
    client.post("/diagnosis/new", data=answers("d", equipment="a"))
    with app.app_context():
        result_id = db.session.scalar(db.select(DiagnosisResult.id))
    assert client.post(f"/diagnosis/results/{result_id}/needs/rnd-plm").status_code == 404
    assert client.post(f"/diagnosis/results/{result_id}/needs/nonsense").status_code == 404
    assert client.post(
        f"/diagnosis/results/{result_id}/needs/equipment-monitoring").status_code == 302
    assert _count(app, Need) == 1


def test_history_shows_progress_and_another_sme_sees_nothing(app, sme, make_user):
    client = _login(app, sme)
    client.post("/diagnosis/new", data=answers("a"))
    client.post("/diagnosis/new", data=answers("c"))
    page = client.get("/diagnosis/").get_data(as_text=True)
    assert "<svg" in page and "<polyline" in page and "70.0" in page and "0.0" in page
    with app.app_context():
        ids = db.session.scalars(db.select(DiagnosisResult.id).order_by(DiagnosisResult.id)).all()
    assert "+70.0" in client.get(f"/diagnosis/results/{ids[1]}").get_data(as_text=True)
    other = _login(app, make_user())
    assert other.get(f"/diagnosis/results/{ids[0]}").status_code == 404
    assert other.post(f"/diagnosis/results/{ids[0]}/needs/equipment-monitoring").status_code \
        == 404
    assert "还没有自评结果" in other.get("/diagnosis/").get_data(as_text=True)


def test_an_sme_without_a_profile_is_sent_to_fill_it(app, make_user):
    client = _login(app, make_user(company=False))
    response = client.get("/diagnosis/new")
    assert response.status_code == 302 and "/profile/edit" in response.headers["Location"]


def test_an_admin_may_read_a_result_and_the_read_is_audited(app, sme, make_user):
    _login(app, sme).post("/diagnosis/new", data=answers("b"))
    with app.app_context():
        result_id = db.session.scalar(db.select(DiagnosisResult.id))
    admin = _login(app, make_user(role="admin"))
    page = admin.get(f"/diagnosis/results/{result_id}").get_data(as_text=True)
    assert "自评结果" in page and "关键设备联网与运行监测" in page
    assert f"/diagnosis/results/{result_id}/needs/" not in page  # no buttons: not its company
    with app.app_context():
        assert db.session.scalar(db.select(AuditEntry.action).where(
            AuditEntry.action == "view_diagnosis")) == "view_diagnosis"


# -- officials: the distribution ----------------------------------------------------------------


@pytest.fixture
def region_results(app, make_user, make_enterprise):
    """Results in 姑苏区 (320508), 吴中区 (320506) and 南京 玄武区 (320102)."""
    def result_for(county, *levels):
        enterprise = make_enterprise(county=county, name=f"{county}{len(levels)}{levels}企业")
        with app.app_context():
            for level in levels:
                db.session.add(DiagnosisResult(enterprise_id=enterprise.id, version="x",
                                               answers={}, score=level * 20.0, level=level,
                                               dimension_scores={}))
            db.session.commit()

    result_for("320508", 1, 3)  # latest: level 3
    result_for("320508", 2)
    result_for("320506", 4)
    result_for("320102", 1)


def _distribution(app, user, code=None):
    with app.app_context():
        found = diagnosis.level_distribution(db.session.get(User, user.id), code)
        return found.totals.counts, {row.region.code: row.counts for row in found.rows}


def test_officials_see_the_distribution_of_their_region_only(app, make_user, region_results):
    city_user = make_user(role="gov", region_code="320500")
    totals, rows = _distribution(app, city_user)
    assert totals == {1: 0, 2: 1, 3: 1, 4: 1}  # latest results only; 南京 not counted
    assert rows["320508"] == {1: 0, 2: 1, 3: 1, 4: 0} and rows["320506"][4] == 1
    city = _login(app, city_user)
    page = city.get("/diagnosis/overview").get_data(as_text=True)
    assert "姑苏区" in page and "玄武区" not in page and "<svg" in page
    assert city.get("/diagnosis/overview?region=320508").status_code == 200
    assert city.get("/diagnosis/overview?region=320102").status_code == 404
    assert city.get("/diagnosis/overview?region=999999").status_code == 404
    county_user = make_user(role="gov", region_code="320508")
    assert _distribution(app, county_user) == ({1: 0, 2: 1, 3: 1, 4: 0}, {})
    county = _login(app, county_user)
    assert county.get("/diagnosis/overview").status_code == 200
    assert county.get("/diagnosis/overview?region=320506").status_code == 404
    assert county.get("/diagnosis/overview?region=320500").status_code == 404


def test_admins_see_the_whole_province(app, make_user, region_results):
    with app.app_context():
        distribution = diagnosis.level_distribution(db.session.get(User, make_user(
            role="admin").id))
        assert distribution.region.code == "320000"
        assert distribution.totals.counts == {1: 1, 2: 1, 3: 1, 4: 1}
        by_city = {row.region.code: row.total for row in distribution.rows}
        assert by_city["320500"] == 3 and by_city["320100"] == 1 and sum(by_city.values()) == 4


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(CODES + ["csrf_token", "submit"]), st.one_of(
    st.text(max_size=20), st.sampled_from(["a", "d", "e", "A", " a", "", "\x00", "长" * 3000]),
    st.lists(st.sampled_from(["a", "b", "z"]), min_size=2, max_size=3)), max_size=5))
def test_hostile_answers_never_break_the_questionnaire(app, sme, changes):
    client = _login(app, sme)
    before = _count(app, DiagnosisResult)
    response = client.post("/diagnosis/new", data={**answers("b"), **changes})
    assert response.status_code in (302, 400)
    assert _count(app, DiagnosisResult) == before + (response.status_code == 302)
    with app.app_context():
        for result in db.session.scalars(db.select(DiagnosisResult)):
            assert set(result.answers) == set(CODES) and 0 <= result.score <= 100
