"""Amounts typed into the money fields (quotes, package prices, budgets, subsidy figures):
thousands separators only where they belong, full-width digits read as ASCII and shown so,
digits of other scripts refused — never a silent guess such as ``1,5`` → ¥15."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms import Form

from marketplace.forms import PercentField, YuanField, half_width

GROUPING = "千位分隔符"
SCRIPT = "请用数字 0-9 填写金额"


class AmountForm(Form):
    amount = YuanField()


class RateForm(Form):
    rate = PercentField()


def _field(value: str):
    return AmountForm(MultiDict({"amount": value})).amount


@pytest.mark.parametrize(("typed", "fen", "shown"), [
    ("1,234,567.89", 123_456_789, "1,234,567.89"),
    ("1,234", 123_400, "1,234"),
    ("12,800.5", 1_280_050, "12,800.5"),
    ("100,000,000", 100_000_000_00, "100,000,000"),
    ("１２８００", 1_280_000, "12800"),
    ("１，２３４．５", 123_450, "1,234.5"),
    ("\u3000１２８００\u3000", 1_280_000, "12800"),
    ("０", 0, "0"),
    ("12800", 1_280_000, "12800"),
])
def test_amounts_that_are_read(typed, fen, shown):
    field = _field(typed)
    assert not field.process_errors and field.data == fen
    assert field._value() == shown  # full-width shown back as ASCII


@pytest.mark.parametrize(("typed", "message"), [
    ("1,5", GROUPING), ("12,34", GROUPING), ("1234,567", GROUPING), (",123", GROUPING),
    ("1,,234", GROUPING), ("1,234,5", GROUPING), ("1.234,5", GROUPING), ("1,234.5,6", GROUPING),
    ("１，５", GROUPING), ("0,500", GROUPING), ("00,001", GROUPING),
    ("١٢٣", SCRIPT), ("۱۲۳", SCRIPT), ("१२३", SCRIPT), ("১২৩", SCRIPT), ("๑๒๓", SCRIPT),
    ("𝟏𝟐𝟑", SCRIPT), ("1٢3", SCRIPT),
    ("1e3", "请填写数字金额"), ("1_000", "请填写数字金额"), ("1 234", "请填写数字金额"),
    ("²", "请填写数字金额"), ("五百", "请填写数字金额"),
    ("－１", "金额不能为负数"),
])
def test_amounts_that_are_refused(typed, message):
    field = _field(typed)
    assert field.data is None
    assert [str(error) for error in field.process_errors] and \
        str(field.process_errors[0]).startswith(message)
    assert field._value() == half_width(typed).strip()


def test_percentages_follow_the_same_rules():
    def rate(value):
        return RateForm(MultiDict({"rate": value})).rate

    assert rate("５０％").data == 5000 and rate("５０％")._value() == "50%"
    assert str(rate("1,5").process_errors[0]).startswith("逗号的位置不对")
    assert str(rate("٥٠").process_errors[0]).startswith("请用数字 0-9 填写比例")


AMOUNTS = st.decimals(min_value=0, max_value=100_000_000, places=2)


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


@given(AMOUNTS, st.booleans(), st.booleans())
def test_any_amount_reads_exactly_however_it_is_written(amount, grouped, wide):
    typed = f"{amount:,}" if grouped else str(amount)
    typed = _full_width(typed) if wide else typed
    field = _field(typed)
    assert field.data == int(amount * 100)
    assert field._value() == half_width(typed)


@given(AMOUNTS.filter(lambda a: a >= 1000), st.data())
def test_a_separator_out_of_place_is_refused(amount, data):
    digits = str(int(amount))
    # a comma after any digit but every third from the point
    places = [i for i in range(1, len(digits)) if (len(digits) - i) % 3]
    cut = data.draw(st.sampled_from(places)) if places else None
    if cut is None:
        return
    field = _field(digits[:cut] + "," + digits[cut:])
    assert field.data is None and str(field.process_errors[0]).startswith(GROUPING)


@given(st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=6))
def test_only_ascii_and_full_width_digits_are_read(digits):
    field = _field(digits)
    if re.fullmatch(r"[0-9]+", half_width(digits)):
        assert field.data == int(half_width(digits)) * 100
    else:
        assert field.data is None and str(field.process_errors[0]).startswith(SCRIPT)


def test_the_page_shows_the_normalised_amount(app, client, make_user, auth):
    auth.login(make_user(role="provider"))
    response = client.post("/packages/new", data={
        "title": "", "summary": "一周接入", "description": "边缘网关采集注塑机信号，云端看板展示。",
        "category_code": "device_monitoring", "scenario_level_codes": ["device"],
        "deployment": "saas", "price_fen": "１９，８００", "price_unit": "per_year",
        "delivery_days": "7"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "１９" not in page
    assert re.search(r'name="price_fen"[^>]*value="19,800"|value="19,800"[^>]*name="price_fen"',
                     page)
    assert "请填写数字金额" not in page and GROUPING not in page  # the title was what failed
