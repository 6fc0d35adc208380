"""The console's web application: who the user is, their language and time zone, the security
headers every answer carries, and the pages (gateway/console/pages, one module per page)."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, g, redirect, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from gateway.console import i18n, identity, pages
from gateway.console.api import ApiError, GatewayApi
from gateway.console.i18n import _, gettext, ngettext

#: No inline script or style anywhere: what runs and styles the page is a file of the console's.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # Flask-WTF checks it on HTTPS: same-origin only
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
#: A refused or failed call of the gateway, as the HTTP status of the page that shows it.
_HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 409,
    "ALREADY_EXISTS": 409,
    "OUT_OF_RANGE": 400,
    "NOT_FOUND": 404,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
LANGUAGE_COOKIE = "aeo_console_lang"
ZONE_COOKIE = "aeo_console_tz"


def create_app(api: GatewayApi, home: str) -> Flask:
    """``home``: the home administration's code, shown in the title."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),  # per process: sessions hold only the CSRF token
        SESSION_COOKIE_NAME="aeo_console",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        WTF_CSRF_SSL_STRICT=True,
        MAX_CONTENT_LENGTH=8 << 20,
        TEMPLATES_AUTO_RELOAD=False,
    )
    CSRFProtect(app)
    languages = i18n.Languages()
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the extension
        gettext, ngettext, newstyle=True
    )
    app.jinja_env.globals["home"] = home

    @app.before_request
    def identify() -> Any:
        g.language = i18n.choose_language(
            request.cookies.get(LANGUAGE_COOKIE), request.headers.get("Accept-Language")
        )
        g.translations = languages.get(g.language)
        # The page's script percent-encodes the zone it reads from the browser.
        g.zone = i18n.time_zone(unquote(request.cookies.get(ZONE_COOKIE, "")))
        if request.endpoint == "static":
            return None
        pem = request.environ.get("SSL_CLIENT_CERT")
        if not pem:  # TLS requires one; a console behind something else must not serve anyone
            return _refused(_("A client certificate is required."))
        g.user = identity.from_pem(pem)
        if not g.user.role:
            return _refused(
                _("Your certificate (%(subject)s) carries no console role: admin or viewer.")
                % {"subject": g.user.subject}
            )
        g.api = api.as_user(g.user.der)
        return None

    @app.after_request
    def secure(response: Response) -> Response:
        response.headers.update(_HEADERS)
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def helpers() -> dict[str, Any]:
        return {
            "when": lambda value: i18n.when(value, g.language, g.zone),
            "language": g.get("language", i18n.DEFAULT_LANGUAGE),
            "user": g.get("user"),
            "zone": g.get("zone"),
        }

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> tuple[str, int]:
        return render_template("error.html", error=error), _HTTP_STATUS.get(error.status, 502)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return render_template(
            "error.html",
            error=ApiError(
                "INVALID_ARGUMENT",
                "console.csrf",
                _("The form expired or did not come from this console; open the page again."),
            ),
        ), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        return render_template(
            "error.html", error=ApiError(str(code), "console.http", error.name)
        ), code

    @app.get("/preferences")
    def preferences_form() -> str:
        return render_template(
            "preferences.html", zones=i18n.ZONES, back=_local(request.args.get("next", "/"))
        )

    @app.post("/preferences")
    def preferences() -> BaseResponse:
        """Language and time zone, kept in cookies for a year."""
        back = _local(request.form.get("next", "/"))
        response = redirect(back, 303)
        chosen = request.form.get("language", "")
        if chosen in i18n.LANGUAGES:
            response.set_cookie(
                LANGUAGE_COOKIE, chosen, max_age=365 * 86400, secure=True, samesite="Strict"
            )
        zone = request.form.get("zone", "")
        if zone and i18n.time_zone(zone).key == zone:
            response.set_cookie(
                ZONE_COOKIE, zone, max_age=365 * 86400, secure=True, samesite="Strict"
            )
        return response

    for blueprint in pages.blueprints():
        app.register_blueprint(blueprint)
    return app


def _local(target: str) -> str:
    """Only a path of this console (no open redirect)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _refused(message: str) -> tuple[str, int]:
    return render_template(
        "error.html", error=ApiError("PERMISSION_DENIED", "console.no_role", message)
    ), 403
