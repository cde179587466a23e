"""Self-diagnosis (数字化水平自评): the questionnaire, its scoring rules, stored results, the
free transformation plan, and the distribution of levels officials see.

The questionnaire (questions, options and their points, dimension weights, level thresholds and
the needs suggested for each weak area) is data: ``marketplace/data/diagnosis.json``. The rules
that turn answers into a score and a level are :func:`score_answers`, a pure function explained
with a worked example in ``docs/diagnosis.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import DiagnosisNeed, DiagnosisResult, Enterprise, Need, Region, User, Visibility
from . import audit
from .errors import IllegalTransition, NotAllowed, NotFound, ValidationFailed
from .needs import NeedData, create_need
from .regions import region_by_code, region_ids_governed

DATA_FILE = Path(__file__).parent.parent / "data" / "diagnosis.json"
HISTORY_LIMIT = 50


# -- the questionnaire --------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    code: str
    text: str
    text_en: str
    score: int  # 0–100: the share of the question's points this answer earns


@dataclass(frozen=True)
class SuggestedNeed:
    """A need the plan suggests for a weak area; one click posts it."""

    code: str
    category: str
    scenario_level: str
    title: str
    title_en: str
    description: str
    description_en: str


@dataclass(frozen=True)
class Question:
    code: str
    dimension: str
    weight: int  # relative to the other questions of its dimension
    area: str
    area_en: str
    text: str
    text_en: str
    options: tuple[Option, ...]
    suggestions: tuple[SuggestedNeed, ...]

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)


@dataclass(frozen=True)
class Dimension:
    code: str
    name: str
    name_en: str
    weight: int  # points of the 100 this dimension carries


@dataclass(frozen=True)
class Level:
    level: int
    name: str
    name_en: str
    min_score: int
    min_dimensions: Mapping[str, int]  # dimension code -> least dimension score
    description: str
    description_en: str


@dataclass(frozen=True)
class Questionnaire:
    version: str
    dimensions: tuple[Dimension, ...]
    levels: tuple[Level, ...]  # lowest first
    questions: tuple[Question, ...]
    weak_below: int  # an area scoring less is weak
    plan_areas: int  # how many weak areas the plan covers
    source: str
    source_en: str

    def question(self, code: str) -> Question | None:
        return next((q for q in self.questions if q.code == code), None)

    def level(self, number: int) -> Level:
        return next(lv for lv in self.levels if lv.level == number)

    def suggestion(self, code: str) -> tuple[Question, SuggestedNeed] | None:
        for question in self.questions:
            for suggestion in question.suggestions:
                if suggestion.code == code:
                    return question, suggestion
        return None


def parse_questionnaire(raw: dict) -> Questionnaire:
    """Build a :class:`Questionnaire` from the JSON data, refusing one the rules cannot score."""
    dimensions = tuple(Dimension(d["code"], d["name"], d["name_en"], d["weight"])
                       for d in raw["dimensions"])
    questions = tuple(
        Question(q["code"], q["dimension"], q["weight"], q["area"], q["area_en"], q["text"],
                 q["text_en"], tuple(Option(**o) for o in q["options"]),
                 tuple(SuggestedNeed(**s) for s in q["suggestions"]))
        for q in raw["questions"])
    levels = tuple(Level(lv["level"], lv["name"], lv["name_en"], lv["min_score"],
                         dict(lv["min_dimensions"]), lv["description"], lv["description_en"])
                   for lv in raw["levels"])
    questionnaire = Questionnaire(raw["version"], dimensions, levels, questions,
                                  raw["weak_below"], raw["plan_areas"], raw["source"],
                                  raw["source_en"])
    _check_questionnaire(questionnaire)
    return questionnaire


def _check_questionnaire(q: Questionnaire) -> None:
    dims = {d.code for d in q.dimensions}
    problems = []
    if sum(d.weight for d in q.dimensions) != 100:
        problems.append("dimension weights must add up to 100")
    for dim in dims:
        if not any(question.dimension == dim and question.weight > 0 for question in q.questions):
            problems.append(f"dimension {dim} has no question")
    for question in q.questions:
        scores = [o.score for o in question.options]
        if question.dimension not in dims or question.weight <= 0 or len(scores) < 2:
            problems.append(f"question {question.code}")
        if not all(0 <= s <= 100 for s in scores) or min(scores) != 0 or max(scores) != 100:
            problems.append(f"question {question.code}: options must span 0 to 100 points")
    if [lv.level for lv in q.levels] != list(range(1, len(q.levels) + 1)) or \
            q.levels[0].min_score != 0 or any(q.levels[0].min_dimensions.values()):
        problems.append("levels must be 1, 2, … and the first must need nothing")
    codes = [s.code for question in q.questions for s in question.suggestions]
    if len(codes) != len(set(codes)):
        problems.append("suggestion codes must be unique")
    if problems:
        raise ValueError("diagnosis.json: " + "; ".join(problems))


@cache
def load_questionnaire(path: Path = DATA_FILE) -> Questionnaire:
    return parse_questionnaire(json.loads(path.read_text(encoding="utf-8")))


# -- scoring: a pure function of the questionnaire and the answers ------------------------------


@dataclass(frozen=True)
class AreaScore:
    question: Question
    score: int  # 0–100
    points_lost: float  # of the 100 total points, what this answer left on the table


@dataclass(frozen=True)
class Assessment:
    score: float  # 0–100, rounded to one decimal
    level: int
    dimensions: dict[str, float]  # dimension code -> 0–100, one decimal
    areas: tuple[AreaScore, ...]  # weak areas first, the most points lost first
    weak_below: int
    plan_areas: int

    @property
    def weak_areas(self) -> tuple[AreaScore, ...]:
        return tuple(a for a in self.areas if a.score < self.weak_below)

    @property
    def plan(self) -> tuple[AreaScore, ...]:
        """The weak areas the free transformation plan addresses."""
        return self.weak_areas[:self.plan_areas]


def round1(value: Fraction) -> float:
    """Round half up to one decimal (exact: the inputs are fractions, not floats)."""
    return int(value * 10 + Fraction(1, 2)) / 10


def score_answers(questionnaire: Questionnaire, answers: Mapping[str, str]) -> Assessment:
    """Score complete, valid ``answers`` (question code -> option code).

    - A question earns its chosen option's points (0–100).
    - A dimension's score is the weighted mean of its questions' points (0–100).
    - The total is the sum of dimension score × dimension weight / 100 (weights add up to
      100), rounded half up to one decimal.
    - The level is the highest whose minimum total and minimum dimension scores (rounded the
      same way) are all met.
    - Areas (one per question) below ``weak_below`` are weak, those losing the most points of
      the total first.

    Raises ``KeyError`` for a missing or unknown answer: check with :func:`answer_errors` first.
    """
    earned = {}
    for question in questionnaire.questions:
        option = question.option(answers[question.code])
        if option is None:
            raise KeyError(question.code)
        earned[question.code] = option.score
    exact: dict[str, Fraction] = {}
    for dim in questionnaire.dimensions:
        members = [q for q in questionnaire.questions if q.dimension == dim.code]
        weights = sum(q.weight for q in members)
        exact[dim.code] = Fraction(sum(q.weight * earned[q.code] for q in members), weights)
    total = round1(sum(Fraction(d.weight, 100) * exact[d.code] for d in questionnaire.dimensions))
    dimensions = {code: round1(value) for code, value in exact.items()}
    level = max(lv.level for lv in questionnaire.levels if total >= lv.min_score and all(
        dimensions[code] >= least for code, least in lv.min_dimensions.items()))
    return Assessment(total, level, dimensions, _areas(questionnaire, earned),
                      questionnaire.weak_below, questionnaire.plan_areas)


def _areas(questionnaire: Questionnaire, earned: dict[str, int]) -> tuple[AreaScore, ...]:
    weights = {d.code: d.weight for d in questionnaire.dimensions}
    in_dimension = {d.code: sum(q.weight for q in questionnaire.questions if q.dimension == d.code)
                    for d in questionnaire.dimensions}
    areas = []
    for position, question in enumerate(questionnaire.questions):
        worth = Fraction(weights[question.dimension] * question.weight,
                         in_dimension[question.dimension])
        lost = worth * (100 - earned[question.code]) / 100
        areas.append((earned[question.code] >= questionnaire.weak_below, -lost, position,
                      AreaScore(question, earned[question.code], float(lost))))
    return tuple(area for *_, area in sorted(areas, key=lambda row: row[:3]))


def answer_errors(questionnaire: Questionnaire, answers: Mapping[str, str]) -> dict[str, str]:
    """A message per question left unanswered or answered with an option not on its list."""
    errors = {}
    for question in questionnaire.questions:
        chosen = answers.get(question.code)
        if not chosen:
            errors[question.code] = _l("请选择一项。")
        elif question.option(chosen) is None:
            errors[question.code] = _l("请从列出的选项中选择。")
    return errors


# -- results ------------------------------------------------------------------------------------


def submit_diagnosis(actor: User, answers: Mapping[str, str]) -> DiagnosisResult:
    """Score the answers and keep the result for the actor's enterprise."""
    if not actor.is_sme or actor.enterprise is None:
        raise NotAllowed(_l("请先以企业用户身份填写企业信息，再做自评。"))
    questionnaire = load_questionnaire()
    errors = answer_errors(questionnaire, answers)
    if errors:
        raise ValidationFailed(errors)
    kept = {q.code: answers[q.code] for q in questionnaire.questions}
    assessment = score_answers(questionnaire, kept)
    result = DiagnosisResult(
        enterprise_id=actor.enterprise_id, author_id=actor.id, version=questionnaire.version,
        answers=kept, score=assessment.score, level=assessment.level,
        dimension_scores=assessment.dimensions)
    db.session.add(result)
    db.session.flush()
    audit.record(actor, "submit_diagnosis", result, region_id=actor.enterprise.county_id,
                 score=assessment.score, level=assessment.level)
    return result


def get_result(actor: User, result_id: int) -> DiagnosisResult:
    """The result if ``actor`` may see it; 404 otherwise. An admin's read is audited."""
    result = db.session.get(DiagnosisResult, result_id)
    if result is None or not result.can_view(actor):
        raise NotFound()
    if actor.enterprise_id != result.enterprise_id:
        audit.record(actor, "view_diagnosis", result, region_id=result.enterprise.county_id)
    return result


def assessment_of(result: DiagnosisResult) -> Assessment | None:
    """The full assessment (areas and plan) of a stored result, while the questionnaire it
    answered is the current one; None for an older version (its score and level still stand)."""
    questionnaire = load_questionnaire()
    if result.version != questionnaire.version:
        return None
    try:
        return score_answers(questionnaire, result.answers)
    except KeyError:
        return None


def history(enterprise_id: int) -> list[DiagnosisResult]:
    """The enterprise's results, oldest first (the progress chart reads left to right)."""
    newest = db.session.scalars(
        select(DiagnosisResult).where(DiagnosisResult.enterprise_id == enterprise_id)
        .order_by(DiagnosisResult.created_at.desc(), DiagnosisResult.id.desc())
        .limit(HISTORY_LIMIT)).all()
    return list(reversed(newest))


def latest_result(enterprise_id: int) -> DiagnosisResult | None:
    return db.session.scalar(
        select(DiagnosisResult).where(DiagnosisResult.enterprise_id == enterprise_id)
        .order_by(DiagnosisResult.created_at.desc(), DiagnosisResult.id.desc()).limit(1))


# -- the plan: suggested needs, posted with one click -------------------------------------------


def suggestion_need_data(suggestion: SuggestedNeed, area: AreaScore) -> NeedData:
    description = (f"{suggestion.description}\n\n（由数字化水平自评生成：{area.question.area}"
                   f"得分 {area.score}。）")
    return NeedData(title=suggestion.title, description=description,
                    category_code=suggestion.category,
                    scenario_level_code=suggestion.scenario_level, budget_min_fen=None,
                    budget_max_fen=None, desired_start=None, visibility=Visibility.PUBLIC)


def post_suggestion(actor: User, result: DiagnosisResult, code: str) -> Need:
    """Post a suggestion of the result's plan as a need of the enterprise (once per result)."""
    if actor.enterprise_id != result.enterprise_id:
        raise NotAllowed(_l("只能为本企业发布需求。"))
    assessment = assessment_of(result)
    area, suggestion = _plan_suggestion(assessment, code)
    if result.need_for(code) is not None:
        raise IllegalTransition(_l("这条建议已经发布为需求。"))
    need = create_need(actor, suggestion_need_data(suggestion, area))
    try:
        with db.session.begin_nested():
            db.session.add(DiagnosisNeed(result=result, suggestion_code=code, need=need))
    except IntegrityError:  # the same suggestion posted at the same moment
        raise IllegalTransition(_l("这条建议已经发布为需求。")) from None
    audit.record(actor, "post_diagnosis_need", need, region_id=actor.enterprise.county_id,
                 result_id=result.id, suggestion=code)
    return need


def _plan_suggestion(assessment: Assessment | None, code: str):
    if assessment is not None:
        for area in assessment.plan:
            for suggestion in area.question.suggestions:
                if suggestion.code == code:
                    return area, suggestion
    raise NotFound()


def plan_packages(enterprise: Enterprise, assessment: Assessment, n: int = 3) -> dict:
    """Recommended packages for each suggestion of the plan: suggestion code -> suggestions."""
    from . import matching

    found = {}
    for area in assessment.plan:
        for suggestion in area.question.suggestions:
            found[suggestion.code] = matching.packages_for_description(
                enterprise, f"{suggestion.title}。{suggestion.description}",
                suggestion.category, suggestion.scenario_level, n=n)
    return found


def plan_subsidies(enterprise: Enterprise, packages: dict) -> dict:
    """The best single subsidy (从优、就高、不重复) the enterprise could get today on each
    recommended package at its list price: package id -> offer."""
    from .deals import today
    from .subsidies import best_offer

    offers = {}
    for suggestions in packages.values():
        for suggestion in suggestions:
            package = suggestion.item
            if package.id not in offers:
                offers[package.id] = best_offer(enterprise, package, package.price_fen, today())
    return {package_id: offer for package_id, offer in offers.items() if offer is not None}


# -- what officials see: the distribution of levels ---------------------------------------------


@dataclass(frozen=True)
class DistributionRow:
    region: Region
    counts: dict[int, int]  # level -> enterprises whose latest result has it

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Distribution:
    region: Region
    totals: DistributionRow
    rows: tuple[DistributionRow, ...]  # one per region directly beneath


def _viewable_region(actor: User, code: str | None) -> Region:
    if actor.is_admin:
        region = region_by_code(code) if code else db.session.scalar(
            select(Region).where(Region.parent_id.is_(None)).order_by(Region.sort).limit(1))
    elif actor.is_gov and actor.region is not None:
        region = region_by_code(code) if code else actor.region
        if region is not None and region.id not in region_ids_governed(actor):
            region = None
    else:
        raise NotAllowed(_l("只有政府用户和管理员可以查看自评统计。"))
    if region is None:
        raise NotFound()
    return region


def level_distribution(actor: User, code: str | None = None) -> Distribution:
    """How many enterprises of a region (the official's own, or one beneath it) stand at each
    level by their latest result, in all and per region directly beneath."""
    region = _viewable_region(actor, code)
    latest = (select(func.max(DiagnosisResult.id).label("id"))
              .group_by(DiagnosisResult.enterprise_id).subquery())
    rows = db.session.execute(
        select(Enterprise.county_id, DiagnosisResult.level, func.count())
        .join(latest, latest.c.id == DiagnosisResult.id)
        .join(Enterprise, Enterprise.id == DiagnosisResult.enterprise_id)
        .where(Enterprise.county_id.in_(region.subtree_ids()))
        .group_by(Enterprise.county_id, DiagnosisResult.level)).all()
    levels = [lv.level for lv in load_questionnaire().levels]
    children = {child.id: child for child in region.children}
    owner = {rid: child_id for child_id, child in children.items()
             for rid in child.subtree_ids()}
    totals = dict.fromkeys(levels, 0)
    per_child = {child_id: dict.fromkeys(levels, 0) for child_id in children}
    for county_id, level, count in rows:
        totals[level] = totals.get(level, 0) + count
        if county_id in owner:
            per_child[owner[county_id]][level] = per_child[owner[county_id]].get(level, 0) + count
    return Distribution(region, DistributionRow(region, totals),
                        tuple(DistributionRow(children[i], per_child[i]) for i in children))


# -- demo ---------------------------------------------------------------------------------------


def _demo_answers(questionnaire: Questionnaire, rng, maturity: float) -> dict[str, str]:
    answers = {}
    for question in questionnaire.questions:
        top = len(question.options) - 1
        index = min(top, max(0, round(maturity * top + rng.gauss(0, 0.7))))
        answers[question.code] = question.options[index].code
    return answers


def _demo_result(questionnaire, enterprise, author, answers, days_ago: int) -> DiagnosisResult:
    from datetime import timedelta

    from ..models._base import utcnow

    assessment = score_answers(questionnaire, answers)
    return DiagnosisResult(
        enterprise=enterprise, author=author, version=questionnaire.version, answers=answers,
        score=assessment.score, level=assessment.level, dimension_scores=assessment.dimensions,
        created_at=utcnow() - timedelta(days=days_ago, hours=enterprise.id % 24))


def load_demo_diagnoses(extra_enterprises: int = 60) -> None:
    """Demo results: the demo SME improved between two self-assessments, every SME of its city
    and a sample of others across the province have one or two, so officials see a
    distribution. Oldest first, so the last one of an enterprise has its highest id. Then the
    typical cases (:func:`marketplace.services.cases.load_demo_cases`)."""
    import random

    from .cases import load_demo_cases

    rng = random.Random(2024)
    questionnaire = load_questionnaire()
    demo_user = db.session.scalar(select(User).where(User.email == "sme@demo.zgsz.cn"))
    if demo_user is None or demo_user.enterprise is None:
        return
    home = demo_user.enterprise
    smes = db.session.scalars(select(Enterprise).where(~Enterprise.is_chain_leader)
                              .order_by(Enterprise.id)).all()
    city = home.county.parent
    chosen = [e for e in smes if e.county.parent_id == city.id and e.id != home.id]
    others = [e for e in smes if e.county.parent_id != city.id]
    chosen += rng.sample(others, min(extra_enterprises, len(others)))
    earlier, later = [], []
    for enterprise in chosen:
        maturity = rng.random()
        if rng.random() < 0.4:
            earlier.append(_demo_result(questionnaire, enterprise, None, _demo_answers(
                questionnaire, rng, max(0.0, maturity - 0.2)), 200 + rng.randrange(60)))
        later.append(_demo_result(questionnaire, enterprise, None,
                                  _demo_answers(questionnaire, rng, maturity),
                                  5 + rng.randrange(90)))
    first = {q.code: ("b" if i % 3 else "a") for i, q in enumerate(questionnaire.questions)}
    second = {q.code: ("c" if i % 2 else "b") for i, q in enumerate(questionnaire.questions)}
    earlier.append(_demo_result(questionnaire, home, demo_user, first, 180))
    later.append(_demo_result(questionnaire, home, demo_user, second, 12))
    db.session.add_all(earlier)
    db.session.flush()
    db.session.add_all(later)
    db.session.flush()
    load_demo_cases()
