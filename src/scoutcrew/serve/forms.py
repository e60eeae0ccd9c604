"""A state-changing form as the web app takes it: a Content-Length within its limit, and the
app's CSRF token (the guard in app.py has checked the token, Host and origin already)."""

from __future__ import annotations

import hmac

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response


async def checked_form(request: Request, csrf: str, limit: int) -> FormData | Response:
    """The POSTed form, or the response that refuses it (no length, too large, bad CSRF)."""
    try:
        size = int(request.headers.get("content-length", ""))
    except ValueError:
        return PlainTextResponse("a form needs a Content-Length", status_code=411)
    if size > limit:
        return PlainTextResponse("the form is too large", status_code=413)
    form = await request.form()
    if not hmac.compare_digest(str(form.get("csrf", "")), csrf):
        return PlainTextResponse("missing or wrong CSRF token", status_code=403)
    return form
