from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from ..forms import DateWithin, NoControlChars


class AccountForm(FlaskForm):
    role = SelectField(
        _l("角色"),
        choices=[SelectChoice("gov", _l("政府用户")), SelectChoice("admin", _l("管理员"))],
        validators=[DataRequired()],
    )
    region_code = SelectField(_l("所属地区（政府用户）"), validators=[Optional()])
    display_name = StringField(_l("姓名 / 部门"), validators=[DataRequired(_l("请填写姓名。")),
                                                         Length(max=64), NoControlChars()])
    email = EmailField(_l("邮箱"), validators=[DataRequired(_l("请填写邮箱。")), Length(max=254),
                                             Email(_l("邮箱格式不正确。"),
                                                   check_deliverability=False)])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(_l("请填写密码。"))])
    submit = SubmitField(_l("创建账号"))


class RenameForm(FlaskForm):
    name = StringField(_l("中文名称"), validators=[DataRequired(_l("请填写名称。")),
                                               Length(max=64), NoControlChars()])
    name_en = StringField(_l("英文名称"), validators=[Length(max=128), NoControlChars()])
    submit = SubmitField(_l("保存"))


# The dates the trail can hold (a date far outside them overflowed the time arithmetic: 500).
TRAIL_DATES = (date(2000, 1, 1), date(2099, 12, 31), _l("请填写 2000 年到 2099 年之间的日期。"))


class TrailFilterForm(FlaskForm):
    """The audit trail's filters (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    object_group = SelectField(_l("对象"), validators=[Optional()])
    action = SelectField(_l("操作"), validators=[Optional()])
    actor = StringField(_l("操作人"), description=_l("邮箱，或姓名 / 部门名称的一部分"),
                        validators=[Optional(), Length(max=100), NoControlChars()])
    since = DateField(_l("从"), validators=[Optional(), DateWithin(*TRAIL_DATES)])
    until = DateField(_l("到"), validators=[Optional(), DateWithin(*TRAIL_DATES)])
