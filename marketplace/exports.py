"""Spreadsheet files: every table the app offers for download is written here, as CSV or XLSX.

A :class:`Table` carries a title, the filters it was made with, column headings and rows.
:func:`to_csv` and :func:`to_xlsx` write it with the title and filters in the file (leading
``#`` rows in CSV, a header block in XLSX) and :func:`file_name` names the file after them;
:func:`download` wraps it in a Flask response.

Cells are neutralised against spreadsheet formula injection (OWASP "CSV injection"): a text
cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
``'``, so no spreadsheet program evaluates it. Numbers (``int``, ``float``, ``Decimal``) stay
numbers, negative ones included. CSV is UTF-8 with a byte-order mark so that Excel opens
Chinese text correctly.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DEFAULT_TIMEZONE = "Asia/Shanghai"

# XML 1.0 cannot carry these characters, and XML parsers turn a bare CR into LF; OOXML
# writes them as _xHHHH_ (and a literal "_xHHHH_" as "_x005F_xHHHH_"), as Excel does.
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]")
_LOOKS_ESCAPED = re.compile("_(?=x[0-9A-Fa-f]{4}_)")
_FILE_NAME_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
_SHEET_NAME_UNSAFE = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


@dataclass(frozen=True)
class Table:
    """A table to export. ``filters`` are ``(label, value)`` pairs describing what was
    selected (region, period, …); labels and titles may be lazy translated strings."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]
    filters: Sequence[tuple[str, object]] = ()
    sheet_name: str | None = None
    # what the figures count (口径), as (label, text) rows under the filters; not in the name
    definitions: Sequence[tuple[str, object]] = ()

    @property
    def header(self) -> list[tuple[str, object]]:
        return [*self.filters, *self.definitions]


def neutralise(value: object) -> object:
    """The value as written to a cell: numbers, dates and None as they are, anything else as
    text with a leading ``'`` when it would start a formula."""
    if value is None or isinstance(value, bool | datetime | date):
        return value
    if isinstance(value, int | float | Decimal):
        return value if _finite(value) else None
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _finite(number: int | float | Decimal) -> bool:
    return isinstance(number, int) or (
        number.is_finite() if isinstance(number, Decimal) else math.isfinite(number))


def _local(moment: datetime, timezone: str) -> datetime:
    """Spreadsheets have no time zones: aware times are shown in the app's time zone."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def _csv_text(value: object, timezone: str) -> str:
    value = neutralise(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _local(value, timezone).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_csv(table: Table, timezone: str = DEFAULT_TIMEZONE) -> bytes:
    """The table as CSV: ``# title`` and ``# label, value`` rows, a blank row, the headings
    and the rows; UTF-8 with BOM, CRLF line ends (what Excel expects)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    # "# " already keeps the title and labels from starting a formula
    writer.writerow([f"# {table.title}"])
    for label, value in table.header:
        writer.writerow([f"# {label}", _csv_text(value, timezone)])
    writer.writerow([])
    writer.writerow([_csv_text(c, timezone) for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_text(cell, timezone) for cell in row])
    return buffer.getvalue().encode("utf-8-sig")


def _xlsx_value(value: object, timezone: str) -> object:
    value = neutralise(value)
    if isinstance(value, datetime):
        return _local(value, timezone)
    if isinstance(value, str):
        escaped = _LOOKS_ESCAPED.sub("_x005F_", value)
        return _XML_UNSAFE.sub(lambda m: f"_x{ord(m.group()):04X}_", escaped)
    return value


def _width(value: object) -> int:
    """Display width: CJK and other wide characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(value))


def _sheet_name(table: Table, index: int, taken: set[str]) -> str:
    name = _SHEET_NAME_UNSAFE.sub("_", str(table.sheet_name or table.title)).strip("'")[:28]
    name = name or f"Sheet{index}"
    while name in taken:
        name = f"{name[:25]}_{index}"
        index += 1
    taken.add(name)
    return name


def _write_sheet(book: Workbook, table: Table, name: str, timezone: str) -> None:
    sheet = book.create_sheet(name)
    rows = list(table.rows)
    sample = [table.columns, *rows[:200]]
    for i in range(len(table.columns)):
        widest = max((_width(r[i]) for r in sample if i < len(r) and r[i] is not None),
                     default=8)
        sheet.column_dimensions[get_column_letter(i + 1)].width = min(max(widest + 2, 8), 60)
    header_rows = 2 + len(table.header) + 1
    sheet.freeze_panes = f"A{header_rows + 1}"

    def bold(value, size=None):
        cell = WriteOnlyCell(sheet, _xlsx_value(value, timezone))
        cell.font = Font(bold=True, size=size)
        return cell

    sheet.append([bold(table.title, 14)])
    for label, value in table.header:
        sheet.append([bold(label), _xlsx_value(value, timezone)])
    sheet.append([])
    sheet.append([bold(column) for column in table.columns])
    for row in rows:
        sheet.append([_xlsx_value(cell, timezone) for cell in row])


def to_xlsx(*tables: Table, timezone: str = DEFAULT_TIMEZONE) -> bytes:
    """The tables as one workbook, a sheet each: the title (bold), one ``label | value`` row
    per filter, a blank row, the headings (bold, frozen) and the rows."""
    book = Workbook(write_only=True)
    taken: set[str] = set()
    for index, table in enumerate(tables, start=1):
        _write_sheet(book, table, _sheet_name(table, index, taken), timezone)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _name_part(value: object) -> str:
    text = _FILE_NAME_UNSAFE.sub("", str(value))
    return "_".join(text.split()).strip("._")


def file_name(table: Table, fmt: str, today: date | None = None) -> str:
    """``<title>_<filter values>_<YYYYMMDD>.<fmt>``, without characters a file system or a
    header would refuse, at most about 120 characters before the extension."""
    parts = [_name_part(table.title)] + [_name_part(v) for _, v in table.filters]
    parts.append((today or date.today()).strftime("%Y%m%d"))
    stem = "_".join(p for p in parts if p)[:120].rstrip("._")
    return f"{stem or 'export'}.{fmt}"


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII ``filename`` for old clients and the real (Chinese) name
    in RFC 5987 ``filename*``."""
    stem, _, extension = name.rpartition(".")
    ascii_stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")
    if not re.search(r"[A-Za-z]", ascii_stem):
        ascii_stem = f"export_{ascii_stem}".rstrip("_")
    ascii_extension = re.sub(r"[^A-Za-z0-9]", "", extension)
    fallback = f"{ascii_stem}.{ascii_extension}" if ascii_extension else ascii_stem
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def render(tables: Table | Sequence[Table], fmt: str, timezone: str = DEFAULT_TIMEZONE) -> bytes:
    """The file's bytes; CSV holds the first table only (a CSV file has one sheet)."""
    tables = [tables] if isinstance(tables, Table) else list(tables)
    if fmt == "csv":
        return to_csv(tables[0], timezone)
    if fmt == "xlsx":
        return to_xlsx(*tables, timezone=timezone)
    raise ValueError(f"unknown export format {fmt!r}")


def download(tables: Table | Sequence[Table], fmt: str, name: str | None = None):
    """A Flask response downloading ``tables`` as ``fmt`` (``csv`` or ``xlsx``), named after
    the first table and its filters unless ``name`` is given. Not cached: exports hold data
    only some users may see."""
    from flask import Response, current_app

    first = tables if isinstance(tables, Table) else tables[0]
    timezone = current_app.config.get("BABEL_DEFAULT_TIMEZONE", DEFAULT_TIMEZONE)
    response = Response(render(tables, fmt, timezone), mimetype=MIMETYPES[fmt])
    today = datetime.now(ZoneInfo(timezone)).date()
    response.headers["Content-Disposition"] = content_disposition(
        name or file_name(first, fmt, today))
    response.headers["Cache-Control"] = "no-store"
    return response
