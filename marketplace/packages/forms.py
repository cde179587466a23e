from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..forms import INVALID_CHOICE, LengthChars, NoControlChars, YuanField
from ..services.packages import (
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    MAX_DELIVERY_DAYS,
    SUMMARY_MAX,
    TITLE_MAX,
)

MAX_CASES = 3


class CaseForm(Form):
    title = StringField(_l("案例标题"), validators=[Length(max=120), NoControlChars()])
    customer = StringField(_l("客户"), validators=[Length(max=100), NoControlChars()])
    content = TextAreaField(_l("做了什么、效果如何"),
                            validators=[Length(max=3000), NoControlChars()])


class PackageForm(FlaskForm):
    title = StringField(_l("方案包名称"), validators=[DataRequired(_l("请填写名称。")),
                                                  LengthChars(1, TITLE_MAX), NoControlChars()])
    summary = StringField(_l("一句话简介"), validators=[DataRequired(_l("请填写简介。")),
                                                   LengthChars(1, SUMMARY_MAX), NoControlChars()])
    description = TextAreaField(
        _l("详细介绍"),
        validators=[DataRequired(_l("请填写详细介绍。")),
                    LengthChars(DESCRIPTION_MIN, DESCRIPTION_MAX), NoControlChars()],
    )
    category_code = SelectField(_l("解决方案类别"),
                                validators=[DataRequired(_l("请选择解决方案类别。"))])
    scenario_level_codes = SelectMultipleField(
        _l("适用场景层级"), invalid_choice_message=INVALID_CHOICE,
        validators=[DataRequired(_l("请至少选择一个场景层级。"))],
    )
    industry_codes = SelectMultipleField(
        _l("适用行业"), invalid_choice_message=INVALID_CHOICE, validators=[Optional()],
        description=_l("不选表示适用于所有制造业行业。"),
    )
    deployment = SelectField(_l("部署方式"), validators=[DataRequired(_l("请选择部署方式。"))])
    price_fen = YuanField(_l("价格（元）"))
    price_unit = SelectField(_l("计价单位"), validators=[DataRequired(_l("请选择计价单位。"))])
    delivery_days = IntegerField(
        _l("交付周期（天）"),
        validators=[InputRequired(_l("请填写交付周期。")),
                    NumberRange(1, MAX_DELIVERY_DAYS,
                                _l("交付周期需在 1 到 %(n)d 天之间。", n=MAX_DELIVERY_DAYS))],
    )
    free_trial = BooleanField(_l("提供免费试用"))
    cases = FieldList(FormField(CaseForm), min_entries=MAX_CASES, max_entries=MAX_CASES)
    submit = SubmitField(_l("保存"))


class PackageFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("关键词"), validators=[Optional()])
    category_code = SelectField(_l("类别"), validators=[Optional()])
    scenario_level_code = SelectField(_l("场景层级"), validators=[Optional()])
    industry_code = SelectField(_l("行业"), validators=[Optional()])
    deployment = SelectField(_l("部署方式"), validators=[Optional()])
    max_price = YuanField(_l("最高价格（元）"), required=False)
    free_trial = BooleanField(_l("可免费试用"))
    sort = SelectField(
        _l("排序"),
        choices=[SelectChoice("newest", _l("最新发布")), SelectChoice("price", _l("价格从低到高")),
                 SelectChoice("price_desc", _l("价格从高到低"))],
        validators=[Optional()],
    )
