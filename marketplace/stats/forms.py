from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional, ValidationError


class StatsFilterForm(FlaskForm):
    class Meta:
        csrf = False

    region_code = SelectField(_l("地区"), validators=[Optional()])
    start = DateField(_l("从"), validators=[Optional()])
    end = DateField(_l("到"), validators=[Optional()])
    industry = SelectField(_l("行业"), validators=[Optional()])
    cluster = SelectField(_l("产业集群"), validators=[Optional()])
    category = SelectField(_l("方案类别"), validators=[Optional()])
    level = SelectField(_l("场景层级"), validators=[Optional()])

    def validate_end(self, field):
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("结束日期不能早于开始日期。"))


class ReportForm(FlaskForm):
    class Meta:
        csrf = False

    region_code = SelectField(_l("地区"), validators=[Optional()])
    year = IntegerField(_l("年度"), validators=[Optional(), NumberRange(
        2020, 2100, _l("请填写 2020 到 2100 之间的年份。"))])
