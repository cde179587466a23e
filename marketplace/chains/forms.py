"""Forms of 链式转型: the 链主 application and decisions, invitations and join requests."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..forms import INVALID_CHOICE, NoControlChars, OptionalChoice
from ..profiles.forms import CREDIT_CODE_HELP, CREDIT_CODE_LENGTH

REASON_MAX = 1000


def _reason(label, required: bool = False):
    first = DataRequired(_l("请说明原因。")) if required else Optional()
    return TextAreaField(label, validators=[first, Length(max=REASON_MAX), NoControlChars()])


def _credit_code():
    return StringField(_l("统一社会信用代码"), description=CREDIT_CODE_HELP,
                       validators=[DataRequired(_l("请填写统一社会信用代码。")),
                                   Length(max=18, message=CREDIT_CODE_LENGTH)])


class LeaderApplicationForm(FlaskForm):
    revenue_wan = IntegerField(
        _l("上年营业收入（万元）"),
        validators=[InputRequired(_l("请填写营业收入。")),
                    NumberRange(1, 100_000_000, _l("请填写 1 到 1 亿之间的整数（单位：万元）。"))])
    supplier_count = IntegerField(
        _l("配套供应商数量（家）"),
        validators=[InputRequired(_l("请填写供应商数量。")),
                    NumberRange(1, 100_000, _l("请填写 1 到 100000 之间的整数。"))])
    platform_id = SelectField(_l("建设或使用的工业互联网平台"), validators=[OptionalChoice()],
                              invalid_choice_message=INVALID_CHOICE)
    evidence = TextAreaField(
        _l("申请依据"), description=_l("主要客户、供应商分布、平台建设与带动中小企业的情况。"),
        validators=[DataRequired(_l("请说明申请依据。")), Length(max=REASON_MAX),
                    NoControlChars()])
    submit = SubmitField(_l("提交链主申请"))


class DecisionForm(FlaskForm):
    decision = RadioField(_l("决定"), validators=[DataRequired(_l("请选择通过或驳回。"))])
    reason = _reason(_l("原因（驳回时必填）"))
    submit = SubmitField(_l("提交"))


class RevokeForm(FlaskForm):
    reason = _reason(_l("撤销原因"), required=True)
    submit = SubmitField(_l("撤销链主资格"))


class DesignateForm(FlaskForm):
    credit_code = _credit_code()
    reason = _reason(_l("认定依据"), required=True)
    submit = SubmitField(_l("直接认定为链主"))


class InviteForm(FlaskForm):
    credit_code = _credit_code()
    note = _reason(_l("留言（选填）"))
    submit = SubmitField(_l("邀请加入产业链"))


class JoinForm(FlaskForm):
    leader_id = SelectField(_l("链主企业"), invalid_choice_message=INVALID_CHOICE,
                            validators=[DataRequired(_l("请选择链主企业。"))])
    note = _reason(_l("留言（选填）"))
    submit = SubmitField(_l("申请加入产业链"))


class InviteSheetForm(FlaskForm):
    file = FileField(_l("供应商名单（CSV 或 XLSX）"),
                     description=_l("含“统一社会信用代码”列，可选“企业名称”“留言”列。"),
                     validators=[FileRequired(_l("请选择要上传的文件。"))])
    note = _reason(_l("留言（表中未填写留言的行使用）"))
    submit = SubmitField(_l("上传并邀请"))


class MessageForm(FlaskForm):
    text = TextAreaField(_l("给全部供应商的消息"),
                         validators=[DataRequired(_l("请填写消息内容。")), Length(max=300),
                                     NoControlChars()])
    submit = SubmitField(_l("发送"))


class MembershipStepForm(FlaskForm):
    reason = _reason(_l("原因"))
    submit = SubmitField(_l("确定"))
