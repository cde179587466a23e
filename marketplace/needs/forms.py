from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ..forms import LengthChars, NoControlChars, YuanField
from ..services.needs import DESCRIPTION_MAX, DESCRIPTION_MIN, TITLE_MAX


class NeedForm(FlaskForm):
    title = StringField(_l("需求标题"), validators=[DataRequired(_l("请填写标题。")),
                                                LengthChars(1, TITLE_MAX), NoControlChars()])
    description = TextAreaField(
        _l("需求描述"),
        description=_l("用自己的话说说遇到的问题、想达到的效果、现有设备和系统。"),
        validators=[DataRequired(_l("请描述您的需求。")),
                    LengthChars(DESCRIPTION_MIN, DESCRIPTION_MAX), NoControlChars()],
    )
    category_code = SelectField(_l("解决方案类别"),
                                validators=[DataRequired(_l("请选择解决方案类别。"))])
    scenario_level_code = SelectField(_l("场景层级"),
                                      validators=[DataRequired(_l("请选择场景层级。"))])
    budget_min_fen = YuanField(_l("预算下限（元）"), required=False)
    budget_max_fen = YuanField(_l("预算上限（元）"), required=False)
    desired_start = DateField(_l("期望开始日期"), validators=[Optional()])
    visibility = RadioField(_l("公开范围"), default="public",
                            validators=[DataRequired(_l("请选择公开范围。"))])
    submit = SubmitField(_l("保存"))


class NeedFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("关键词"), validators=[Optional()])
    category_code = SelectField(_l("类别"), validators=[Optional()])
    scenario_level_code = SelectField(_l("场景层级"), validators=[Optional()])
    status = SelectField(_l("状态"), validators=[Optional()])
    region_code = SelectField(_l("地区"), validators=[Optional()])


class ImpressionsForm(FlaskForm):
    """The need page's receipt of the packages it showed (signed), posted back by a script."""

    shown = HiddenField(validators=[DataRequired(), Length(max=4000)])
