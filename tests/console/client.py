"""A small HTTPS client for the console's tests: mutual TLS with a development certificate,
cookies kept, and the CSRF token of the last page sent back with each form."""

from __future__ import annotations

import http.client
import re
import ssl
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Page:
    status: int
    text: str
    headers: dict[str, str]

    @property
    def csrf_token(self) -> str:
        found = _TOKEN.search(self.text)
        assert found is not None, "the page has no form with a CSRF token"
        return found.group(1)


@dataclass
class ConsoleClient:
    port: int
    ca: Path
    cert: Path | None
    key: Path | None
    cookies: dict[str, str] = field(default_factory=dict)

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        if self.cert is not None and self.key is not None:
            context.load_cert_chain(self.cert, self.key)
        return context

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Page:
        connection = http.client.HTTPSConnection(
            "localhost", self.port, context=self._context(), timeout=30
        )
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for raw in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(raw).items():
                    self.cookies[name] = morsel.value
            return Page(response.status, text, {k.lower(): v for k, v in response.getheaders()})
        finally:
            connection.close()

    def get(self, path: str, **headers: str) -> Page:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, form: dict[str, str], token_from: Page | None = None) -> Page:
        fields = dict(form)
        # What a browser sends with a form of the console (the Referrer-Policy is same-origin).
        referer = {"Referer": f"https://localhost:{self.port}/"}
        if token_from is not None:
            fields.setdefault("csrf_token", token_from.csrf_token)
        return self.request(
            "POST",
            path,
            urlencode(fields).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", **referer},
        )
