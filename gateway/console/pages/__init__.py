"""One module per page, each with a Blueprint named ``blueprint``: found here, so a new page is
a new file."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

from flask import Blueprint


def blueprints() -> Iterator[Blueprint]:
    for module in pkgutil.iter_modules(__path__):
        found = importlib.import_module(f"{__name__}.{module.name}").blueprint
        assert isinstance(found, Blueprint)
        yield found
