"""What the API accepts: typed fields for JSON bodies and query strings, and cursors.

Each body or query is a tuple of :class:`Field`; the same tuple checks a request
(:func:`read_body`, :func:`read_query`) and writes its part of the OpenAPI document
(:meth:`Field.schema`), so the document cannot drift from what the code accepts. A field checks
its JSON type and the bounds it declares; the business rules (a title's length, a code that
must exist, a budget in order) stay in the services, whose messages come back beside the field.
Fields a body does not declare are ignored, never assigned.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

from flask import request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from wtforms.validators import ValidationError

from ..forms import NoControlChars
from .errors import ApiError

MAX_INT = 2**53 - 1  # what every JSON parser reads exactly
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_INT = re.compile(r"^-?[0-9]{1,16}$")
_POSITION = re.compile(r"^[0-9]{1,16}$")


class Invalid(Exception):
    pass


@dataclass(frozen=True)
class Field:
    """One named value: ``kind`` is ``string``, ``integer``, ``boolean``, ``date`` or
    ``strings`` (a list of codes; in a query string, the parameter repeated)."""

    name: str
    kind: str = "string"
    required: bool = False
    nullable: bool = False
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[str, ...] | None = None
    max_items: int = 20
    description: str = ""

    # -- the OpenAPI side ---------------------------------------------------------------------

    def schema(self) -> dict:
        if self.kind == "strings":
            schema = {"type": "array", "maxItems": self.max_items,
                      "items": self._scalar_schema("string")}
        else:
            schema = self._scalar_schema(self.kind)
        if self.nullable:
            schema = {"anyOf": [schema, {"type": "null"}]}
        if self.description:
            schema["description"] = self.description
        return schema

    def _scalar_schema(self, kind: str) -> dict:
        if kind == "date":
            return {"type": "string", "format": "date"}
        schema: dict = {"type": kind}
        if kind == "string" and self.enum:
            schema["enum"] = list(self.enum)
        elif kind == "string":
            schema["maxLength"] = self.max_length or 200
        if kind == "integer":
            schema["minimum"] = self.minimum if self.minimum is not None else -MAX_INT
            schema["maximum"] = self.maximum if self.maximum is not None else MAX_INT
        return schema

    # -- the request side ---------------------------------------------------------------------

    def from_json(self, value):
        if value is None:
            if self.nullable:
                return None
            raise Invalid(_l("不能为空。"))
        if self.kind == "strings":
            if not isinstance(value, list) or len(value) > self.max_items:
                raise Invalid(_l("需要一个最多 %(n)d 项的列表。", n=self.max_items))
            return tuple(self._string(v) for v in value)
        if self.kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise Invalid(_l("需要一个整数。"))
            return self._bounded(value)
        if self.kind == "boolean":
            if not isinstance(value, bool):
                raise Invalid(_l("需要 true 或 false。"))
            return value
        if self.kind == "date":
            return self._date(value)
        return self._string(value)

    def from_query(self, values: list[str]):
        if self.kind == "strings":
            if len(values) > self.max_items:
                raise Invalid(_l("最多 %(n)d 项。", n=self.max_items))
            return tuple(self._string(v) for v in values)
        value = values[-1]
        if self.kind == "integer":
            if not _INT.match(value.strip()):
                raise Invalid(_l("需要一个整数。"))
            return self._bounded(int(value))
        if self.kind == "boolean":
            if value not in ("true", "false"):
                raise Invalid(_l("需要 true 或 false。"))
            return value == "true"
        if self.kind == "date":
            return self._date(value)
        return self._string(value)

    def _string(self, value) -> str:
        if not isinstance(value, str):
            raise Invalid(_l("需要一段文字。"))
        if len(value) > (self.max_length or 200):
            raise Invalid(_l("最多 %(n)d 个字符。", n=self.max_length or 200))
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a JSON "\ud800" escape
            raise Invalid(_l("包含无效的字符。")) from None
        try:
            NoControlChars()(None, SimpleNamespace(data=value))
        except ValidationError as error:
            raise Invalid(str(error)) from None
        if self.enum and value not in self.enum:
            raise Invalid(_l("可选值：%(v)s", v="、".join(self.enum)))
        return value

    def _bounded(self, value: int) -> int:
        low = self.minimum if self.minimum is not None else -MAX_INT
        high = self.maximum if self.maximum is not None else MAX_INT
        if not low <= value <= high:
            raise Invalid(_l("需在 %(lo)d 到 %(hi)d 之间。", lo=low, hi=high))
        return value

    def _date(self, value) -> date:
        if not isinstance(value, str) or not _DATE.match(value):
            raise Invalid(_l("需要 YYYY-MM-DD 格式的日期。"))
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise Invalid(_l("不是有效的日期。")) from None


def body_schema(fields: tuple[Field, ...]) -> dict:
    schema: dict = {"type": "object", "properties": {f.name: f.schema() for f in fields}}
    required = [f.name for f in fields if f.required]
    if required:
        schema["required"] = required
    return schema


def json_body() -> dict:
    """The request's JSON object (415 for another media type, 400 for broken JSON or JSON
    nested deeper than the parser goes)."""
    if not request.is_json:
        raise ApiError(415)
    try:
        body = request.get_json(silent=False)
    except RequestEntityTooLarge:
        raise
    except BadRequest:
        raise ApiError(400, _l("请求体不是有效的 JSON。")) from None
    except RecursionError:  # the parser's own limit; Flask turns only a ValueError into a 400
        raise ApiError(400, _l("请求体的 JSON 嵌套层数过多。")) from None
    if not isinstance(body, dict):
        raise ApiError(400, _l("请求体需要是一个 JSON 对象。"))
    return body


def read_body(fields: tuple[Field, ...], *, partial: bool = False) -> dict:
    """The declared fields of the JSON body, typed; 422 listing every bad field. With
    ``partial`` (PATCH) a missing field is simply absent from the result."""
    body = json_body()
    values, errors = {}, {}
    for field in fields:
        if field.name not in body:
            if field.required and not partial:
                errors[field.name] = _l("必填。")
            continue
        try:
            values[field.name] = field.from_json(body[field.name])
        except Invalid as problem:
            errors[field.name] = problem.args[0]
    if errors:
        raise ApiError(422, fields=errors)
    return values


def read_query(fields: tuple[Field, ...]) -> dict:
    """The declared query parameters, typed (400 listing every bad one); others are ignored."""
    values, errors = {}, {}
    for field in fields:
        raw = request.args.getlist(field.name)
        if not raw:
            if field.required:
                errors[field.name] = _l("必填。")
            continue
        try:
            values[field.name] = field.from_query(raw)
        except Invalid as problem:
            errors[field.name] = problem.args[0]
    if errors:
        raise ApiError(400, fields=errors)
    return values


# -- cursors ------------------------------------------------------------------------------------

PAGE_FIELDS = (
    Field("limit", "integer", minimum=1, maximum=100,
          description="Items per page (default 20, at most 100)."),
    Field("cursor", max_length=100,
          description="`next_cursor` of the previous page; omit for the first page."),
)


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The position a cursor stands for (an id, or a page of search results)."""
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    version, _, position = text.partition(":")
    if version != "v1" or not _POSITION.match(position) or int(position) > MAX_INT:
        raise ApiError(400, fields={"cursor": _l("无效的分页游标。")})
    return int(position)
