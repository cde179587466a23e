from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from ..forms import LengthChars, NoControlChars, OnceForm, YuanField
from ..services.deals import (
    MAX_DAYS,
    MAX_QUOTE_FEN,
    MESSAGE_MAX,
    REASON_MAX,
    SCOPE_MAX,
    SCOPE_MIN,
)


class RequestForm(FlaskForm):
    need_id = SelectField(_l("为哪条需求申请"), validators=[DataRequired(_l("请选择需求。"))])
    package_id = HiddenField(validators=[DataRequired()])
    message = TextAreaField(
        _l("给服务商的留言"),
        validators=[Optional(), LengthChars(0, MESSAGE_MAX), NoControlChars()],
    )
    submit = SubmitField(_l("申请对接"))


class QuoteForm(FlaskForm):
    price_fen = YuanField(_l("报价（元）"))
    scope = TextAreaField(_l("服务范围"), validators=[DataRequired(_l("请写明服务范围。")),
                                                   LengthChars(SCOPE_MIN, SCOPE_MAX),
                                                   NoControlChars()])
    delivery_days = IntegerField(
        _l("交付周期（天）"),
        validators=[InputRequired(_l("请填写交付周期。")),
                    NumberRange(1, MAX_DAYS, _l("交付周期需在 1 到 %(n)d 天之间。", n=MAX_DAYS))],
    )
    valid_until = DateField(_l("报价有效期至"), validators=[InputRequired(_l("请填写有效期。"))])
    submit = SubmitField(_l("提交报价"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("原因"), validators=[DataRequired(_l("请说明原因。")),
                                                 LengthChars(1, REASON_MAX), NoControlChars()])
    submit = SubmitField(_l("提交"))


class AcceptForm(OnceForm):
    revision = IntegerField(validators=[InputRequired()])
    # the subsidy the SME was shown (fen); if it changed meanwhile the order is refused
    subsidy_fen = IntegerField(validators=[Optional(), NumberRange(0, MAX_QUOTE_FEN)])
    submit = SubmitField(_l("接受报价并下单"))


class ReviewForm(FlaskForm):
    rating = SelectField(
        _l("评分"), coerce=int,
        choices=[SelectChoice(n, "★" * n) for n in range(5, 0, -1)],
        validators=[InputRequired(_l("请评分。"))],
    )
    text = TextAreaField(_l("评价"), validators=[Optional(), LengthChars(0, REASON_MAX),
                                               NoControlChars()])
    submit = SubmitField(_l("提交评价"))


class ReplyForm(FlaskForm):
    text = TextAreaField(_l("回复"), validators=[DataRequired(_l("请填写回复。")),
                                               LengthChars(1, REASON_MAX), NoControlChars()])
    submit = SubmitField(_l("回复"))


class DismissForm(FlaskForm):
    need_id = HiddenField(validators=[DataRequired()])
    package_id = HiddenField(validators=[DataRequired()])
