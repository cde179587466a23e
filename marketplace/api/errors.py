"""The API's error objects: ``{"error": {"code", "message", "fields", "request_id"}}``.

Every failure under ``/api/v1`` answers with one of these, never with an HTML page: HTTP errors
by status, the services' errors (:mod:`marketplace.services.errors`) by kind, and anything
unexpected as ``server_error`` with the request id that leads to the log lines. ``code`` is for
programs, ``message`` for people (in the user's language), ``fields`` maps request fields to
what is wrong with them.
"""

from __future__ import annotations

from flask import Blueprint, Response
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from ..extensions import db
from ..security import request_id
from ..services.errors import IllegalTransition, NotAllowed, NotFound, ValidationFailed
from .serialize import respond

#: status → (machine code, default message)
CODES = {
    400: ("bad_request", _l("请求格式不正确。")),
    401: ("unauthorized", _l("需要有效的 API 令牌（Authorization: Bearer …）或登录。")),
    403: ("forbidden", _l("没有权限执行这个操作。")),
    404: ("not_found", _l("找不到这个对象，或您无权查看。")),
    405: ("method_not_allowed", _l("这个地址不支持该请求方法。")),
    409: ("conflict", _l("对象当前的状态不允许这个操作。")),
    413: ("payload_too_large", _l("请求内容过大。")),
    415: ("unsupported_media_type", _l("请以 JSON 提交（Content-Type: application/json）。")),
    422: ("validation_failed", _l("提交的内容有误，请查看各字段的说明。")),
    429: ("rate_limited", _l("请求过于频繁，请稍后再试。")),
    500: ("server_error", _l("服务器出错了。")),
    503: ("unavailable", _l("服务暂时不可用，请稍后再试。")),
}


class ApiError(Exception):
    """An error answered as an error object; ``code`` defaults to the status's code."""

    def __init__(self, status: int, message=None, *, code: str | None = None,
                 fields: dict | None = None, headers: dict | None = None):
        super().__init__(str(message or CODES[status][1]))
        self.status, self.message = status, message
        self.code, self.fields, self.headers = code, fields or {}, headers or {}


def error_response(status: int, message=None, *, code: str | None = None,
                   fields: dict | None = None, headers: dict | None = None) -> Response:
    default_code, default_message = CODES.get(status, CODES[500])
    body = {"code": code or default_code, "message": str(message or default_message),
            "fields": {name: str(text) for name, text in (fields or {}).items()},
            "request_id": request_id()}
    return respond({"error": body}, status, headers)


def init_errors(bp: Blueprint) -> None:
    @bp.errorhandler(ApiError)
    def api_error(error: ApiError):
        db.session.rollback()
        return error_response(error.status, error.message, code=error.code,
                              fields=error.fields, headers=error.headers)

    @bp.errorhandler(ValidationFailed)
    def invalid(error: ValidationFailed):
        db.session.rollback()
        return error_response(422, fields=error.errors)

    @bp.errorhandler(NotFound)
    def not_found(error: NotFound):
        db.session.rollback()
        return error_response(404)

    @bp.errorhandler(NotAllowed)
    def not_allowed(error: NotAllowed):
        db.session.rollback()
        return error_response(403, error.message or None)

    @bp.errorhandler(IllegalTransition)
    def illegal(error: IllegalTransition):
        db.session.rollback()
        return error_response(409, error.message or None)

    def http_error(error: HTTPException):
        db.session.rollback()
        status = error.code if error.code in CODES else 500
        headers = {}
        if status == 405 and getattr(error, "valid_methods", None):
            headers["Allow"] = ", ".join(sorted(error.valid_methods))
        if status == 429:
            headers.update(_retry_after(error))
        return error_response(status, headers=headers)

    def server_error(error: InternalServerError):
        db.session.rollback()  # Flask has logged the exception with the request id
        return error_response(500, _("服务器出错了，错误编号 %(id)s。", id=request_id()))

    # By status: the app's HTML error pages are registered by status too, and a handler for a
    # status is chosen before any handler for a class.
    for status in CODES:
        bp.register_error_handler(status, server_error if status == 500 else http_error)
    bp.register_error_handler(HTTPException, http_error)


def _retry_after(error: HTTPException) -> dict:
    seconds = getattr(error, "retry_after", None)
    return {"Retry-After": str(seconds)} if seconds else {}
