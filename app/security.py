"""Security headers on every response, and the request body limits.

The CSP allows no inline script or style and no eval: all JS lives in static/
and htmx is used without hx-on (which would need eval).

Every request body is limited: MAX_CONTENT_LENGTH for all, or the view's own limit
(`@body_limit(n)`, for an upload or a webhook). A larger Content-Length is refused with
413 before any hook (CSRF, sign-in) reads a byte of it; a body without a length stops
at the limit while it is read.
"""
from flask import Flask, request, session
from werkzeug.exceptions import RequestEntityTooLarge

MiB = 1024 * 1024
WEBHOOK_BODY_LIMIT = 1 * MiB


def body_limit(max_bytes: int):
    """This view accepts bodies up to `max_bytes` instead of MAX_CONTENT_LENGTH. Put it
    under the route decorator (the mark travels through functools.wraps)."""

    def decorator(view):
        view.body_limit = max_bytes
        return view

    return decorator

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self' https://checkout.stripe.com",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


def register(app: Flask) -> None:
    @app.url_value_preprocessor
    def _limit_body(endpoint, values):
        # URL value preprocessors run before every before_request hook (CSRF's reads the form).
        view = app.view_functions.get(endpoint) if endpoint else None
        limit = getattr(view, "body_limit", None) or app.config["MAX_CONTENT_LENGTH"]
        request.max_content_length = limit
        if request.content_length is not None and request.content_length > limit:
            raise RequestEntityTooLarge()

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if request.endpoint != "static" and (request.blueprint == "pay" or "_user_id" in session):
            # a signed-in page or a customer's invoice: never kept by a browser or a proxy
            # (the back button after sign-out, a shared computer)
            response.headers["Cache-Control"] = "no-store"
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        return response
