"""The JSON API's HTTP layer, shared by every API view (this app's and `integrations.api`):
token authentication, allowed methods, JSON bodies, and every refusal as JSON
`{"error": "...", "fields": {...}}` with its status.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .forms import JsonListField
from .models import ApiToken, User
from .validation import InputRefused, parse_json_object

MAX_JSON_BYTES = 256 * 1024
AUTH_SCHEMES = ("token", "bearer")


class ApiError(Exception):
    """A refusal with its status, answered as `{"error": ..., "fields": {...}}`."""

    def __init__(
        self, status: HTTPStatus, message: str, *, fields: dict[str, str] | None = None, **extra
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.extra = extra

    def response(self) -> JsonResponse:
        body = {"error": self.message, "fields": self.fields, **self.extra}
        response = JsonResponse(body, status=self.status)
        if self.status == HTTPStatus.UNAUTHORIZED:  # RFC 9110: a 401 names its scheme
            response["WWW-Authenticate"] = 'Token realm="api"'
        return response


def api_view(*methods: str):
    """Token authentication, allowed methods, and every refusal as JSON.

    Only the `Authorization` header authenticates; a session cookie is ignored. That is why
    the views may be CSRF-exempt: a cross-site form cannot set that header, so a request
    that gets past this decorator was not forged by a browser.
    """

    def decorator(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            try:
                request.user = _authenticated_user(request)
                if request.method not in methods:
                    return _method_not_allowed(request, methods)
                return view(request, *args, **kwargs)
            except ApiError as error:
                return error.response()
            except Http404 as error:
                return ApiError(HTTPStatus.NOT_FOUND, str(error) or "Not found.").response()
            except PermissionDenied as error:
                message = str(error) or "You do not have permission to do this."
                return ApiError(HTTPStatus.FORBIDDEN, message).response()

        return wrapper

    return decorator


def _authenticated_user(request: HttpRequest) -> User:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() not in AUTH_SCHEMES or not key.strip():
        raise _unauthorized("Authentication required: send the header Authorization: Token <key>.")
    token = ApiToken.objects.authenticate(key.strip())
    if token is None:
        raise _unauthorized("The API token is not valid, or it was revoked.")
    token.mark_used()
    return token.user


def _unauthorized(message: str) -> ApiError:
    return ApiError(HTTPStatus.UNAUTHORIZED, message)


def _method_not_allowed(request: HttpRequest, methods: tuple[str, ...]) -> JsonResponse:
    error = ApiError(
        HTTPStatus.METHOD_NOT_ALLOWED,
        f"{request.method} is not allowed here; use {', '.join(methods)}.",
    )
    response = error.response()
    response["Allow"] = ", ".join(methods)
    return response


def read_json(request: HttpRequest) -> dict[str, Any]:
    """The body's JSON object ({} when empty); 413 past MAX_JSON_BYTES; 400 when it is not
    JSON or breaks the input rules of `validation` (too deep, NUL or lone surrogates)."""
    if _declared_length(request) > MAX_JSON_BYTES or len(request.body) > MAX_JSON_BYTES:
        raise ApiError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"The request body is limited to {MAX_JSON_BYTES // 1024} KiB of JSON.",
        )
    if not request.body.strip():
        return {}
    try:
        return parse_json_object(request.body)
    except InputRefused as refusal:
        fields = {refusal.field: refusal.message} if refusal.field else {}
        raise ApiError(HTTPStatus.BAD_REQUEST, refusal.message, fields=fields) from None


def _declared_length(request: HttpRequest) -> int:
    # Checked before the body is read, so an oversized body is refused without loading it.
    declared = request.META.get("CONTENT_LENGTH") or "0"
    return int(declared) if declared.isdigit() else 0


def clean_json(
    form: forms.Form, payload: dict[str, Any], *, message: str = "Some values are not valid."
) -> dict[str, Any]:
    """The form's cleaned data; unknown keys and values of the wrong shape are refused too,
    in the same answer, so a client hears of every mistake at once."""
    shape_errors = _shape_errors(form, payload)
    if form.is_valid() and not shape_errors:
        return form.cleaned_data
    error = invalid_form(form, message=message)
    error.fields.update(shape_errors)
    raise error


def _shape_errors(form: forms.Form, payload: dict[str, Any]) -> dict[str, str]:
    # A form would turn ["a"] into the string "['a']": refuse a list where one value belongs.
    errors = {key: "Unknown field." for key in payload if key not in form.fields}
    for name, field in form.fields.items():
        value = payload.get(name)
        takes_list = isinstance(field, forms.MultipleChoiceField | JsonListField)
        if takes_list and value is not None and not isinstance(value, list):
            errors[name] = "Give a list."
        elif not takes_list and isinstance(value, list | dict):
            errors[name] = "Give a single value, not a list or an object."
    return errors


def invalid_form(
    form: forms.Form,
    *,
    message: str = "Some values are not valid.",
    rename: Callable[[str], str] = str,
) -> ApiError:
    """A 400 with each field's messages; a form-wide message becomes the error itself."""
    fields = {rename(name): " ".join(errors) for name, errors in form.errors.items()}
    form_wide = " ".join(form.errors.get(NON_FIELD_ERRORS, []))
    fields.pop(rename(NON_FIELD_ERRORS), None)
    return ApiError(HTTPStatus.BAD_REQUEST, form_wide or message, fields=fields)
