from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    RadioField,
    SelectChoice,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..forms import NoControlChars
from ..services.accounts import MAX_PASSWORD


class LoginForm(FlaskForm):
    email = EmailField(_l("邮箱"), validators=[DataRequired(_l("请填写邮箱。")), Length(max=254),
                                             NoControlChars()])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请填写密码。")),
                                                     Length(max=MAX_PASSWORD)])
    submit = SubmitField(_l("登录"))


class LoginLinkForm(FlaskForm):
    submit = SubmitField(_l("登录"))


def _email_field() -> EmailField:
    return EmailField(
        _l("邮箱"),
        validators=[DataRequired(_l("请填写邮箱。")), Length(max=254), NoControlChars(),
                    Email(_l("邮箱格式不正确。"), check_deliverability=False)],
    )


def _keep_tokens_field() -> BooleanField:
    return BooleanField(_l("保留我的 API 令牌"),
                        description=_l("不勾选时，修改密码会撤销您的全部 API 令牌。"))


class RegisterForm(FlaskForm):
    """The first step: the password is chosen on the page the e-mailed link opens."""

    role = RadioField(
        _l("我是"),
        choices=[SelectChoice("sme", _l("制造业企业（发布需求、采购方案）")),
                 SelectChoice("provider", _l("平台企业 / 服务商（发布解决方案包）"))],
        default="sme",
        validators=[DataRequired(_l("请选择账号类型。"))],
    )
    display_name = StringField(
        _l("姓名"), validators=[DataRequired(_l("请填写姓名。")), Length(max=64), NoControlChars()]
    )
    email = _email_field()
    submit = SubmitField(_l("注册"))


class ChoosePasswordForm(FlaskForm):
    """A new password, from an e-mailed link (finishing a registration)."""

    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请填写密码。"))],
                             description=_l("至少 8 个字符，不要使用常见密码。"))
    confirm = PasswordField(
        _l("确认密码"), validators=[EqualTo("password", _l("两次输入的密码不一致。"))]
    )
    submit = SubmitField(_l("完成注册"))


class ResetPasswordForm(ChoosePasswordForm):
    keep_tokens = _keep_tokens_field()
    submit = SubmitField(_l("设置新密码"))


class ForgotPasswordForm(FlaskForm):
    email = _email_field()
    submit = SubmitField(_l("发送重设链接"))


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"),
                                     validators=[DataRequired(_l("请填写当前密码。"))])
    new_password = PasswordField(_l("新密码"), validators=[DataRequired(_l("请填写新密码。"))])
    confirm = PasswordField(
        _l("确认新密码"),
        validators=[EqualTo("new_password", _l("两次输入的密码不一致。"))],
    )
    keep_tokens = _keep_tokens_field()
    submit = SubmitField(_l("修改密码"))
