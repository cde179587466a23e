from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SubmitField

from ..services.diagnosis import Questionnaire


def localized(obj, name: str) -> str:
    """``obj.<name>_en`` in English when it has one, else ``obj.<name>`` (the data file's
    texts carry both languages, like the reference data)."""
    locale = get_locale()
    if locale is not None and locale.language == "en":
        return getattr(obj, f"{name}_en", "") or getattr(obj, name)
    return getattr(obj, name)


def questionnaire_form(questionnaire: Questionnaire, **kwargs) -> FlaskForm:
    """A form with one radio group per question. It checks nothing but CSRF itself: the
    service checks every answer and its messages go beside the questions."""

    class DiagnosisForm(FlaskForm):
        submit = SubmitField(_l("提交并查看结果"))

    for question in questionnaire.questions:
        setattr(DiagnosisForm, question.code, RadioField(
            localized(question, "text"), validate_choice=False,
            choices=[SelectChoice(o.code, localized(o, "text")) for o in question.options]))
    return DiagnosisForm(**kwargs)


def answers_of(form: FlaskForm, questionnaire: Questionnaire) -> dict[str, str]:
    return {q.code: form[q.code].data or "" for q in questionnaire.questions}


class PostSuggestionForm(FlaskForm):
    submit = SubmitField(_l("发布为需求"))
