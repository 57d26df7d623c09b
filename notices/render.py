"""Rendering notices: ``render(template, context) -> Rendered``, nothing else.

Templates live in ``templates/<language>/<process>/<audience>/<name>.<channel>``.
The environment is sandboxed and strict: a placeholder without a value is a
``RenderError`` at render time, never text in a notice. Values are inserted as
they are: a name such as ``{{ 7*7 }}`` prints literally.

An email template's first line is ``Subject: ...``; SMS and letter templates
are the body alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from engine.errors import RenderError

TEMPLATES = Path(__file__).parent / "templates"
EXTRA_DIRS_ENV = "VCASE_TEMPLATE_DIRS"  # agency wording overrides / extra workflows, searched first
LANGUAGES = ("en", "es")
CHANNELS = ("email", "sms", "letter")
SMS_LIMIT = 160


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def path_for(language: str, process: str, name: str, channel: str) -> str:
    """``name`` is ``<audience>/<template>``."""
    return f"{language}/{process}/{name}.{channel}"


def search_path() -> list[Path]:
    import os

    extra = [Path(p) for p in os.environ.get(EXTRA_DIRS_ENV, "").split(os.pathsep) if p]
    return extra + [TEMPLATES]


def template_exists(process: str, name: str) -> bool:
    """True when every language has every channel of this template."""
    roots = search_path()
    return all(
        any((root / path_for(lang, process, name, ch)).is_file() for root in roots)
        for lang in LANGUAGES for ch in CHANNELS
    )


@lru_cache(maxsize=1)
def environment():
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        loader=FileSystemLoader([str(p) for p in search_path()]),
        auto_reload=False,  # compiled once per process: a changed template needs a restart of the daemon
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class EmptyValue(Exception):
    """A template printed a value that is empty (raised from ``Empty.__str__``)."""


class Empty:
    """An empty value: false in ``{% if %}``, but printing it is an error, as a missing one is.
    A notice that says "escaped on ." is as wrong as one with a raw placeholder."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        raise EmptyValue(self.name)

    __html__ = __str__


def render(template_path: str, context: Mapping[str, Any]) -> Rendered:
    from jinja2 import TemplateError

    values = {k: Empty(k) if isinstance(v, str) and not v.strip() else v for k, v in context.items()}
    try:
        text = environment().get_template(template_path).render(**values).strip()
    except EmptyValue as exc:
        raise RenderError(f"notice template {template_path} prints {exc.args[0]}, which is empty", field=exc.args[0]) from None
    except TemplateError as exc:
        raise RenderError(f"notice template {template_path} cannot be rendered: {exc}") from None
    if template_path.endswith(".email"):
        first, _, rest = text.partition("\n")
        if not first.startswith("Subject: "):
            raise RenderError(f"email template {template_path} must start with a 'Subject: ' line")
        return Rendered(first[len("Subject: "):].strip(), rest.strip())
    return Rendered("", text)


def undeclared_variables(template_path: str) -> set[str]:
    """The variables a template needs (for the audience test)."""
    from jinja2 import meta

    env = environment()
    source = env.loader.get_source(env, template_path)[0]
    return meta.find_undeclared_variables(env.parse(source))


def all_templates() -> list[str]:
    return sorted({str(p.relative_to(root)) for root in search_path() for p in root.rglob("*")
                   if p.suffix.lstrip(".") in CHANNELS})
