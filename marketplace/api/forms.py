"""The form on the profile's token page (``/profile/tokens``)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired

from ..forms import LengthChars, NoControlChars
from ..services.tokens import NAME_MAX


class TokenForm(FlaskForm):
    name = StringField(_l("令牌名称"), description=_l("例如“ERP 对接”，便于日后识别。"),
                       validators=[DataRequired(_l("请填写名称。")), LengthChars(1, NAME_MAX),
                                   NoControlChars()])
    submit = SubmitField(_l("生成令牌"))
