"""The Jinja2 environments the report's templates render in (templates/).

Autoescaping is on in both, and it escapes the project's way: control characters are
made visible (\\xNN) first, then HTML's or Markdown's special characters are escaped.
Markup that a template or a macro built is passed through as it is.
"""

from __future__ import annotations

import html
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from conformance.report.common import json_text, md, one_line, printable, script_text


def _html_value(value: Any) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(printable(str(value)), quote=True))


def _markdown_value(value: Any) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(md(value))


def _environment(finalize: Any) -> Environment:
    env = Environment(
        loader=PackageLoader("conformance.report", "templates"),
        autoescape=True,  # with finalize: every value goes through the escaper below
        finalize=finalize,
        undefined=StrictUndefined,  # a misspelt name fails the render, never shows ""
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        one_line=one_line, json_text=json_text, script_text=script_text, printable=printable
    )
    return env


@cache
def html_environment() -> Environment:
    return _environment(_html_value)


@cache
def markdown_environment() -> Environment:
    return _environment(_markdown_value)
