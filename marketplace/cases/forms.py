import math

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Optional

from ..forms import LengthChars, NoControlChars
from ..services.cases import (
    MAX_METRICS,
    METRIC_NAME_MAX,
    METRIC_UNIT_MAX,
    QUOTE_MAX,
    REASON_MAX,
    TEXT_MAX,
    TEXT_MIN,
    TITLE_MAX,
)


class NumberField(StringField):
    """A figure such as 62.5 or 1,200; blank is None."""

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{self.data:g}"

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "").strip().replace(",", "").replace("，", "")
        if not text:
            return
        try:
            value = float(text)
        except ValueError:
            raise ValueError(_l("请填写数字，例如 62 或 3.5。")) from None
        if not math.isfinite(value):
            raise ValueError(_l("请填写数字，例如 62 或 3.5。"))
        self.data = value


def _text(label, description=None, low=TEXT_MIN, high=TEXT_MAX, required=True):
    checks = [DataRequired(_l("请填写这一项。")) if required else Optional(),
              LengthChars(low, high), NoControlChars()]
    return TextAreaField(label, description=description, validators=checks)


class MetricForm(Form):
    name = StringField(_l("指标"), validators=[Optional(), LengthChars(0, METRIC_NAME_MAX),
                                               NoControlChars()])
    unit = StringField(_l("单位"), validators=[Optional(), LengthChars(0, METRIC_UNIT_MAX),
                                               NoControlChars()])
    before = NumberField(_l("改造前"))
    after = NumberField(_l("改造后"))


class CaseForm(FlaskForm):
    title = StringField(_l("案例标题"), validators=[DataRequired(_l("请填写标题。")),
                                                LengthChars(1, TITLE_MAX), NoControlChars()])
    problem = _text(_l("遇到的问题"), _l("改造前企业面临什么问题、损失多大。"))
    solution = _text(_l("解决方案"), _l("用了哪个方案包、怎么实施、用了多长时间。"))
    results = _text(_l("实施效果"), _l("用事实和数字说话。"))
    metrics = FieldList(FormField(MetricForm), min_entries=MAX_METRICS, max_entries=MAX_METRICS)
    quote = _text(_l("企业感言（可选）"), low=0, high=QUOTE_MAX, required=False)
    anonymous = BooleanField(_l("公开时隐去企业名称（显示为“某市某行业企业”）"))
    submit = SubmitField(_l("保存草稿"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("原因"), validators=[Optional(), LengthChars(0, REASON_MAX),
                                                 NoControlChars()])


class CaseFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("关键词"), validators=[Optional()])
    category_code = SelectField(_l("类别"), validators=[Optional()])
    industry_code = SelectField(_l("行业"), validators=[Optional()])
    region_code = SelectField(_l("地区"), validators=[Optional()])
