"""Choice lists built from reference data in the current language, shared by the forms."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from wtforms import SelectChoice

from .extensions import db
from .models import Category, Cluster, Industry, ScenarioLevel, SizeClass
from .services.profiles import chain_leaders
from .services.regions import region_choices
from .templating import LABELS


def options(pairs) -> list[SelectChoice]:
    """WTForms choices from ``(value, label)`` pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def label_choices(kind: str, blank: str | None = None) -> list[SelectChoice]:
    """The choices of a fixed code list such as ``tier`` or ``deployment``."""
    return options(([("", blank)] if blank is not None else []) + list(LABELS[kind].items()))


def category_choices(blank: str | None = None) -> list[SelectChoice]:
    rows = [(c.code, c.label) for c in db.session.scalars(select(Category).order_by(Category.sort))]
    return options(([("", blank)] if blank is not None else []) + rows)


def level_choices(blank: str | None = None) -> list[SelectChoice]:
    rows = [(s.code, s.label)
            for s in db.session.scalars(select(ScenarioLevel).order_by(ScenarioLevel.rank))]
    return options(([("", blank)] if blank is not None else []) + rows)


def industry_choices(blank: str | None = None) -> list[SelectChoice]:
    rows = [(i.code, f"{i.code} {i.label}")
            for i in db.session.scalars(select(Industry).order_by(Industry.code))]
    return options(([("", blank)] if blank is not None else []) + rows)


def region_filter_choices() -> list[SelectChoice]:
    indent = {"province": "", "city": "　", "county": "　　"}
    return options([("", _("全部地区"))] + [(r.code, indent[r.level] + r.label)
                                          for r in region_choices()])


def status_choices(kind: str) -> list[SelectChoice]:
    return label_choices(kind, _("全部状态"))


def county_choices() -> list[SelectChoice]:
    return options((r.code, f"{r.parent.label} · {r.label}") for r in region_choices(("county",)))


def served_region_choices() -> list[SelectChoice]:
    indent = {"province": "", "city": "　"}
    return options((r.code, indent[r.level] + r.label)
                   for r in region_choices(("province", "city")))


def cluster_choices() -> list[SelectChoice]:
    return options([("", _("（无）"))] + [
        (c.code, c.label) for c in db.session.scalars(select(Cluster).order_by(Cluster.sort))
    ])


def cluster_options(blank: str | None = None) -> list[SelectChoice]:
    rows = [(c.code, c.label) for c in db.session.scalars(select(Cluster).order_by(Cluster.sort))]
    return options(([("", blank)] if blank is not None else []) + rows)


def leader_choices(exclude_id: int | None = None) -> list[SelectChoice]:
    return options([("", _("（无）"))] + [
        (str(e.id), e.name) for e in chain_leaders() if e.id != exclude_id
    ])


def fill_enterprise_form(form, exclude_id: int | None = None) -> None:
    form.county_code.choices = county_choices()
    form.industry_code.choices = industry_choices()
    form.cluster_code.choices = cluster_choices()


def fill_provider_form(form) -> None:
    form.kind.choices = label_choices("kind")
    form.tier.choices = label_choices("tier")
    form.region_codes.choices = served_region_choices()
    form.lead_enterprise_id.choices = leader_choices()


def fill_program_form(form) -> None:
    form.mode.choices = label_choices("program_mode")
    form.size_classes.choices = options(
        (s.code, s.label) for s in db.session.scalars(select(SizeClass).order_by(SizeClass.sort)))
    form.industries.choices = industry_choices()
    form.clusters.choices = cluster_options()
    form.categories.choices = category_choices()
    form.scenario_levels.choices = level_choices()
    form.min_tier.choices = label_choices("tier", _("不限"))
