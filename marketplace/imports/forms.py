"""The upload form, and the per-row form that checks each imported row with the same field
rules as the web forms for needs and enterprise profiles."""

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import MultiDict
from wtforms import RadioField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from ..forms import NoControlChars, YuanField
from ..needs.forms import NeedForm
from ..profiles.forms import EnterpriseForm
from ..services.imports import DemandRow


class UploadForm(FlaskForm):
    file = FileField(_l("需求清单文件（CSV 或 XLSX）"),
                     validators=[FileRequired(_l("请选择要上传的文件。"))])
    visibility = RadioField(_l("导入的需求公开范围"), default="public",
                            validators=[DataRequired(_l("请选择公开范围。"))])
    default_level = SelectField(_l("未填写场景层级的行按此层级导入"),
                                validators=[DataRequired(_l("请选择场景层级。"))])
    submit = SubmitField(_l("上传并导入"))


class DemandRowForm(FlaskForm):
    """One row of a demand list. The text fields reuse the web forms' own field definitions
    (so their rules and messages); codes and names are resolved by the service."""

    class Meta:
        csrf = False

    credit_code = EnterpriseForm.credit_code
    name = EnterpriseForm.name
    county_code = StringField(validators=[DataRequired(_l("请填写县区。"))])
    industry_code = StringField(validators=[DataRequired(_l("请填写行业代码。"))])
    title = NeedForm.title
    description = NeedForm.description
    category_code = StringField(validators=[DataRequired(_l("请填写需求类别。"))])
    budget_max_fen = YuanField(required=False)
    scenario_level_code = StringField(validators=[Optional()])


def check_rows(rows: Iterable[tuple[int, dict[str, str]]]) -> list[DemandRow]:
    """Each ``(number, cells)`` row with the form's field errors; one form is reused (a
    list holds up to thousands of rows)."""
    form = DemandRowForm(formdata=None)
    checked = []
    for number, cells in rows:
        form.process(formdata=MultiDict(cells))
        form.validate()
        errors = {name: list(messages) for name, messages in form.errors.items() if messages}
        checked.append(DemandRow(number=number, cells=cells, errors=errors,
                                 budget_fen=form.budget_max_fen.data))
    return checked


class OwnershipDecisionForm(FlaskForm):
    """An official's decision on a request to take over an imported enterprise."""

    decision = RadioField(_l("决定"), validators=[DataRequired(_l("请选择通过或驳回。"))])
    reason = StringField(_l("原因（驳回时必填）"),
                         validators=[Optional(), Length(max=500), NoControlChars()])
    submit = SubmitField(_l("提交"))
