"""Reference data: seeding from ``marketplace/data/*.json`` and admin edits of names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import Category, Cluster, Industry, Region, ScenarioLevel, SizeClass, User
from . import audit
from .errors import NotAllowed, NotFound, ValidationFailed

DATA_DIR = Path(__file__).parent.parent / "data"

# kind -> (model, file, extra fields copied from the file)
KINDS = {
    "categories": (Category, "categories.json", ("description", "description_en")),
    "industries": (Industry, "industries.json", ()),
    "clusters": (Cluster, "clusters.json", ()),
    "scenario_levels": (ScenarioLevel, "scenario_levels.json", ("rank",)),
    "size_classes": (SizeClass, "size_classes.json", ("min_employees", "min_revenue_wan")),
    "regions": (Region, "regions.json", ("level",)),
}


def _load(name: str) -> list[dict]:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def _upsert(model, rows: list[dict], extra: tuple[str, ...]) -> dict[str, object]:
    existing = {obj.code: obj for obj in db.session.scalars(select(model))}
    for position, row in enumerate(rows):
        obj = existing.get(row["code"])
        if obj is None:
            obj = existing[row["code"]] = model(code=row["code"])
            db.session.add(obj)
            # Names are the admin's once seeded; a re-seed only fills in new rows.
            obj.name, obj.name_en = row["name"], row.get("name_en", "")
            obj.sort = row.get("sort", position)
            for key in extra:
                if key in row:
                    setattr(obj, key, row[key])
    return existing


def seed_reference_data() -> dict[str, int]:
    """Insert missing reference rows (idempotent); returns the count of each kind."""
    counts = {}
    for kind, (model, filename, extra) in KINDS.items():
        rows = _load(filename)
        objects = _upsert(model, rows, extra)
        if model is SizeClass:
            for obj in objects.values():
                obj.is_sme = obj.code != "large"
        if model is Region:
            db.session.flush()
            for row in rows:
                if row.get("parent"):
                    objects[row["code"]].parent = objects[row["parent"]]
        if model is Cluster:
            industries = {i.code: i for i in db.session.scalars(select(Industry))}
            for row in rows:
                if not objects[row["code"]].industries:
                    objects[row["code"]].industries = [industries[c] for c in row["industries"]]
        counts[kind] = len(objects)
    db.session.flush()
    return counts


def list_kind(kind: str) -> list:
    model = _model(kind)
    order = model.sort if hasattr(model, "sort") else model.code
    return list(db.session.scalars(select(model).order_by(order)))


def _model(kind: str):
    if kind not in KINDS:
        raise NotFound()
    return KINDS[kind][0]


@dataclass(frozen=True)
class NameEdit:
    name: str
    name_en: str


def rename(actor: User, kind: str, code: str, edit: NameEdit):
    """An admin corrects the names of one reference row; codes never change."""
    if not actor.is_admin:
        raise NotAllowed(_l("只有管理员可以修改基础数据。"))
    model = _model(kind)
    obj = db.session.scalar(select(model).where(model.code == code))
    if obj is None:
        raise NotFound()
    errors = {}
    if not edit.name.strip() or len(edit.name.strip()) > 64:
        errors["name"] = _l("中文名称需要 1 到 64 个字。")
    if len(edit.name_en.strip()) > 128:
        errors["name_en"] = _l("英文名称最多 128 个字符。")
    if errors:
        raise ValidationFailed(errors)
    before = (obj.name, obj.name_en)
    obj.name, obj.name_en = edit.name.strip(), edit.name_en.strip()
    audit.record(actor, "rename_reference", obj, kind=kind, code=code, before=list(before))
    return obj
