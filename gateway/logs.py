"""Logging: one configuration for `serve`, in text for people or JSON for log pipelines.

Every line logged on the thread handling a call carries the call's request id, and the partner
and method where known: the interceptor binds them (``bind``) at the start of the call, in a
context variable the formatters read. Nothing else needs to pass them along.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

#: The metadata key a client may send its request id in, and the gateway echoes it back in.
REQUEST_ID_KEY = "x-request-id"
#: A client's request id is taken as it is when it looks like one; anything else is replaced.
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(call)s: %(message)s"


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What the log knows of the call being handled."""

    request_id: str
    method: str = ""
    partner: str = ""


_call: contextvars.ContextVar[CallInfo | None] = contextvars.ContextVar("log_call", default=None)


def request_id(offered: str | None) -> str:
    """The client's request id when it is sane (letters, digits, ``._:-``, at most 128),
    otherwise a new one."""
    if offered is not None and _SANE.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def current() -> CallInfo | None:
    return _call.get()


@contextmanager
def bind(info: CallInfo) -> Iterator[CallInfo]:
    """Lines logged on this thread until the block ends carry ``info``."""
    token = _call.set(info)
    try:
        yield info
    finally:
        try:
            _call.reset(token)
        except ValueError:  # a generator closed in another context: leave that one alone
            _call.set(None)


def note_partner(partner: str | None) -> None:
    """The caller turned out to be ``partner``: lines from now on name it."""
    info = _call.get()
    if info is not None and partner and info.partner != partner:
        _call.set(replace(info, partner=partner))


class TextFormatter(logging.Formatter):
    """As the gateway always logged, with `` [request_id=… partner=… method=…]`` after the
    logger's name on a line logged while handling a call."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        info = _call.get()
        if info is None:
            record.call = ""
        else:
            parts = [f"request_id={info.request_id}"]
            parts += [f"partner={info.partner}"] if info.partner else []
            parts += [f"method={info.method}"] if info.method else []
            record.call = f" [{' '.join(parts)}]"
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and
    request_id, partner and method while handling a call; exception text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        info = _call.get()
        if info is not None:
            line["request_id"] = info.request_id
            if info.partner:
                line["partner"] = info.partner
            if info.method:
                line["method"] = info.method
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of ``log_format`` ("text" or "json")."""
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure(log_format: str, verbose: bool = False) -> None:
    """The root logger writes to stderr in ``log_format``: the one place logging is set up.
    Called again (serve, once its settings are read), it changes the format of the handler it
    added; like logging.basicConfig, it adds none where the root logger has others (a test's)."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "aeo_gateway", False)]
    if ours:
        for handler in ours:
            handler.setFormatter(formatter(log_format))
    elif not root.handlers:
        handler = logging.StreamHandler()
        handler.aeo_gateway = True  # type: ignore[attr-defined]
        handler.setFormatter(formatter(log_format))
        root.addHandler(handler)
    else:
        return
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
