"""Writes the fixture files beside it (committed; rerun after changing the rows):
``.venv/bin/python tests/data/imports/make_fixtures.py``. tests/test_imports.py knows what each
row of mixed.csv must come to."""
# ruff: noqa: E501  (a table of rows reads best one row a line)

import csv
import io
from pathlib import Path

import openpyxl

HERE = Path(__file__).parent

HEAD = ["统一社会信用代码", "企业名称", "县区", "行业", "需求标题", "需求描述", "需求类别",
        "预算（元）", "场景层级"]
D1 = "二十台注塑机老是突然停机，想实时看到开机率和停机原因，减少非计划停机。"
D2 = "来料和成品全靠人工目检，漏检多，想用视觉检测替代一部分人工检验。"
D3 = "空压机和注塑机耗电大，想按车间和设备分项计量能耗，找出浪费的地方。"
D4 = "仓库账实不符，想用扫码出入库把原材料和成品库存管起来。"
ROWS = [
    HEAD,
    ["91320505MA8TPQQF3A", "苏州新建精工有限公司", "320505", "C34", "注塑机联网监测", D1, "device_monitoring", "50000", "车间"],
    ["91320505MA8TPQQF3A", "苏州新建精工有限公司", "虎丘区", "34", "视觉质检替代人工", D2, "质量检测", "1,280.50", ""],
    ["913205058813998668", "已在平台的企业", "苏州市虎丘区", "C34", "分项能耗计量", D3, "能耗管理", "", "产线"],
    ["91320505MA9E70K28Y", "校验位错误有限公司", "320505", "C34", "扫码出入库", D4, "warehouse_logistics", "20000", "车间"],
    ["91320505568151880Y", "描述太短有限公司", "320505", "C34", "想上系统", "太短了", "production_mgmt", "", ""],
    ["91320505568151880Y", "外区企业有限公司", "320506", "C34", "扫码出入库", D4, "warehouse_logistics", "", ""],
    ["91320505568151880Y", "预算小数有限公司", "320505", "C34", "扫码出入库", D4, "warehouse_logistics", "12.345", ""],
    ["91320505568151880Y", "类别错误有限公司", "320505", "C34", "扫码出入库", D4, "区块链", "", ""],
    ["91320505MA8TPQQF3A", "苏州新建精工有限公司", "320505", "C34", "注塑机联网监测", D1, "device_monitoring", "50000", "车间"],
    ["913205067294055711", "吴中的企业", "320505", "C34", "扫码出入库", D4, "warehouse_logistics", "", ""],
    ["91320505568151880Y", "控制字符有限公司", "320505", "C34", "正常标题\u202e反转", D4, "warehouse_logistics", "", ""],
    ["=cmd|' /C calc'!A0", "公式注入有限公司", "320505", "C34", "=HYPERLINK(\"http://x\")", D4, "warehouse_logistics", "", ""],
    ["91320505568151880Y", "苏州第二新建有限公司", "320505", "通用设备制造业", "扫码出入库", D4, "仓储物流", "0", "line"],
    ["", "", "", "", "", "", "", "", ""],
    ["91320505MA9E70K28X", "行业错误有限公司", "320505", "C99", "扫码出入库", D4, "warehouse_logistics", "", "宇宙级"],
]

buffer = io.StringIO(newline="")
csv.writer(buffer, lineterminator="\r\n").writerows(ROWS)
open(HERE / "mixed.csv", "wb").write(buffer.getvalue().encode("utf-8-sig"))

book = openpyxl.Workbook()
sheet = book.active
sheet.title = "需求清单"
sheet.append(["2026 年虎丘区智改数转需求调查"])  # a title row above the headings
for row in ROWS:
    sheet.append(row)
for cell in sheet["A"]:
    cell.number_format = "@"
book.save(HERE / "mixed.xlsx")

# What Excel in Chinese saves as "CSV": GB18030/GBK, no BOM
gbk = io.StringIO(newline="")
csv.writer(gbk, lineterminator="\r\n").writerows([HEAD[:7], ROWS[1][:7]])
open(HERE / "gbk.csv", "wb").write(gbk.getvalue().encode("gb18030"))

# A CSV renamed to .xlsx
open(HERE / "renamed.xlsx", "wb").write(buffer.getvalue().encode("utf-8"))
