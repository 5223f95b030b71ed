"""The issue-level Jinja stage: autoescaped, strict, loading from the workspace's templates/."""

from __future__ import annotations

import types
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from newsletter.errors import TemplateError
from newsletter.render.i18n import long_date
from newsletter.render.markup import host, markdown_to_html, neutralize, tel

TEMPLATE_SUFFIX = ".mjml"


def template_file(name: str) -> str:
    return name if name.endswith(TEMPLATE_SUFFIX) else name + TEMPLATE_SUFFIX


def _finalize(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, Markup):
        return neutralize(value)
    return value


@jinja2.pass_context
def _date_filter(context: jinja2.runtime.Context, value: date | datetime) -> str:
    return long_date(value, context["lang"], context["timezone"])


@lru_cache(maxsize=8)
def environment(templates_dir: Path) -> jinja2.Environment:
    """One environment per templates directory; Jinja reloads a template when its file changes."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        keep_trailing_newline=True,
    )
    env.filters["markdown"] = markdown_to_html
    env.filters["date"] = _date_filter
    env.filters["tel"] = tel
    env.filters["host"] = host
    return env


def render(templates_dir: Path, name: str, context: Mapping[str, object]) -> str:
    """The MJML source that ``name`` produces; any error -> TemplateError(template, line)."""
    filename = template_file(name)
    env = environment(templates_dir.resolve())
    try:
        template = env.get_template(filename)
        return template.render(context)
    except jinja2.TemplateNotFound as err:
        missing = err.name if isinstance(err.name, str) else filename
        raise TemplateError(missing, f"template not found in {templates_dir}") from err
    except jinja2.TemplateSyntaxError as err:
        raise TemplateError(err.name or filename, err.message or str(err), line=err.lineno) from err
    except Exception as err:
        where = _template_frame(err.__traceback__, templates_dir.resolve())
        message = str(err) if not isinstance(err, jinja2.UndefinedError) else f"{err}"
        if where is None:
            raise TemplateError(filename, message) from err
        raise TemplateError(where[0], message, line=where[1]) from err


def _template_frame(tb: types.TracebackType | None, root: Path) -> tuple[str, int] | None:
    """The innermost traceback frame inside a template file: (name relative to root, line)."""
    found: tuple[str, int] | None = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        try:
            relative = Path(filename).resolve().relative_to(root)
        except (ValueError, OSError):
            relative = None
        if relative is not None:
            found = (relative.as_posix(), tb.tb_lineno)
        tb = tb.tb_next
    return found
