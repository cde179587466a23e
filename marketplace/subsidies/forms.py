from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..forms import (
    INVALID_CHOICE,
    LengthChars,
    NoControlChars,
    OnceForm,
    PercentField,
    YuanField,
)
from ..services.subsidies import BASIS_MAX, NAME_MAX, NAME_MIN, REASON_MAX


class ProgramForm(OnceForm):
    name = StringField(_l("政策名称"), validators=[DataRequired(_l("请填写名称。")),
                                               LengthChars(NAME_MIN, NAME_MAX), NoControlChars()])
    policy_basis = TextAreaField(_l("政策依据"), validators=[Optional(), LengthChars(0, BASIS_MAX),
                                                         NoControlChars()],
                                 description=_l("文件名称和文号，例如 苏工信〔2025〕12号。"))
    mode = SelectField(_l("补贴方式"), validators=[DataRequired(_l("请选择补贴方式。"))])
    rate_bp = PercentField(_l("补贴比例（%）"), required=False,
                           description=_l("按比例补贴时填写，例如 50 表示订单金额的 50%。"))
    fixed_fen = YuanField(_l("定额（元）"), required=False,
                          description=_l("定额补贴时填写。"))
    per_order_cap_fen = YuanField(_l("单笔上限（元）"))
    per_enterprise_cap_fen = YuanField(_l("每家企业年度上限（元）"))
    budget_fen = YuanField(_l("总预算（元）"))
    starts_on = DateField(_l("开始日期"), validators=[InputRequired(_l("请填写开始日期。"))])
    ends_on = DateField(_l("结束日期"), validators=[InputRequired(_l("请填写结束日期。"))])
    size_classes = SelectMultipleField(_l("企业规模"), invalid_choice_message=INVALID_CHOICE,
                                       validators=[Optional()],
                                       description=_l("不选表示不限。"))
    industries = SelectMultipleField(_l("行业"), invalid_choice_message=INVALID_CHOICE,
                                     validators=[Optional()], description=_l("不选表示不限。"))
    clusters = SelectMultipleField(_l("产业集群"), invalid_choice_message=INVALID_CHOICE,
                                   validators=[Optional()],
                                   description=_l("选了行业或集群时，企业符合其一即可。"))
    categories = SelectMultipleField(_l("方案类别"), invalid_choice_message=INVALID_CHOICE,
                                     validators=[Optional()], description=_l("不选表示不限。"))
    scenario_levels = SelectMultipleField(_l("场景层级"), invalid_choice_message=INVALID_CHOICE,
                                          validators=[Optional()],
                                          description=_l("不选表示不限。"))
    min_tier = SelectField(_l("服务商最低等级"), validators=[Optional()])
    verified_only = BooleanField(_l("只补贴已认证服务商的方案"), default=True)
    submit = SubmitField(_l("保存"))


class AdjustForm(OnceForm):
    direction = SelectField(_l("调整方向"), validators=[DataRequired()],
                            choices=[SelectChoice("add", _l("追加")),
                                     SelectChoice("cut", _l("核减"))])
    amount_fen = YuanField(_l("金额（元）"))
    note = TextAreaField(_l("原因"), validators=[DataRequired(_l("请说明调整原因。")),
                                               LengthChars(1, REASON_MAX), NoControlChars()])
    submit = SubmitField(_l("调整预算"))


class DecisionForm(OnceForm):
    reason = TextAreaField(_l("意见"), validators=[Optional(), LengthChars(0, REASON_MAX),
                                                 NoControlChars()])
    submit = SubmitField(_l("提交"))


class PayForm(OnceForm):
    reference = StringField(_l("支付凭证号"), validators=[DataRequired(_l("请填写支付凭证号。")),
                                                     Length(max=64), NoControlChars()])
    submit = SubmitField(_l("标记已拨付"))


class BulkApproveForm(OnceForm):
    claim_ids = SelectMultipleField(_l("补贴"), coerce=int, invalid_choice_message=INVALID_CHOICE,
                                    validators=[DataRequired(_l("请至少选择一笔补贴。"))])
    submit = SubmitField(_l("批量批准"))


class ClaimFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(_l("状态"), validators=[Optional()])
    program_id = SelectField(_l("政策"), validators=[Optional()])
    region_code = SelectField(_l("地区"), validators=[Optional()])
    ready = BooleanField(_l("只看可审批的"))
