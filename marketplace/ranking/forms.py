from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import Optional

from .. import refchoices


class RankingFilterForm(FlaskForm):
    """The ranking's filters, read from the query string."""

    class Meta:
        csrf = False

    region_code = SelectField(_l("服务地区"), validators=[Optional()])
    category_code = SelectField(_l("解决方案类别"), validators=[Optional()])
    kind = SelectField(_l("类型"), validators=[Optional()])
    tier = SelectField(_l("等级"), validators=[Optional()])

    def fill_choices(self) -> None:
        self.region_code.choices = refchoices.region_filter_choices()
        self.category_code.choices = refchoices.category_choices(_("全部类别"))
        self.kind.choices = refchoices.label_choices("kind", _("全部类型"))
        self.tier.choices = refchoices.label_choices("tier", _("全部等级"))

    def filter_fields(self) -> list:
        return [self.region_code, self.category_code, self.kind, self.tier]

    def chosen(self, field) -> str:
        """The field's value, or "" when it was not one of the choices."""
        return "" if field.errors else (field.data or "")
