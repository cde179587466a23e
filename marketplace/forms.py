"""Form pieces shared by the blueprints: money fields, choice helpers, service errors."""

from __future__ import annotations

import unicodedata
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, StringField
from wtforms.validators import ValidationError

from .services.errors import ValidationFailed

MAX_YUAN = Decimal("100000000")
# WTForms' own Chinese catalogue leaves the multiple-choice message untranslated.
INVALID_CHOICE = _l("不是有效的选择。")


class YuanField(StringField):
    """An amount typed in yuan (up to two decimals), held as integer fen in ``data``."""

    def __init__(self, label=None, validators=None, required: bool = True, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.required = required

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        yuan, cents = divmod(self.data, 100)
        return f"{yuan}.{cents:02d}" if cents else str(yuan)

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "").strip().replace(",", "").replace("，", "")
        if not text:
            if self.required:
                raise ValueError(_l("请填写金额。"))
            return
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError(_l("请填写数字金额，例如 12800 或 12800.50。")) from None
        if not amount.is_finite() or amount < 0:
            raise ValueError(_l("金额不能为负数。"))
        if amount > MAX_YUAN:
            raise ValueError(_l("金额不能超过 1 亿元。"))
        if amount.as_tuple().exponent < -2:
            raise ValueError(_l("金额最多保留两位小数。"))
        self.data = int(amount * 100)


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


class NoControlChars:
    """Refuses control characters (other than newlines and tabs) and bidi overrides, which
    can make a title read differently from what it is."""

    def __call__(self, form, field):
        text = field.data or ""
        if any((ord(c) < 32 and c not in "\n\r\t") or ord(c) == 127 or c in BIDI_CONTROLS
               for c in text):
            raise ValidationError(_l("包含不可见的控制字符，请删除后再提交。"))
