"""Form pieces shared by the blueprints: money fields, choice helpers, service errors."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal
from uuid import uuid4

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, StringField
from wtforms.validators import Length, Optional, ValidationError

from .services.errors import ValidationFailed

MAX_YUAN = Decimal("100000000")
# Full-width forms of ASCII (０-９ ， ． － ％, the ideographic space), as a Chinese input method
# types them: read as their ASCII twins, and shown back so. Digits of other scripts are refused.
FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# thousands separators every three digits from the point: 1,234,567.89 (not 1,5 nor 12,34)
GROUPED_NUMBER = re.compile(r"[+-]?[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]*)?")
# WTForms' own Chinese catalogue leaves the multiple-choice message untranslated.
INVALID_CHOICE = _l("不是有效的选择。")


def half_width(text: str) -> str:
    """``text`` with full-width ASCII forms (０-９, ，, ．, …) made ASCII."""
    return text.translate(FULL_WIDTH)


def parse_amount(text: str, messages: dict) -> Decimal:
    """The number in ``text`` (half-width, stripped): digits 0-9, an optional sign and point,
    thousands separators only every three digits. Raises ``ValueError`` with a message of
    ``messages`` (keys ``script``, ``grouping``, ``number``)."""
    if any(unicodedata.decimal(c, None) is not None and not "0" <= c <= "9" for c in text):
        raise ValueError(messages["script"])  # ١٢ or १२ read as 12 would be a silent guess
    if "," in text:
        if not GROUPED_NUMBER.fullmatch(text):
            raise ValueError(messages["grouping"])
        text = text.replace(",", "")
    if not PLAIN_NUMBER.fullmatch(text):  # also NaN, Infinity, 1e3, 0x10, 1_000
        raise ValueError(messages["number"])
    return Decimal(text)


class YuanField(StringField):
    """An amount typed in yuan (up to two decimals), held as integer fen in ``data``.

    Full-width digits and separators are read as ASCII and the field shows them so; digits of
    other scripts and misplaced thousands separators (``1,5``) are refused, never guessed at.
    """

    MAX = MAX_YUAN
    SUFFIX = ""
    MESSAGES = {
        "required": _l("请填写金额。"),
        "number": _l("请填写数字金额，例如 12800 或 12800.50。"),
        "script": _l("请用数字 0-9 填写金额。"),
        "grouping": _l("千位分隔符（逗号）需每三位一个，例如 1,234,567.89；小数请用小数点。"),
        "negative": _l("金额不能为负数。"),
        "max": _l("金额不能超过 1 亿元。"),
        "places": _l("金额最多保留两位小数。"),
    }

    shown = ""  # what was typed, made half-width: the field shows it again

    def __init__(self, label=None, validators=None, required: bool = True, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.required = required

    def _value(self) -> str:
        if self.raw_data:
            return self.shown
        if self.data is None:
            return ""
        whole, cents = divmod(self.data, 100)
        return f"{whole}.{cents:02d}" if cents else str(whole)

    def process_formdata(self, valuelist):
        self.data = None
        self.shown = half_width(valuelist[0] if valuelist else "").strip()
        text = self.shown.removesuffix(self.SUFFIX).strip() if self.SUFFIX else self.shown
        if not text:
            if self.required:
                raise ValueError(self.MESSAGES["required"])
            return
        amount = parse_amount(text, self.MESSAGES)
        if amount < 0:
            raise ValueError(self.MESSAGES["negative"])
        if amount > self.MAX:
            raise ValueError(self.MESSAGES["max"])
        if amount.as_tuple().exponent < -2:
            raise ValueError(self.MESSAGES["places"])
        self.data = int(amount * 100)


class PercentField(YuanField):
    """A percentage typed like ``50`` or ``12.5`` (up to two decimals), held as integer basis
    points in ``data`` (``50`` → 5000)."""

    MAX = Decimal(100)
    SUFFIX = "%"
    MESSAGES = {
        "required": _l("请填写比例。"),
        "number": _l("请填写数字比例，例如 50 或 12.5。"),
        "script": _l("请用数字 0-9 填写比例。"),
        "grouping": _l("逗号的位置不对；小数请用小数点，例如 12.5。"),
        "negative": _l("比例不能为负数。"),
        "max": _l("比例不能超过 100%。"),
        "places": _l("比例最多保留两位小数。"),
    }


class OptionalChoice(Optional):
    """``Optional()`` for a select field: only a blank value skips the choice check.
    (``Optional()`` skips it for spaces too, and "  " then reached the views as a chosen id.)"""

    def __init__(self):
        super().__init__(strip_whitespace=False)


def new_key() -> str:
    return uuid4().hex


class OnceForm(FlaskForm):
    """A form whose submission acts once: a repeat with the same key gets the first result
    (see :func:`marketplace.services.txn.run_once`)."""

    idempotency_key = HiddenField(default=new_key, validators=[Optional(), Length(max=64)])


def apply_errors(form: FlaskForm, failure: ValidationFailed) -> None:
    """Put a service's field errors next to the form's fields (or on the form)."""
    for name, message in failure.errors.items():
        field: Field | None = getattr(form, name, None)
        if isinstance(field, Field):
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
        else:
            form.form_errors.append(message)


def visible_length(text: str) -> int:
    """Characters a reader sees: format characters (zero-width, bidi marks) do not count."""
    return sum(1 for c in text.strip() if unicodedata.category(c) != "Cf")


class LengthChars:
    """Length in visible characters with a translated message."""

    def __init__(self, low: int = 0, high: int = 10_000):
        self.low, self.high = low, high

    def __call__(self, form, field):
        size = visible_length(field.data or "")
        if not self.low <= size <= self.high:
            raise ValidationError(_l("需要 %(lo)d 到 %(hi)d 个字。", lo=self.low, hi=self.high))


BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class DateWithin:
    """Refuses a date outside ``first``–``last`` (far dates overflow time arithmetic)."""

    def __init__(self, first: date, last: date, message) -> None:
        self.first, self.last, self.message = first, last, message

    def __call__(self, form, field):
        if field.data is not None and not self.first <= field.data <= self.last:
            raise ValidationError(self.message)


class NoControlChars:
    """Refuses control characters (other than newlines and tabs) and bidi overrides, which
    can make a title read differently from what it is."""

    def __call__(self, form, field):
        text = field.data or ""
        if any((ord(c) < 32 and c not in "\n\r\t") or ord(c) == 127 or c in BIDI_CONTROLS
               for c in text):
            raise ValidationError(_l("包含不可见的控制字符，请删除后再提交。"))
