"""The form on the profile's token page (``/profile/tokens``)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired

from ..forms import INVALID_CHOICE, LengthChars, NoControlChars
from ..models import TokenScope
from ..services.tokens import LIFETIMES_DAYS, NAME_MAX


def _days(value) -> int | None:
    """A lifetime choice ("30", …, or "" for never) as days; text that is no number raises
    ValueError, which the field reports."""
    return int(value) if value not in ("", None) else None


class TokenForm(FlaskForm):
    name = StringField(_l("令牌名称"), description=_l("例如“ERP 对接”，便于日后识别。"),
                       validators=[DataRequired(_l("请填写名称。")), LengthChars(1, NAME_MAX),
                                   NoControlChars()])
    # Read-only for 90 days unless asked otherwise (a post without the fields gets these too).
    scope = RadioField(
        _l("权限"), default=TokenScope.READ, invalid_choice_message=INVALID_CHOICE,
        choices=[SelectChoice(TokenScope.READ, _l("只读（查询方案包、需求、订单等）")),
                 SelectChoice(TokenScope.WRITE, _l("读写（还可以发布需求、报价、下单等）"))])
    lifetime = SelectField(
        _l("有效期"), default="90", coerce=_days, invalid_choice_message=INVALID_CHOICE,
        choices=[*(SelectChoice(str(days), _l("%(n)d 天", n=days)) for days in LIFETIMES_DAYS),
                 SelectChoice("", _l("永不过期"))])
    submit = SubmitField(_l("生成令牌"))
