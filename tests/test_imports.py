"""Demand-list imports: mixed good and bad rows, reports, repeats, file checks, scope."""

import csv
import io
import threading
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.extensions import db
from marketplace.imports.forms import check_rows
from marketplace.models import (
    AuditEntry,
    Enterprise,
    ImportBatch,
    ImportedEnterprise,
    ImportProblem,
    Need,
    User,
)
from marketplace.services import imports
from marketplace.services.errors import ValidationFailed
from marketplace.services.profiles import classify_size
from tests.conftest import region

DATA = Path(__file__).parent / "data" / "imports"
HEADINGS = [c.heading for c in imports.COLUMNS]
DESCRIPTION = "二十台注塑机老是突然停机，想实时看到开机率和停机原因，减少非计划停机。"
IN_SCOPE, OUT_OF_SCOPE = "913205058813998668", "913205067294055711"
NEW_A, NEW_B = "91320505MA8TPQQF3A", "91320505568151880Y"
# mixed.csv: the file's row numbers (row 1 holds the headings; row 15 is blank)
IMPORTED_ROWS = {2, 3, 4, 14}
DUPLICATE_ROWS = {10}
INVALID_ROWS = {
    5: "统一社会信用代码：统一社会信用代码校验位不正确",
    6: "需求描述：需要 20 到 5000 个字",
    7: "县区：吴中区 不在您的管辖范围内",
    8: "预算（元）：金额最多保留两位小数",
    9: "需求类别：没有这个需求类别：区块链",
    11: "统一社会信用代码：这家企业登记在您管辖范围以外的地区",
    12: "需求标题：包含不可见的控制字符",
    13: "统一社会信用代码：统一社会信用代码应为 18 位",
    16: "行业：没有这个行业代码：C99",
}


def upload(client, content: bytes, filename: str, **fields):
    data = {"file": (io.BytesIO(content), filename), "visibility": "public",
            "default_level": "device", **fields}
    return client.post("/imports/new", data=data, content_type="multipart/form-data")


def upload_file(client, name: str, **fields):
    return upload(client, (DATA / name).read_bytes(), name, **fields)


def make_csv(rows, headings=HEADINGS, encoding="utf-8-sig", delimiter=",") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows([headings, *rows])
    return buffer.getvalue().encode(encoding)


def good_row(code=NEW_A, title="注塑机联网监测", **changes) -> list[str]:
    row = dict(zip(HEADINGS, [code, "苏州新建精工有限公司", "320505", "C34", title, DESCRIPTION,
                              "device_monitoring", "50000", "车间"], strict=True))
    row.update({imports.HEADINGS[k]: v for k, v in changes.items()})
    return list(row.values())


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.fixture
def existing(app):
    """An enterprise of the county (linked by credit code) and one of the next county."""
    with app.app_context():
        for code, county, name in ((IN_SCOPE, "320505", "已在平台的企业"),
                                   (OUT_OF_SCOPE, "320506", "吴中的企业")):
            db.session.add(Enterprise(name=name, credit_code=code, employees=50,
                                      revenue_wan=3000, size_class=classify_size(50, 3000),
                                      county=region(county), industry_code="C34"))
        db.session.commit()


@pytest.fixture
def officials(make_user):
    return {"county": make_user(role="gov", region_code="320505"),
            "other_county": make_user(role="gov", region_code="320506"),
            "city": make_user(role="gov", region_code="320500"),
            "admin": make_user(role="admin")}


@pytest.fixture
def county(client, auth, officials):
    auth.login(officials["county"])
    return client


def test_mixed_file_imports_the_good_rows_and_reports_the_bad(app, county, existing, officials):
    response = upload_file(county, "mixed.csv")
    assert response.status_code == 302
    page = county.get(response.headers["Location"]).get_data(as_text=True)
    assert "4 条需求已导入，1 条重复，9 条有错误" in page
    with app.app_context():
        batch = db.session.scalar(db.select(ImportBatch))
        assert (batch.rows_total, batch.rows_imported, batch.rows_duplicate, batch.rows_invalid,
                batch.enterprises_created) == (14, 4, 1, 9, 2)
        assert batch.region.code == "320505" and batch.uploaded_by_id == officials["county"].id
        problems = {p.row_number: p for p in batch.problems}
        assert set(problems) == set(INVALID_ROWS) | DUPLICATE_ROWS
        for number, reason in INVALID_ROWS.items():
            assert problems[number].kind == "invalid"
            assert any(reason in text for text in problems[number].reasons["zh_CN"]), number
            assert set(problems[number].reasons) == {"zh_CN", "en"}
        assert "场景层级：没有这个场景层级：宇宙级。" in problems[16].reasons["zh_CN"]
        assert problems[10].kind == "duplicate"
        assert "与本文件第 2 行重复" in problems[10].reasons["zh_CN"][0]
        assert problems[13].cells[0] == "=cmd|' /C calc'!A0"  # kept as uploaded

        needs = {n.title: n for n in db.session.scalars(db.select(Need))}
        assert set(needs) == {"注塑机联网监测", "视觉质检替代人工", "分项能耗计量", "扫码出入库"}
        assert all(n.import_batch_id == batch.id and n.author_id is None and n.status == "open"
                   and n.visibility == "public" for n in needs.values())
        first, second = needs["注塑机联网监测"], needs["视觉质检替代人工"]
        assert first.enterprise_id == second.enterprise_id  # linked, created once
        assert first.scenario_level_code == "workshop" and first.budget_max_fen == 5_000_000
        assert second.category_code == "quality" and second.budget_max_fen == 128_050
        assert second.scenario_level_code == "device"  # the form's default for a blank cell
        assert needs["分项能耗计量"].enterprise.name == "已在平台的企业"  # linked, not renamed
        assert needs["分项能耗计量"].enterprise.employees == 50
        last = needs["扫码出入库"]
        assert last.enterprise.industry_code == "C34" and last.category_code == \
            "warehouse_logistics" and last.scenario_level_code == "line"
        assert last.budget_max_fen == 0 and last.budget_min_fen is None

        created = db.session.get(Enterprise, first.enterprise_id)
        assert created.credit_code == NEW_A and created.county.code == "320505"
        assert (created.employees, created.revenue_wan, created.size_class_code) == (0, 0, "micro")
        assert created.users == [] and created.cluster_code is None
        assert {e.enterprise.credit_code for e in db.session.scalars(
            db.select(ImportedEnterprise))} == {NEW_A, NEW_B}

        entry = db.session.scalar(db.select(AuditEntry).where(
            AuditEntry.action == "import_demand_list"))
        assert entry.region_id == batch.region_id and entry.object_id == batch.id
        assert entry.details["imported"] == 4 and entry.details["invalid"] == 9


def test_problem_report_downloads(app, county, existing):
    upload_file(county, "mixed.csv")
    with app.app_context():
        batch_id = db.session.scalar(db.select(ImportBatch.id))
    response = county.get(f"/imports/{batch_id}/report.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))
    start = rows.index(["行号", "结果", "原因", *HEADINGS])
    assert ["# 文件", "mixed.csv"] in rows[:start]
    body = {int(r[0]): r for r in rows[start + 1:]}
    assert set(body) == set(INVALID_ROWS) | DUPLICATE_ROWS
    assert INVALID_ROWS[6] in body[6][2] and body[10][1] == "重复，未导入"
    assert body[13][3] == "'=cmd|' /C calc'!A0"  # neutralised on the way out
    assert body[13][7] == "'=HYPERLINK(\"http://x\")"

    response = county.get(f"/imports/{batch_id}/report.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    start = values.index(["行号", "结果", "原因", *HEADINGS])
    assert sorted(r[0] for r in values[start + 1:]) == sorted(
        set(INVALID_ROWS) | DUPLICATE_ROWS)
    with app.app_context():
        assert count(AuditEntry.__table__) and db.session.scalar(
            db.select(db.func.count()).where(AuditEntry.action == "download_import_report")) == 2


def test_report_in_the_readers_language(app, existing, officials):
    with app.test_request_context():
        official = db.session.get(User, officials["county"].id)
        content = (DATA / "mixed.csv").read_bytes()
        batch = _import(official, "mixed.csv", content)
        problem = next(p for p in batch.problems if p.row_number == 6)
        problem.reasons["en"] = ["Description: needs 20 to 5000 characters."]
        table = imports.problem_report(official, batch, "en")
        row = next(r for r in table.rows if r[0] == 6)
        assert row[2] == "Description: needs 20 to 5000 characters."
        assert problem.reasons_in("fr") == problem.reasons["zh_CN"]
        db.session.rollback()


def test_xlsx_with_a_title_row_keeps_the_sheets_row_numbers(app, county, existing):
    assert upload_file(county, "mixed.xlsx").status_code == 302
    with app.app_context():
        batch = db.session.scalar(db.select(ImportBatch))
        assert (batch.file_format, batch.rows_imported, batch.rows_invalid) == ("xlsx", 4, 9)
        assert {p.row_number for p in batch.problems} == {
            n + 1 for n in set(INVALID_ROWS) | DUPLICATE_ROWS}


def test_the_same_file_twice_imports_nothing_new(app, county, existing):
    upload_file(county, "mixed.csv")
    response = upload_file(county, "mixed.csv")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "这个文件已于" in page and "导入过" in page and "本次没有导入任何数据" in page
    with app.app_context():
        assert count(ImportBatch) == 1 and count(Need) == 4 and count(Enterprise) == 4


def test_an_overlapping_file_imports_only_new_needs(app, county):
    first = make_csv([good_row(), good_row(title="视觉质检替代人工")])
    upload(county, first, "first.csv")
    second = make_csv([good_row(title="视觉质检替代人工"), good_row(title="扫码出入库"),
                       good_row()])
    assert upload(county, second, "second.csv").status_code == 302
    with app.app_context():
        batch = db.session.scalars(db.select(ImportBatch).order_by(ImportBatch.id)).all()[-1]
        assert (batch.rows_imported, batch.rows_duplicate, batch.enterprises_created) == (1, 2, 0)
        assert all("已有相同标题和描述的需求" in p.reasons["zh_CN"][0] for p in batch.problems)
        assert count(Need) == 3 and count(Enterprise) == 1


def test_another_region_may_import_the_same_file_but_not_the_same_needs(
        app, client, auth, officials):
    content = make_csv([good_row()])
    auth.login(officials["county"])
    upload(client, content, "list.csv")
    auth.logout()
    auth.login(officials["city"])
    assert upload(client, content, "list.csv").status_code == 302
    with app.app_context():
        assert count(ImportBatch) == 2 and count(Need) == 1


@pytest.mark.parametrize(("filename", "content", "message"), [
    ("list.txt", b"a,b", "只能上传 .csv 或 .xlsx 文件"),
    ("list", b"a,b", "只能上传 .csv 或 .xlsx 文件"),
    ("list.xls", b"\xd0\xcf\x11\xe0rest", "不支持旧版 .xls 文件"),
    ("list.csv", b"", "文件是空的"),
    ("list.csv", (DATA / "mixed.xlsx").read_bytes(), "文件内容不是 CSV 文本，与扩展名不符"),
    ("list.csv", b"%PDF-1.4 \x00\x01", "文件内容不是 CSV 文本，与扩展名不符"),
    ("list.csv", "统一社会信用代码,企业名称\x00".encode(), "文件内容不是 CSV 文本"),
    ("renamed.xlsx", (DATA / "renamed.xlsx").read_bytes(), "文件内容不是 XLSX 表格，与扩展名不符"),
    ("list.xlsx", b"PK\x03\x04 not really a zip", "文件内容不是 XLSX 表格"),
    ("list.csv", "名称,地址\r\n甲,乙\r\n".encode(), "找不到表头行"),
    ("list.csv", "统一社会信用代码,企业名称\r\n1,2\r\n".encode(), "缺少这些列：县区、行业"),
    ("list.csv", make_csv([]), "表头下面没有数据行"),
    ("list.csv", b"\xff\xff\xff\x81\x30", "无法识别文件的文字编码"),
])
def test_unreadable_files_are_refused_beside_the_field(app, county, filename, content, message):
    response = upload(county, content, filename)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert count(ImportBatch) == 0 and count(Need) == 0


def test_size_and_row_limits(app, county):
    with pytest.raises(ValidationFailed) as failure:
        imports.read_demand_list("list.csv", b"x" * 101, max_bytes=100)
    assert "不能超过" in str(failure.value.errors["file"])
    many = make_csv([good_row(title=f"需求{i}") for i in range(imports.MAX_ROWS + 1)])
    with pytest.raises(ValidationFailed) as failure:
        imports.read_demand_list("list.csv", many, max_bytes=10**8)
    assert "一次最多导入 5000 行" in str(failure.value.errors["file"])
    app.config["UPLOAD_MAX_BYTES"] = 2000  # the body limit answers before any form is read
    assert upload(county, make_csv([good_row()] * 20), "list.csv").status_code == 413
    with app.app_context():
        assert count(ImportBatch) == 0


def test_a_broken_xlsx_is_refused_not_a_crash(app, county):
    book = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(book, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<not-a-workbook")
    response = upload(county, book.getvalue(), "list.xlsx")
    assert response.status_code == 200 and "无法读取这个文件" in response.get_data(as_text=True)


def test_excel_csv_variants(app, county):
    assert upload_file(county, "gbk.csv").status_code == 302  # GBK, optional columns left out
    for delimiter in ("\t", ";"):
        content = make_csv([good_row(title=f"分隔符{ord(delimiter)}")], delimiter=delimiter)
        assert upload(county, content, "list.csv").status_code == 302
    utf16 = make_csv([good_row(title="UTF-16 文本")], encoding="utf-16", delimiter="\t")
    assert upload(county, utf16, "list.csv").status_code == 302
    headings = ["统一社会信用代码*", "企业名称 ", "县区", "行业", "需求标题", "需求描述",
                "需求类别", "预算(元)（选填）", "场景层级"]
    assert upload(county, make_csv([good_row(title="表头写法", budget_max_fen="88")],
                                   headings=headings), "list.csv").status_code == 302
    with app.app_context():
        assert count(Need) == 5
        assert db.session.scalar(db.select(Need.budget_max_fen).where(
            Need.title == "表头写法")) == 8800
        assert db.session.scalar(db.select(Need.budget_max_fen).where(
            Need.title == "注塑机联网监测")) is None  # gbk.csv has no budget column


def test_template_downloads_and_an_unedited_template_imports_nothing(app, county):
    response = county.get("/imports/template.xlsx")
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["需求清单", "填写说明", "代码表"]
    rows = [list(r) for r in book["需求清单"].iter_rows(values_only=True)]
    heading = rows.index(HEADINGS)
    assert rows[heading + 1][0] == imports.EXAMPLE_CREDIT_CODE
    assert rows[heading + 1][2] == "苏州市虎丘区"
    codes = [r[1] for r in book["代码表"].iter_rows(values_only=True)]
    assert "320505" in codes and "320506" not in codes  # only the official's own counties
    assert upload(county, response.get_data(), "template.xlsx").status_code == 302
    csv_template = county.get("/imports/template.csv")
    assert upload(county, csv_template.get_data(), "template.csv").status_code == 302
    with app.app_context():
        assert count(Need) == 0
        problems = db.session.scalars(db.select(ImportProblem)).all()
        assert len(problems) == 2 and all(
            "示例行" in p.reasons["zh_CN"][0] for p in problems)


def test_an_edited_template_imports(app, county):
    book = openpyxl.load_workbook(io.BytesIO(county.get("/imports/template.xlsx").get_data()))
    sheet = book["需求清单"]
    example_row = next(r for r in sheet.iter_rows() if r[0].value == imports.EXAMPLE_CREDIT_CODE)
    example_row[0].value = NEW_B
    out = io.BytesIO()
    book.save(out)
    assert upload(county, out.getvalue(), "filled.xlsx").status_code == 302
    with app.app_context():
        need = db.session.scalar(db.select(Need))
        assert need.enterprise.credit_code == NEW_B and need.category_code == "device_monitoring"
        assert need.scenario_level_code == "workshop" and need.budget_max_fen == 5_000_000


def test_visibility_and_default_level_come_from_the_form(app, county, auth, make_user):
    content = make_csv([good_row(scenario_level_code="")])
    response = upload(county, content, "list.csv", visibility="everyone")
    assert response.status_code == 200 and "不是有效的选择" in response.get_data(as_text=True)
    assert upload(county, content, "list.csv", visibility="private",
                  default_level="factory").status_code == 302
    with app.app_context():
        need = db.session.scalar(db.select(Need))
        assert need.visibility == "private" and need.scenario_level_code == "factory"
        need_id = need.id
    auth.logout()
    auth.login(make_user())  # an SME elsewhere may not see a private imported need
    assert county.get(f"/needs/{need_id}").status_code == 404


def test_a_county_name_shared_by_two_cities_needs_the_city(app, client, auth, officials):
    auth.login(officials["admin"])  # admins import anywhere (the province)
    rows = [good_row(county_code="鼓楼区"), good_row(title="徐州的需求", county_code="徐州市鼓楼区",
                                                  code=NEW_B)]
    assert upload(client, make_csv(rows), "list.csv").status_code == 302
    with app.app_context():
        batch = db.session.scalar(db.select(ImportBatch))
        assert batch.region.code == "320000" and batch.rows_imported == 1
        assert "有多个县区叫“鼓楼区”" in batch.problems[0].reasons["zh_CN"][0]
        assert db.session.scalar(db.select(Need)).enterprise.county.code == "320302"


def test_a_city_code_is_not_a_county(app, client, auth, officials):
    auth.login(officials["city"])
    upload(client, make_csv([good_row(county_code="320500")]), "list.csv")
    with app.app_context():
        problem = db.session.scalar(db.select(ImportProblem))
        assert "请填写县（市、区），不是市或省" in problem.reasons["zh_CN"][0]


def test_an_unexpected_failure_writes_nothing(app, county, monkeypatch):
    calls = []

    def failing_apply(need, data):
        calls.append(need)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        need.title, need.description = data.title, data.description
        need.category_code, need.scenario_level_code = data.category_code, "device"

    monkeypatch.setattr(imports.needs, "fill_need", failing_apply)
    with pytest.raises(RuntimeError):
        upload(county, make_csv([good_row(), good_row(title="第二条", code=NEW_B)]), "list.csv")
    with app.app_context():
        assert (count(ImportBatch), count(Need), count(Enterprise), count(ImportProblem)) == (
            0, 0, 0, 0)


def test_history_is_scoped_to_the_officials_region(app, client, auth, officials):
    auth.login(officials["county"])
    upload(client, make_csv([good_row()]), "county-list.csv")
    with app.app_context():
        batch_id = db.session.scalar(db.select(ImportBatch.id))
    assert "county-list.csv" in client.get("/imports/").get_data(as_text=True)
    auth.logout()
    auth.login(officials["other_county"])
    assert "county-list.csv" not in client.get("/imports/").get_data(as_text=True)
    assert client.get(f"/imports/{batch_id}").status_code == 404
    assert client.get(f"/imports/{batch_id}/report.csv").status_code == 404
    auth.logout()
    for who in ("city", "admin"):
        auth.login(officials[who])
        assert "county-list.csv" in client.get("/imports/").get_data(as_text=True)
        page = client.get(f"/imports/{batch_id}").get_data(as_text=True)
        assert "注塑机联网监测" in page
        auth.logout()


def test_only_officials_and_admins_import(app, client, auth, make_user):
    auth.login(make_user())
    assert upload(client, make_csv([good_row()]), "list.csv").status_code == 403
    with app.app_context():
        assert count(ImportBatch) == 0


def _import(official, filename: str, content: bytes):
    sheet = imports.read_demand_list(filename, content, 10**7)
    rows = check_rows(sheet.rows)
    return imports.import_demand_list(
        official, imports.Upload(filename, content, sheet.file_format), rows)


cell_text = st.text(max_size=30) | st.sampled_from(
    ["", "320505", "虎丘区", "C34", "34", "质量检测", "-1", "1e9", "12.5", NEW_A, NEW_B,
     "=1+1", DESCRIPTION])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.data_too_large])
@given(rows=st.lists(st.lists(cell_text, min_size=9, max_size=9), min_size=1, max_size=4))
def test_any_rows_are_imported_or_reported_never_a_crash(app, officials, rows):
    content = make_csv(rows)
    with app.test_request_context():
        official = db.session.get(User, officials["county"].id)
        try:
            batch = _import(official, "fuzz.csv", content)
        except ValidationFailed as failure:  # e.g. every row blank
            assert set(failure.errors) == {"file"}
        else:
            assert batch.rows_imported + batch.rows_duplicate + batch.rows_invalid == \
                batch.rows_total
            assert all(p.reasons["zh_CN"] for p in batch.problems)
            assert count(Need) == batch.rows_imported
        finally:
            db.session.rollback()


def test_two_uploads_of_one_file_at_the_same_moment_import_once(app, officials, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a real race needs PostgreSQL (SQLite serialises writers anyway)")
    content = make_csv([good_row(), good_row(title="第二条", code=NEW_B)])
    barrier, outcomes = threading.Barrier(2), []

    def run():
        with app.test_request_context():
            official = db.session.get(User, officials["county"].id)
            barrier.wait()
            try:
                _import(official, "list.csv", content)
                db.session.commit()
                outcomes.append("ok")
            except ValidationFailed as failure:
                db.session.rollback()
                outcomes.append(str(failure.errors["file"]))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1 and "导入过" in [o for o in outcomes if o != "ok"][0]
    with app.app_context():
        assert count(ImportBatch) == 1 and count(Need) == 2 and count(Enterprise) == 2


upload_fields = st.fixed_dictionaries({
    "visibility": st.sampled_from(["public", "private", "", "everyone"]) | st.text(max_size=5),
    "default_level": st.sampled_from(["device", "factory", "", "C34"]) | st.text(max_size=5),
})
file_names = st.sampled_from(["list.csv", "list.xlsx", "list.xls", "list", ".csv", "列表.CSV",
                              "../../etc/passwd.csv", "a\x00.csv"]) | st.text(max_size=20)
file_bodies = st.one_of(
    st.binary(max_size=300),
    st.lists(st.lists(cell_text, min_size=9, max_size=9), max_size=3).map(make_csv),
    st.sampled_from([(DATA / "mixed.xlsx").read_bytes(), (DATA / "gbk.csv").read_bytes()]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(fields=upload_fields, name=file_names, content=file_bodies)
def test_any_upload_is_answered_never_a_crash(app, county, fields, name, content):
    with app.app_context():
        before = count(ImportBatch), count(Need), count(Enterprise)
    response = county.post("/imports/new", content_type="multipart/form-data",
                           data={**fields, "file": (io.BytesIO(content), name)})
    assert response.status_code in (200, 302)
    with app.app_context():
        after = count(ImportBatch), count(Need), count(Enterprise)
    if response.status_code == 200:
        assert after == before  # refused: nothing written
    else:
        assert after[0] == before[0] + 1


def test_the_file_name_is_kept_without_folders_or_control_characters(app, county):
    content = make_csv([good_row()])
    assert upload(county, content, "调查/2026\x00年\u202e清单.csv").status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(ImportBatch.filename)) == "2026年清单.csv"


def test_reasons_are_kept_in_every_language(app, client, auth, officials):
    auth.login(officials["county"])
    client.post("/lang/en")  # the uploader reads English; a colleague may read Chinese
    upload(client, make_csv([good_row(title=""), good_row(description="太短")]), "list.csv")
    with app.app_context():
        first, second = db.session.scalars(
            db.select(ImportProblem).order_by(ImportProblem.row_number)).all()
        assert "Enter a title." in first.reasons["en"][0]
        assert "请填写标题。" in first.reasons["zh_CN"][0]
        assert "Must be 20 to 5000 characters." in second.reasons["en"][0]
        assert "需要 20 到 5000 个字。" in second.reasons["zh_CN"][0]
