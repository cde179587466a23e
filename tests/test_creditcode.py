"""统一社会信用代码 (GB 32100-2015) checks."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace import creditcode

# Published codes of well-known companies; both the GB 32100 check character and the embedded
# GB 11714 organisation-code check digit verify.
REAL_CODES = [
    "91330100716105852F",  # 阿里巴巴（中国）网络技术有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "914403001922038216",  # 华为技术有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91110000802100433B",  # 百度在线网络技术（北京）有限公司
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code):
    assert creditcode.validate(code) is None
    assert creditcode.is_valid(code)
    assert creditcode.check_character(code[:17]) == code[17]
    assert creditcode.org_check_digit(code[8:16]) == code[16]


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "length"),
        (None, "length"),
        ("91330100716105852", "length"),
        ("91330100716105852FF", "length"),
        ("91330100716105852I", "charset"),  # I is never used
        ("913301007161O5852F", "charset"),  # letter O instead of zero
        ("9133010071610585zF", "charset"),  # lower case: normalise first
        ("91330100716105852G", "check"),
        ("91440300708461163T", "check"),  # two digits swapped
        ("914403001922038217", "check"),
        ("91320583MA1MHTHF9A", "check"),
    ],
)
def test_wrong_codes(code, reason):
    assert creditcode.validate(code) == reason


def test_normalize():
    assert creditcode.normalize("  91330100716105852f \n") == "91330100716105852F"
    assert creditcode.normalize("9133 0100 7161 0585 2F") == "91330100716105852F"
    assert creditcode.normalize(None) == ""
    assert creditcode.validate(creditcode.normalize(" 91110108551385082q ")) is None


def test_check_character_rejects_bad_input():
    with pytest.raises(ValueError):
        creditcode.check_character("123")
    with pytest.raises(ValueError):
        creditcode.check_character("9133010071610585I")


def test_check_character_can_be_zero():
    # 31 - 0 mod 31 == 0: all-zero body gives check '0'
    assert creditcode.check_character("0" * 17) == "0"


def test_org_check_digit():
    assert creditcode.org_check_digit("19220382") == "1"
    assert creditcode.org_check_digit("71093123") == "X"
    with pytest.raises(ValueError):
        creditcode.org_check_digit("1234")


def test_generate_shape():
    rng = random.Random(7)
    code = creditcode.generate(rng, "320583")
    assert len(code) == 18
    assert code.startswith("91320583")
    assert creditcode.validate(code) is None
    assert creditcode.org_check_digit(code[8:16]) == code[16]
    assert creditcode.generate(random.Random(7), "320583") == code
    with pytest.raises(ValueError):
        creditcode.generate(rng, "32058")


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    region=st.sampled_from(["320000", "320100", "320205", "320583", "321324"]),
    position=st.integers(min_value=0, max_value=17),
    replacement=st.sampled_from(list(creditcode.CHARSET)),
)
def test_generated_valid_and_single_change_caught(seed, region, position, replacement):
    code = creditcode.generate(random.Random(seed), region)
    assert creditcode.validate(code) is None
    assert code[2:8] == region
    if code[position] == replacement:
        return
    changed = code[:position] + replacement + code[position + 1 :]
    assert creditcode.validate(changed) == "check"


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), position=st.integers(0, 17))
def test_disallowed_character_is_charset(seed, position):
    code = creditcode.generate(random.Random(seed), "320100")
    for bad in "IOSVZ":
        changed = code[:position] + bad + code[position + 1 :]
        assert creditcode.validate(changed) == "charset"
