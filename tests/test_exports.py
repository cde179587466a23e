"""Spreadsheet exports: what is written reads back the same, and nothing reads back as a formula."""

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import unquote

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils.escape import unescape

from marketplace import exports
from marketplace.exports import Table

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def read_xlsx(content: bytes, sheet: int = 0) -> list[list[object]]:
    """What a spreadsheet program shows: OOXML _xHHHH_ escapes decoded (Excel does this)."""
    book = openpyxl.load_workbook(io.BytesIO(content))
    rows = book.worksheets[sheet].iter_rows(values_only=True)
    return [[unescape(v) if isinstance(v, str) else v for v in row] for row in rows]


def body(rows: list[list[object]], headings: list[str]) -> list[list[object]]:
    """The rows after the headings row (the title and filter block comes first)."""
    start = next(i for i, row in enumerate(rows) if list(row[:len(headings)]) == headings)
    return rows[start + 1:]


def expected(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def table(rows, filters=(("地区", "苏州市"),), title="需求统计"):
    return Table(title=title, columns=["A", "B", "C"], rows=rows, filters=filters)


texts = st.lists(st.text(max_size=40), min_size=3, max_size=3)


@settings(max_examples=150, deadline=None)
@given(row=texts)
def test_any_text_round_trips_through_csv(row):
    read = body(read_csv(exports.to_csv(table([row]))), ["A", "B", "C"])
    assert read == [[expected(text) for text in row]]
    assert not any(cell.startswith(FORMULA_STARTS) for cell in read[0])


@settings(max_examples=100, deadline=None)
@given(row=texts)
def test_any_text_round_trips_through_xlsx(row):
    read = body(read_xlsx(exports.to_xlsx(table([row]))), ["A", "B", "C"])
    # an empty cell reads back as None
    assert read == [[expected(text) or None for text in row]]
    assert not any(isinstance(c, str) and c.startswith(FORMULA_STARTS) for c in read[0])


@settings(max_examples=60, deadline=None)
@given(title=st.text(max_size=30), label=st.text(max_size=20), value=st.text(max_size=30))
def test_title_and_filters_are_neutralised_too(title, label, value):
    t = Table(title=title, columns=["x"], rows=[], filters=[(label, value)])
    csv_rows = read_csv(exports.to_csv(t))
    assert csv_rows[0] == ["# " + title] and csv_rows[1] == ["# " + label, expected(value)]
    xlsx_rows = read_xlsx(exports.to_xlsx(t))
    assert xlsx_rows[0][0] == (expected(title) or None)
    assert xlsx_rows[1][:2] == [expected(label) or None, expected(value) or None]


numbers = st.one_of(
    st.integers(min_value=-10**15, max_value=10**15),
    st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False),
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
)


@settings(max_examples=100, deadline=None)
@given(number=numbers)
def test_numbers_stay_numbers(number):
    """A negative number is a number, not a formula: no quote mark, a numeric cell."""
    (csv_row,) = body(read_csv(exports.to_csv(table([[number, "x", "y"]]))), ["A", "B", "C"])
    assert Decimal(csv_row[0]) == Decimal(str(number))
    (xlsx_row,) = body(read_xlsx(exports.to_xlsx(table([[number, "x", "y"]]))),
                       ["A", "B", "C"])
    assert isinstance(xlsx_row[0], int | float)
    assert xlsx_row[0] == pytest.approx(float(number))


def test_dates_none_and_odd_values():
    moment = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)  # 10:30 in China
    rows = [[date(2026, 1, 2), moment, None], [float("nan"), Decimal("Infinity"), True]]
    (first, second) = body(read_csv(exports.to_csv(table(rows))), ["A", "B", "C"])
    assert first == ["2026-01-02", "2026-03-01 10:30:00", ""]
    assert second == ["", "", "True"]
    (first, second) = body(read_xlsx(exports.to_xlsx(table(rows))), ["A", "B", "C"])
    assert first[0] == datetime(2026, 1, 2) and first[1] == datetime(2026, 3, 1, 10, 30)
    assert first[2] is None and second[:2] == [None, None]


def test_the_file_names_its_filters():
    t = table([["苏州市", 3, 4]], filters=[("地区", "苏州市"), ("期间", "2026年")])
    csv_rows = read_csv(exports.to_csv(t))
    assert csv_rows[:4] == [["# 需求统计"], ["# 地区", "苏州市"], ["# 期间", "2026年"], []]
    assert csv_rows[4:] == [["A", "B", "C"], ["苏州市", "3", "4"]]
    book = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(t)))
    sheet = book.active
    assert sheet.title == "需求统计" and sheet["A1"].value == "需求统计"
    assert sheet["A1"].font.b and sheet["A5"].font.b  # title and headings in bold
    assert [sheet["A2"].value, sheet["B2"].value] == ["地区", "苏州市"]
    assert sheet.freeze_panes == "A6"
    assert exports.file_name(t, "xlsx", date(2026, 5, 1)) == "需求统计_苏州市_2026年_20260501.xlsx"


def test_several_tables_make_several_sheets():
    first, second = table([[1, 2, 3]], title="表一"), table([[4, 5, 6]], title="表[二]")
    book = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(first, second, second)))
    assert book.sheetnames[0] == "表一" and len(set(book.sheetnames)) == 3
    assert all("[" not in name for name in book.sheetnames)
    long_title = table([[1, 2, 3]], title="很长的标题" * 10)
    book = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(long_title, long_title)))
    assert all(len(name) <= 31 for name in book.sheetnames) and len(set(book.sheetnames)) == 2
    assert exports.render([first, second], "csv") == exports.to_csv(first)
    with pytest.raises(ValueError):
        exports.render(first, "pdf")


@settings(max_examples=200, deadline=None)
@given(title=st.text(max_size=200), value=st.text(max_size=50))
def test_file_names_are_safe(title, value):
    name = exports.file_name(table([], filters=[("x", value)], title=title), "csv",
                             date(2026, 1, 1))
    assert name.endswith(".csv") and len(name) <= 125
    assert not re.search(r'[\\/:*?"<>|\x00-\x1f\x7f]', name)
    assert not name.startswith(".")
    header = exports.content_disposition(name)
    assert "\r" not in header and "\n" not in header
    fallback = re.match(r'attachment; filename="([A-Za-z0-9_.-]+)"; filename\*=UTF-8\'\'(\S+)$',
                        header)
    assert fallback, header
    assert unquote(fallback.group(2)) == name


def test_download_response(app):
    t = table([["=HYPERLINK(\"http://evil\")", -3, 2]], filters=[("地区", "苏州市")])
    with app.test_request_context():
        response = exports.download(t, "csv")
        assert response.content_type == "text/csv; charset=utf-8"
        assert response.headers["Cache-Control"] == "no-store"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith('attachment; filename="export_')
        assert "filename*=UTF-8''%E9%9C%80%E6%B1%82" in disposition  # 需求…
        rows = body(read_csv(response.get_data()), ["A", "B", "C"])
        assert rows == [["'=HYPERLINK(\"http://evil\")", "-3", "2"]]
        response = exports.download([t], "xlsx", name="报告.xlsx")
        assert response.mimetype == exports.MIMETYPES["xlsx"]
        assert response.headers["Content-Disposition"].endswith(
            "filename*=UTF-8''%E6%8A%A5%E5%91%8A.xlsx")
        assert body(read_xlsx(response.get_data()), ["A", "B", "C"]) == [
            ["'=HYPERLINK(\"http://evil\")", -3, 2]]
