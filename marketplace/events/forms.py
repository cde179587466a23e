from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    NumberRange,
    Optional,
    ValidationError,
)

from ..forms import INVALID_CHOICE, LengthChars, NoControlChars, OptionalChoice
from ..services.events import (
    CAPACITY_MAX,
    DESCRIPTION_MAX,
    LINK_MAX,
    NOTE_MAX,
    PLACE_MAX,
    REASON_MAX,
    SLOT_COUNT,
    SLOT_MINUTES,
    TABLE_COUNT,
    TITLE_MAX,
    TITLE_MIN,
)

FIRST_YEAR, LAST_YEAR = 2020, 2100


def _sane_year(form, field) -> None:
    if isinstance(field.data, datetime) and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(_l("请填写 %(lo)d 年到 %(hi)d 年之间的时间。", lo=FIRST_YEAR,
                                 hi=LAST_YEAR))


def _count(label, bounds, message, description=None) -> IntegerField:
    return IntegerField(label, description=description, validators=[
        InputRequired(_l("请填写这一项。")), NumberRange(bounds[0], bounds[1], message)])


class EventForm(FlaskForm):
    title = StringField(_l("活动名称"), validators=[DataRequired(_l("请填写名称。")),
                                                LengthChars(TITLE_MIN, TITLE_MAX),
                                                NoControlChars()])
    description = TextAreaField(_l("活动介绍"), validators=[
        Optional(), LengthChars(0, DESCRIPTION_MAX), NoControlChars()])
    region_code = SelectField(_l("举办地区"), invalid_choice_message=INVALID_CHOICE,
                              validators=[DataRequired(_l("请选择地区。"))],
                              description=_l("本地区及下辖地区的企业可以报名。"))
    mode = SelectField(_l("形式"), invalid_choice_message=INVALID_CHOICE,
                       choices=[SelectChoice("onsite", _l("线下")),
                                SelectChoice("online", _l("线上"))],
                       validators=[DataRequired(_l("请选择线上或线下。"))])
    place = StringField(_l("地点"), validators=[Optional(), LengthChars(0, PLACE_MAX),
                                              NoControlChars()],
                        description=_l("线下活动填写。"))
    link = StringField(_l("会议链接"), validators=[Optional(), LengthChars(0, LINK_MAX),
                                                 NoControlChars()],
                       description=_l("线上活动填写；只有报名者能看到。"))
    starts_at = DateTimeLocalField(_l("开始时间"), format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired(_l("请填写开始时间。")),
                                               _sane_year])
    registration_deadline = DateTimeLocalField(
        _l("报名截止"), format="%Y-%m-%dT%H:%M",
        validators=[InputRequired(_l("请填写报名截止时间。")), _sane_year])
    slot_minutes = _count(_l("每轮时长（分钟）"), SLOT_MINUTES,
                          _l("每轮时长需在 %(min)d 到 %(max)d 分钟之间。"))
    slot_count = _count(_l("轮数"), SLOT_COUNT, _l("轮数需在 %(min)d 到 %(max)d 之间。"))
    table_count = _count(_l("洽谈桌数"), TABLE_COUNT,
                         _l("洽谈桌数需在 %(min)d 到 %(max)d 之间。"),
                         _l("每轮同时进行的见面数。"))
    meetings_per_sme = _count(_l("每家企业最多见面次数"), SLOT_COUNT,
                              _l("每家企业的见面次数需在 1 到轮数之间。"))
    sme_capacity = _count(_l("企业名额"), (1, CAPACITY_MAX),
                          _l("名额需在 %(min)d 到 %(max)d 之间。"))
    provider_capacity = _count(_l("服务商名额"), (1, CAPACITY_MAX),
                               _l("名额需在 %(min)d 到 %(max)d 之间。"))
    cluster_code = SelectField(_l("面向产业集群"), invalid_choice_message=INVALID_CHOICE,
                               validators=[Optional()],
                               description=_l("选了集群或产业链时，企业符合其一即可报名。"))
    chain_leader_id = SelectField(_l("面向产业链（链主）"), invalid_choice_message=INVALID_CHOICE,
                                  validators=[OptionalChoice()])
    submit = SubmitField(_l("保存"))


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("取消原因"), validators=[DataRequired(_l("请说明取消原因。")),
                                                   LengthChars(1, REASON_MAX), NoControlChars()])
    submit = SubmitField(_l("取消活动"))


def _slot_fields():
    slot = IntegerField(_l("轮次"), validators=[
        InputRequired(_l("请填写轮次。")),
        NumberRange(1, SLOT_COUNT[1], _l("轮次需在 1 到轮数之间。"))])
    table = IntegerField(_l("桌号"), validators=[
        InputRequired(_l("请填写桌号。")),
        NumberRange(1, TABLE_COUNT[1], _l("桌号需在 1 到桌数之间。"))])
    return slot, table


class MoveForm(FlaskForm):
    slot, table = _slot_fields()
    submit = SubmitField(_l("调整"))


class AddMeetingForm(FlaskForm):
    enterprise_id = SelectField(_l("企业"), invalid_choice_message=INVALID_CHOICE,
                                validators=[DataRequired(_l("请选择企业。"))])
    provider_id = SelectField(_l("服务商"), invalid_choice_message=INVALID_CHOICE,
                              validators=[DataRequired(_l("请选择服务商。"))])
    slot, table = _slot_fields()
    submit = SubmitField(_l("添加对接"))


class OutcomeForm(FlaskForm):
    outcome = SelectField(_l("对接结果"), invalid_choice_message=INVALID_CHOICE,
                          validators=[DataRequired(_l("请选择结果。"))])
    need_id = SelectField(_l("需求"), invalid_choice_message=INVALID_CHOICE,
                          validators=[OptionalChoice()],
                          description=_l("选择“已发出对接申请”时填写。"))
    package_id = SelectField(_l("方案包"), invalid_choice_message=INVALID_CHOICE,
                             validators=[OptionalChoice()])
    note = TextAreaField(_l("备注"), validators=[Optional(), LengthChars(0, NOTE_MAX),
                                               NoControlChars()])
    submit = SubmitField(_l("保存结果"))


class EventFilterForm(FlaskForm):
    class Meta:
        csrf = False

    region_code = SelectField(_l("地区"), validators=[Optional()])
    cluster_code = SelectField(_l("产业集群"), validators=[Optional()])
    past = BooleanField(_l("看往期活动"))
