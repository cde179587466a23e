"""Demand-list imports (需求清单导入): officials upload the needs collected in surveys.

The flow, view by service:

1. :func:`read_demand_list` checks the file (size, ``.csv``/``.xlsx`` by extension *and* by
   content, row count) and returns its rows by column (:data:`COLUMNS`; the headings row may
   follow a title or comment rows).
2. The view checks each row with the web forms' field rules (``imports/forms.py``) and hands
   the rows to :func:`import_demand_list`, which resolves the codes and names, applies the
   rules of :mod:`.needs` and :mod:`.profiles`, links each row's enterprise by credit code
   (or creates it), skips needs already there (same enterprise, title and description) and
   writes the valid rows, the batch and its problem rows in the caller's transaction: the
   view commits once, so the valid part is written whole or not at all.

The same file (SHA-256 of its bytes) is imported once per region; a second upload is refused
with the date of the first.

Defaults for what a survey does not give, as documented in the README:

- an enterprise created by an import has 0 employees and 0 revenue ("not reported"), hence
  the size class 微型 as a placeholder until its own user fills in the profile; the
  ``imported_enterprises`` table marks it. No cluster, no chain leader.
- the need is open, without an author (``author_id`` NULL), with ``import_batch_id`` set;
  its visibility is chosen on the upload form (public by default); the budget column is its
  upper budget; a row without a 场景层级 gets the level chosen on the upload form.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import openpyxl
from flask import current_app
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl.utils.escape import unescape
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from .. import creditcode
from ..exports import Table
from ..extensions import db
from ..models import (
    Category,
    Enterprise,
    ImportBatch,
    ImportedEnterprise,
    ImportProblem,
    Industry,
    Need,
    NeedStatus,
    ProblemKind,
    Region,
    ScenarioLevel,
    User,
    Visibility,
)
from . import audit, needs, profiles
from .errors import NotAllowed, NotFound, ValidationFailed
from .regions import region_ids_governed

log = logging.getLogger("marketplace.imports")

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
HEADING_SEARCH_ROWS = 20
MAX_BLANK_RUN = 1000  # this many empty rows in a row end the sheet
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024  # an XLSX is a zip: refuse zip bombs before parsing
FORMATS = ("csv", "xlsx")
# The template's example row: refused, so an unedited template imports nothing.
EXAMPLE_CREDIT_CODE = "91320505MA27EXAMP7"


@dataclass(frozen=True)
class Column:
    field: str
    heading: str
    required: bool = True


COLUMNS = (
    Column("credit_code", "统一社会信用代码"),
    Column("name", "企业名称"),
    Column("county_code", "县区"),
    Column("industry_code", "行业"),
    Column("title", "需求标题"),
    Column("description", "需求描述"),
    Column("category_code", "需求类别"),
    Column("budget_max_fen", "预算（元）", required=False),
    Column("scenario_level_code", "场景层级", required=False),
)
HEADINGS = {c.field: c.heading for c in COLUMNS}


def upload_limit() -> int:
    return int(current_app.config.get("UPLOAD_MAX_BYTES") or DEFAULT_MAX_BYTES)


# --- reading the file -----------------------------------------------------------------------

@dataclass(frozen=True)
class Sheet:
    file_format: str
    rows: list[tuple[int, dict[str, str]]]  # (row number as a spreadsheet shows it, cells)


def _refuse(message) -> ValidationFailed:
    return ValidationFailed({"file": message})


def read_demand_list(filename: str, content: bytes, max_bytes: int | None = None) -> Sheet:
    """The rows of an uploaded demand list, or ValidationFailed on ``file`` saying why the
    file cannot be read at all."""
    return read_sheet(filename, content, COLUMNS, max_bytes)


def read_sheet(filename: str, content: bytes, columns: Sequence[Column],
               max_bytes: int | None = None) -> Sheet:
    """The rows of an uploaded CSV or XLSX with ``columns`` (found by their headings; the
    first column's heading marks the heading row), or ValidationFailed on ``file``."""
    file_format = _file_format(filename, content, max_bytes or upload_limit())
    try:
        table = _xlsx_rows(content) if file_format == "xlsx" else _csv_rows(content)
        return Sheet(file_format, _rows_by_heading(table, columns))
    except ValidationFailed:
        raise
    except Exception:  # anything a malformed upload makes a parser raise
        log.info("unreadable %s upload", file_format, exc_info=True)
        raise _refuse(_l("无法读取这个文件，请用模板另存后再上传。")) from None


_NOT_TEXT = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")


def _file_format(filename: str, content: bytes, max_bytes: int) -> str:
    """``csv`` or ``xlsx``: the extension says which, and the content must agree."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in FORMATS:
        if extension == "xls":
            raise _refuse(_l("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 再上传。"))
        raise _refuse(_l("只能上传 .csv 或 .xlsx 文件。"))
    if not content:
        raise _refuse(_l("文件是空的。"))
    if len(content) > max_bytes:
        raise _refuse(_l("文件不能超过 %(mb)s MB。", mb=round(max_bytes / 1024 / 1024, 1)))
    looks_zip = content.startswith(b"PK\x03\x04")
    if extension == "xlsx" and not (looks_zip and _is_workbook(content)):
        raise _refuse(_l("文件内容不是 XLSX 表格，与扩展名不符。"))
    if extension == "csv" and (content.startswith(_NOT_TEXT) or (
            b"\x00" in content and not content.startswith((b"\xff\xfe", b"\xfe\xff")))):
        raise _refuse(_l("文件内容不是 CSV 文本，与扩展名不符。"))
    return extension


def _is_workbook(content: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        return False
    if unzipped > MAX_UNZIPPED_BYTES:
        raise _refuse(_l("表格解压后过大，请删除无用的工作表或格式后再上传。"))
    return {"[Content_Types].xml", "xl/workbook.xml"} <= names


def _cell_text(value: object) -> str:
    """A cell as the text a person typed: 12800.0 is "12800", Excel's _xHHHH_ decoded."""
    if value is None:
        return ""
    if isinstance(value, str):
        return unescape(value).strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _xlsx_rows(content: bytes) -> Iterable[tuple[int, list[str]]]:
    with warnings.catch_warnings():  # openpyxl warns about styles and extensions it skips
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # do not trust the size the file claims
        numbered = (
            (next((c.row for c in cells if getattr(c, "row", None)), 0),
             [_cell_text(c.value) for c in cells])
            for cells in sheet.iter_rows())
        return _bounded((number, texts) for number, texts in numbered if number)
    finally:
        book.close()


def _decode(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in Chinese saves CSV as GBK
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _refuse(_l("无法识别文件的文字编码，请保存为 UTF-8 编码的 CSV。"))


def _csv_rows(content: bytes) -> Iterable[tuple[int, list[str]]]:
    text = _decode(content)
    if "\x00" in text:
        raise _refuse(_l("文件内容不是 CSV 文本，与扩展名不符。"))
    heading_line = next((line for line in text.splitlines()[:HEADING_SEARCH_ROWS]
                         if COLUMNS[0].heading in line), "")
    delimiter = max(",\t;", key=heading_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return _bounded((number, [cell.strip() for cell in cells])
                    for number, cells in enumerate(reader, start=1))


def _bounded(rows: Iterable[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    """The rows up to a long run of empty ones (formatted but unused rows end a sheet),
    stopping early once there are surely too many to import."""
    kept, filled, blank_run = [], 0, 0
    for number, cells in rows:
        if any(cells):
            filled, blank_run = filled + 1, 0
        else:
            blank_run += 1
            if blank_run >= MAX_BLANK_RUN:
                break
        kept.append((number, cells))
        if filled > MAX_ROWS + HEADING_SEARCH_ROWS + 1:
            break  # _data_rows refuses the file
    return kept


def _heading_key(text: str) -> str:
    """Headings compare without width, spaces, a required-mark '*' or a (选填) note."""
    key = "".join(unicodedata.normalize("NFKC", text).split()).replace("*", "")
    for note in ("(选填)", "(必填)", "(可选)"):
        key = key.replace(note, "")
    return key.casefold()


def _rows_by_heading(table: Iterable[tuple[int, list[str]]],
                     columns: Sequence[Column]) -> list[tuple[int, dict[str, str]]]:
    rows = iter(table)
    wanted = {_heading_key(c.heading): c.field for c in columns}
    positions: dict[str, int] = {}
    for seen, (_number, cells) in enumerate(rows):
        keys = [_heading_key(cell) for cell in cells]
        if _heading_key(columns[0].heading) in keys:
            for index, key in enumerate(keys):
                if key in wanted and wanted[key] not in positions:
                    positions[wanted[key]] = index
            break
        if seen >= HEADING_SEARCH_ROWS:
            break
    if not positions:
        raise _refuse(_l("找不到表头行：请使用模板，表头包括 %(names)s。",
                         names="、".join(c.heading for c in columns if c.required)))
    missing = [c.heading for c in columns if c.required and c.field not in positions]
    if missing:
        raise _refuse(_l("缺少这些列：%(names)s。", names="、".join(missing)))
    return _data_rows(rows, positions, columns)


def _data_rows(rows, positions: dict[str, int],
               columns: Sequence[Column]) -> list[tuple[int, dict[str, str]]]:
    data = []
    for number, cells in rows:
        values = {f: cells[i] if i < len(cells) else "" for f, i in positions.items()}
        if not any(values.values()):
            continue
        data.append((number, {c.field: values.get(c.field, "") for c in columns}))
        if len(data) > MAX_ROWS:
            raise _refuse(_l("一次最多导入 %(n)d 行，请拆分文件。", n=MAX_ROWS))
    if not data:
        raise _refuse(_l("表头下面没有数据行。"))
    return data


# --- importing the rows ---------------------------------------------------------------------

@dataclass(frozen=True)
class DemandRow:
    """One data row: its number in the file, its cells by field, the web form's field errors
    and the budget in fen as the form read it."""

    number: int
    cells: dict[str, str]
    errors: dict[str, list] = field(default_factory=dict)
    budget_fen: int | None = None


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes
    file_format: str
    visibility: str = Visibility.PUBLIC
    default_level_code: str = "device"


def import_region(actor: User) -> Region:
    """The region an actor imports for: an official's own; for an admin, theirs or the
    province."""
    if actor.is_gov and actor.region is not None:
        return actor.region
    if actor.is_admin:
        return actor.region or db.session.scalar(
            select(Region).where(Region.parent_id.is_(None)).order_by(Region.sort))
    raise NotAllowed(_l("只有政府用户和管理员可以导入需求清单。"))


def _when(moment: datetime) -> str:
    return format_datetime(moment, "yyyy-MM-dd HH:mm")


def _already_imported(batch: ImportBatch) -> ValidationFailed:
    return _refuse(_l("这个文件已于 %(when)s 导入过（批次 #%(id)d），本次没有导入任何数据。",
                      when=_when(batch.created_at), id=batch.id))


def _previous(region: Region, digest: str) -> ImportBatch | None:
    return db.session.scalar(select(ImportBatch).where(
        ImportBatch.region_id == region.id, ImportBatch.sha256 == digest))


def import_demand_list(actor: User, upload: Upload, rows: Sequence[DemandRow]) -> ImportBatch:
    """Import the valid rows of a demand list; record the others as the batch's problems.

    Flushes but does not commit: the caller commits the whole import at once.
    """
    region = import_region(actor)
    if upload.visibility not in Visibility.ALL:
        raise ValidationFailed({"visibility": _l("请选择公开范围。")})
    if db.session.get(ScenarioLevel, upload.default_level_code) is None:
        raise ValidationFailed({"default_level": _l("请选择场景层级。")})
    digest = hashlib.sha256(upload.content).hexdigest()
    previous = _previous(region, digest)
    if previous is not None:
        raise _already_imported(previous)
    batch = ImportBatch(region=region, uploaded_by=actor, filename=_clean_name(upload.filename),
                        file_format=upload.file_format, sha256=digest,
                        visibility=upload.visibility, rows_total=len(rows))
    db.session.add(batch)
    _flush_or_explain(region, digest)  # a concurrent upload of the same file stops here
    lookups = _Lookups(actor, upload, [r.cells.get("credit_code", "") for r in rows])
    accepted = _check_rows(batch, rows, lookups)
    _write(batch, accepted, lookups)
    _flush_or_explain(region, digest)
    audit.record(actor, "import_demand_list", batch, region_id=region.id,
                 filename=batch.filename, sha256=digest, rows=batch.rows_total,
                 imported=batch.rows_imported, duplicates=batch.rows_duplicate,
                 invalid=batch.rows_invalid, enterprises_created=batch.enterprises_created)
    return batch


def _clean_name(filename: str) -> str:
    """The file's own name as the browser sent it, without folders or control characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in name if unicodedata.category(c)[0] != "C")[:200] or "-"


def _flush_or_explain(region: Region, digest: str) -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        previous = _previous(region, digest)
        if previous is not None:
            raise _already_imported(previous) from None
        raise _refuse(_l("导入时有人同时修改了相同的企业，请重新上传一次。")) from None


class _Lookups:
    """Codes and names a row may use, limited to the actor's region, and the enterprises the
    file's credit codes name (locked, so two imports cannot both create or duplicate)."""

    def __init__(self, actor: User, upload: Upload, credit_codes: list[str]):
        self.upload = upload
        self.governed = None if actor.is_admin else region_ids_governed(actor)
        counties = db.session.scalars(select(Region).where(Region.level == "county")).all()
        self.counties = [c for c in counties if self.governs_id(c.id)]
        self.county_index: dict[str, list[Region]] = {}
        for county in self.counties:
            city = county.parent.name if county.parent else ""
            for key in {county.code, _name_key(county.name), _name_key(city + county.name)}:
                self.county_index.setdefault(key, []).append(county)
        self.categories = db.session.scalars(select(Category)).all()
        self.industries = {i.code: i for i in db.session.scalars(select(Industry))}
        self.levels = db.session.scalars(select(ScenarioLevel)).all()
        codes = sorted({creditcode.normalize(c) for c in credit_codes} - {""})
        self.enterprises: dict[str, Enterprise] = {
            e.credit_code: e for e in db.session.scalars(
                select(Enterprise).where(Enterprise.credit_code.in_(codes))
                .order_by(Enterprise.id).with_for_update())
        } if codes else {}
        self.new: dict[str, tuple[profiles.EnterpriseData, Region]] = {}

    def governs_id(self, region_id: int) -> bool:
        return self.governed is None or region_id in self.governed

    def county(self, text: str) -> Region | str:
        """The county a cell names (code, name, or city and county name), or why not."""
        key = _name_key(text)
        matches = self.county_index.get(key, [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            return _l("有多个县区叫“%(name)s”，请填写区划代码或“市名+县区名”。", name=text)
        known = db.session.scalar(select(Region).where(Region.code == key))
        if known is not None and known.level != "county":
            return _l("请填写县（市、区），不是市或省。")
        if known is not None:
            return _l("%(name)s 不在您的管辖范围内。", name=known.name)
        return _l("没有这个县区：%(name)s。请填写区划代码或名称。", name=text)

    def industry(self, text: str) -> str | None:
        key = unicodedata.normalize("NFKC", text).strip().upper()
        key = "C" + key if key.isdigit() else key
        if key in self.industries:
            return key
        by_name = [i.code for i in self.industries.values() if _name_key(i.name) == _name_key(text)]
        return by_name[0] if len(by_name) == 1 else None

    def category(self, text: str) -> str | None:
        return _by_code_or_name(self.categories, text)

    def level(self, text: str) -> str | None:
        return _by_code_or_name(self.levels, text) if text else self.upload.default_level_code


def _name_key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split()).casefold()


def _by_code_or_name(items, text: str) -> str | None:
    key = _name_key(text)
    for item in items:
        if key in (item.code.casefold(), _name_key(item.name), _name_key(item.name_en)):
            return item.code
    return None


@dataclass
class _Accepted:
    row: DemandRow
    credit_code: str
    need: needs.NeedData


def _check_rows(batch: ImportBatch, rows: Sequence[DemandRow],
                lookups: _Lookups) -> list[_Accepted]:
    """The rows to import; the others become the batch's problems."""
    seen = _existing_needs(lookups.enterprises.values())
    accepted: list[_Accepted] = []
    problems: list[ImportProblem] = []
    for row in rows:
        errors, plan = _check_row(row, lookups)
        if errors:
            problems.append(_problem(row, ProblemKind.INVALID, [
                _l("%(column)s：%(reason)s", column=HEADINGS.get(name, ""), reason=message)
                if name in HEADINGS else message
                for name, messages in errors.items() for message in messages]))
            continue
        key = (plan.credit_code, plan.need.title.strip(), plan.need.description.strip())
        if key in seen:
            earlier = seen[key]
            problems.append(_problem(row, ProblemKind.DUPLICATE, [
                _l("与本文件第 %(row)d 行重复，未再导入。", row=earlier) if earlier
                else _l("这家企业已有相同标题和描述的需求，未再导入。")]))
            continue
        seen[key] = row.number
        accepted.append(plan)
    batch.problems = problems
    batch.rows_invalid = sum(p.kind == ProblemKind.INVALID for p in problems)
    batch.rows_duplicate = sum(p.kind == ProblemKind.DUPLICATE for p in problems)
    return accepted


def _existing_needs(enterprises: Iterable[Enterprise]) -> dict[tuple[str, str, str], int]:
    by_id = {e.id: e.credit_code for e in enterprises}
    if not by_id:
        return {}
    rows = db.session.execute(select(Need.enterprise_id, Need.title, Need.description)
                              .where(Need.enterprise_id.in_(by_id)))
    return {(by_id[e], t.strip(), d.strip()): 0 for e, t, d in rows}


def _check_row(row: DemandRow, lookups: _Lookups) -> tuple[dict[str, list], _Accepted | None]:
    """The row's errors by field (the form's first, then the services' on other fields)."""
    errors: dict[str, list] = {k: list(v) for k, v in row.errors.items() if v}

    def add(name: str, message) -> None:
        if name not in errors:
            errors[name] = [message]

    cells = row.cells
    county, industry, category, level = _resolve(cells, lookups, add, "county_code" in errors)
    need = needs.NeedData(
        title=cells["title"], description=cells["description"], category_code=category or "",
        scenario_level_code=level or "", budget_min_fen=None, budget_max_fen=row.budget_fen,
        desired_start=None, visibility=lookups.upload.visibility)
    for name, message in _need_errors(need).items():
        add(name, message)
    code = creditcode.normalize(cells["credit_code"])
    if code == EXAMPLE_CREDIT_CODE:
        add("credit_code", _l("这是模板里的示例行，请删除后再导入。"))
    if "credit_code" not in errors:
        for name, message in _enterprise_errors(code, cells["name"], county, industry,
                                                lookups).items():
            add(name, message)
    if errors:
        return errors, None
    if code not in lookups.enterprises and code not in lookups.new:
        lookups.new[code] = (_enterprise_data(code, cells["name"], county, industry), county)
    return {}, _Accepted(row, code, need)


def _resolve(cells: dict[str, str], lookups: _Lookups, add, skip_county: bool) -> tuple:
    """The county, industry, category and level codes the cells name; ``add`` gets why not."""
    county = None if skip_county else lookups.county(cells["county_code"])
    if county is not None and not isinstance(county, Region):
        add("county_code", county)
        county = None
    industry = lookups.industry(cells["industry_code"])
    if industry is None:
        add("industry_code", _l("没有这个行业代码：%(v)s（国民经济行业分类，如 C34）。",
                                v=cells["industry_code"]))
    category = lookups.category(cells["category_code"])
    if category is None:
        add("category_code", _l("没有这个需求类别：%(v)s。", v=cells["category_code"]))
    level = lookups.level(cells["scenario_level_code"])
    if level is None:
        add("scenario_level_code", _l("没有这个场景层级：%(v)s。",
                                      v=cells["scenario_level_code"]))
    return county, industry, category, level


def _need_errors(data: needs.NeedData) -> dict:
    try:
        needs.check_need(data)  # the rules of a need posted on the web
    except ValidationFailed as failure:
        return failure.errors
    return {}


def _enterprise_data(code, name, county, industry) -> profiles.EnterpriseData:
    return profiles.EnterpriseData(
        name=name, credit_code=code, employees=0, revenue_wan=0,
        county_code=county.code if county else "", industry_code=industry or "",
        cluster_code=None)


def _enterprise_errors(code: str, name: str, county: Region | None, industry: str | None,
                       lookups: _Lookups) -> dict:
    existing = lookups.enterprises.get(code)
    if existing is not None:
        if not lookups.governs_id(existing.county_id):
            return {"credit_code": _l("这家企业登记在您管辖范围以外的地区，不能为它导入需求。")}
        return {}
    if code in lookups.new:
        return {}
    # the rules of an enterprise profile saved on the web
    return profiles.enterprise_problems(_enterprise_data(code, name, county, industry), None)


def _problem(row: DemandRow, kind: str, messages: list) -> ImportProblem:
    return ImportProblem(
        row_number=row.number, kind=kind, cells=[row.cells.get(c.field, "") for c in COLUMNS],
        reasons=_in_every_language(messages))


def _in_every_language(messages: list) -> dict[str, list[str]]:
    """Each message as every language of the app says it, for readers of any language."""
    texts = {}
    for locale in current_app.config["LANGUAGES"]:
        with force_locale(locale):
            texts[locale] = [str(m) for m in messages]
    return texts


def _write(batch: ImportBatch, accepted: list[_Accepted], lookups: _Lookups) -> None:
    created: dict[str, Enterprise] = {}
    micro = profiles.classify_size(0, 0)  # employees and revenue not reported
    for plan in accepted:
        enterprise = lookups.enterprises.get(plan.credit_code) or created.get(plan.credit_code)
        if enterprise is None:
            data, county = lookups.new[plan.credit_code]
            enterprise = Enterprise(
                name=data.name.strip(), credit_code=data.credit_code, employees=0,
                revenue_wan=0, size_class=micro, county=county,
                industry_code=data.industry_code)
            db.session.add(enterprise)
            db.session.add(ImportedEnterprise(enterprise=enterprise, batch=batch))
            created[plan.credit_code] = enterprise
        need = Need(enterprise=enterprise, author_id=None, status=NeedStatus.OPEN,
                    import_batch_id=batch.id)
        needs.fill_need(need, plan.need)
        db.session.add(need)
    batch.rows_imported = len(accepted)
    batch.enterprises_created = len(created)


# --- batches, reports and the template ------------------------------------------------------

def visible_batches(actor: User) -> Select:
    """The batches an actor may see, newest first: an official's region and below; all for
    admins."""
    query = select(ImportBatch).order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())
    if actor.is_admin:
        return query
    if not actor.is_gov:
        raise NotAllowed()
    return query.where(ImportBatch.region_id.in_(region_ids_governed(actor)))


def get_batch(actor: User, batch_id: int) -> ImportBatch:
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or not batch.can_view(actor):
        raise NotFound()
    return batch


def batch_needs(batch: ImportBatch, limit: int = 100) -> list[Need]:
    return list(db.session.scalars(select(Need).where(Need.import_batch_id == batch.id)
                                   .order_by(Need.id).limit(limit)))


def problem_report(actor: User, batch: ImportBatch, locale: str) -> Table:
    """The rows not imported, with row number and reasons in ``locale``; reading it is
    audited (it holds enterprises' credit codes)."""
    audit.record(actor, "download_import_report", batch, region_id=batch.region_id)
    kinds = {ProblemKind.INVALID: _("有错误，未导入"), ProblemKind.DUPLICATE: _("重复，未导入")}
    rows = [[p.row_number, kinds[p.kind], "\n".join(p.reasons_in(locale)), *p.cells]
            for p in batch.problems]
    return Table(
        title=_("需求清单导入问题行"),
        columns=[_("行号"), _("结果"), _("原因"), *(c.heading for c in COLUMNS)],
        rows=rows,
        filters=[(_("文件"), batch.filename), (_("批次"), f"#{batch.id}"),
                 (_("地区"), batch.region.full_label or batch.region.label),
                 (_("导入时间"), _when(batch.created_at))],
        sheet_name=_("问题行"),
    )


def template_tables(actor: User) -> list[Table]:
    """The import template: the headings with one example row (refused if left in), then
    what each column takes and the codes the actor may use."""
    region = import_region(actor)
    lookups = _Lookups(actor, Upload("", b"", "csv"), [])
    county = lookups.counties[0] if lookups.counties else None
    example = [EXAMPLE_CREDIT_CODE, _("示例精密机械有限公司"),
               (county.parent.name + county.name) if county and county.parent else "",
               "C34", _("设备联网采集数据"),
               _("车间二十台注塑机想联网，实时看到开机率和停机原因，减少非计划停机。"),
               "设备联网与监测", "50000", "车间"]
    main = Table(title=_("需求清单导入模板"), columns=[c.heading for c in COLUMNS],
                 rows=[example], filters=[(_("地区"), region.full_label or region.label)],
                 sheet_name=_("需求清单"))
    return [main, _column_help(), _code_table(lookups)]


def _column_help() -> Table:
    notes = {
        "credit_code": _("18 位，见营业执照；已有的企业按它关联，没有的新建。"),
        "name": _("新建企业时使用；已有企业以平台上的企业信息为准。"),
        "county_code": _("县（市、区）的区划代码或名称，须在您的管辖范围内；"
                         "重名时写“市名+县区名”。"),
        "industry_code": _("国民经济行业分类（GB/T 4754-2017）制造业大类代码，如 C34。"),
        "title": _("1 到 120 个字。"),
        "description": _("20 到 5000 个字。"),
        "category_code": _("类别代码或名称，见“代码表”。"),
        "budget_max_fen": _("可不填；不小于 0，最多两位小数，单位元。"),
        "scenario_level_code": _("可不填（按上传时选择的层级）；代码或名称，见“代码表”。"),
    }
    return Table(title=_("填写说明"), columns=[_("列"), _("必填"), _("说明")],
                 rows=[[c.heading, _("是") if c.required else _("否"), notes[c.field]]
                       for c in COLUMNS],
                 filters=[(_("说明"), _("从表头下一行起每行一条需求；请删除示例行。"))])


def _code_table(lookups: _Lookups) -> Table:
    rows = [[_("需求类别"), c.code, c.name] for c in sorted(lookups.categories,
                                                         key=lambda c: c.sort)]
    rows += [[_("场景层级"), s.code, s.name] for s in sorted(lookups.levels, key=lambda s: s.rank)]
    rows += [[_("行业"), code, i.name] for code, i in sorted(lookups.industries.items())]
    rows += [[_("县区"), c.code, f"{c.parent.name if c.parent else ''}{c.name}"]
             for c in sorted(lookups.counties, key=lambda c: c.code)]
    return Table(title=_("代码表"), columns=[_("种类"), _("代码"), _("名称")], rows=rows)
