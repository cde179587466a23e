from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from ..forms import INVALID_CHOICE, NoControlChars, OptionalChoice

CREDIT_CODE_HELP = _l("18 位，见营业执照。")
CREDIT_CODE_LENGTH = _l("统一社会信用代码应为 18 位。")


class EnterpriseForm(FlaskForm):
    name = StringField(_l("企业名称"), validators=[DataRequired(_l("请填写企业名称。")),
                                               Length(max=100), NoControlChars()])
    credit_code = StringField(_l("统一社会信用代码"), description=CREDIT_CODE_HELP,
                              validators=[DataRequired(_l("请填写统一社会信用代码。")),
                                          Length(max=18, message=CREDIT_CODE_LENGTH)])
    employees = IntegerField(
        _l("从业人员（人）"),
        validators=[InputRequired(_l("请填写从业人员数。")),
                    NumberRange(0, 1_000_000, _l("请填写 0 到 1000000 之间的整数。"))],
    )
    revenue_wan = IntegerField(
        _l("上年营业收入（万元）"),
        validators=[InputRequired(_l("请填写营业收入。")),
                    NumberRange(0, 100_000_000, _l("请填写 0 到 1 亿之间的整数（单位：万元）。"))],
    )
    county_code = SelectField(_l("所在县（市、区）"),
                              validators=[DataRequired(_l("请选择所在县（市、区）。"))])
    industry_code = SelectField(_l("行业（国民经济行业分类）"),
                                validators=[DataRequired(_l("请选择行业。"))])
    cluster_code = SelectField(_l("所属产业集群"), validators=[Optional()])
    submit = SubmitField(_l("保存"))


class ProviderForm(FlaskForm):
    name = StringField(_l("单位名称"), validators=[DataRequired(_l("请填写单位名称。")),
                                               Length(max=100), NoControlChars()])
    credit_code = StringField(_l("统一社会信用代码"), description=CREDIT_CODE_HELP,
                              validators=[DataRequired(_l("请填写统一社会信用代码。")),
                                          Length(max=18, message=CREDIT_CODE_LENGTH)])
    kind = SelectField(_l("单位类型"), validators=[DataRequired(_l("请选择单位类型。"))])
    tier = SelectField(_l("平台等级"), validators=[DataRequired(_l("请选择平台等级。"))])
    region_codes = SelectMultipleField(_l("服务地区"), invalid_choice_message=INVALID_CHOICE,
                                       description=_l("可多选；选择江苏省表示全省。"),
                                       validators=[DataRequired(_l("请至少选择一个服务地区。"))])
    lead_enterprise_id = SelectField(_l("链主平台"), validators=[OptionalChoice()],
                                     description=_l("如果本单位是某家链主企业建设的平台，请选择该企业。"))
    description = TextAreaField(_l("单位简介"),
                                validators=[Length(max=2000), NoControlChars()])
    contact_name = StringField(_l("联系人"), validators=[Length(max=32), NoControlChars()])
    phone = StringField(
        _l("联系电话"),
        validators=[Optional(), Regexp(r"^[0-9+\-() ]{5,20}$", message=_l("电话号码格式不正确。"))],
    )
    submit = SubmitField(_l("保存"))


class OwnershipForm(FlaskForm):
    """Ask to take over an enterprise the officials imported (认领)."""

    credit_code = StringField(_l("统一社会信用代码"), description=CREDIT_CODE_HELP,
                              validators=[DataRequired(_l("请填写统一社会信用代码。")),
                                          Length(max=18, message=CREDIT_CODE_LENGTH)])
    note = TextAreaField(_l("说明（选填）"),
                         description=_l("例如您的姓名、职务和联系电话，便于主管部门核实。"),
                         validators=[Optional(), Length(max=500), NoControlChars()])
    submit = SubmitField(_l("申请认领"))
