"""Every setting as a command-line flag, on the root command and on each subcommand."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Optional

import typer

from crawler.settings import flag_fields, load_settings

_ROOT_FLAGS = "settings_flags"


def _option(name: str, annotation: Any, help_text: str | None) -> inspect.Parameter:
    flag = "--" + name.replace("_", "-")
    decls = [f"{flag}/--no-{flag[2:]}"] if annotation is bool else [flag]
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(None, *decls, help=help_text, show_default=False),
        annotation=Optional[annotation],  # noqa: UP045 - typer needs a runtime Optional
    )


def setting_parameters() -> list[inspect.Parameter]:
    params = [_option(name, f.annotation, f.description) for name, f in flag_fields().items()]
    config = inspect.Parameter(
        "config",
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(None, "--config", help="TOML configuration file."),
        annotation=Optional[str],  # noqa: UP045
    )
    return [config, *params]


_NAMES = {p.name for p in setting_parameters()}


def remember_root_flags(ctx: typer.Context, flags: dict[str, Any]) -> None:
    ctx.ensure_object(dict)[_ROOT_FLAGS] = {k: v for k, v in flags.items() if v is not None}


def with_settings(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give `command` every setting as a flag and call it with `settings=` resolved (and
    `ctx=` when it asks for it).

    A flag after the subcommand wins over the same flag before it; a group's flags reach its
    subcommands.
    """
    original = inspect.signature(command)
    own = [p for p in original.parameters.values() if p.name not in ("settings", "ctx")]
    ctx_param = inspect.Parameter(
        "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
    )

    @functools.wraps(command)
    def wrapper(ctx: typer.Context, **kwargs: Any) -> Any:
        flags = dict((ctx.obj or {}).get(_ROOT_FLAGS, {}))
        flags.update(
            {k: kwargs.pop(k) for k in list(kwargs) if k in _NAMES and kwargs[k] is not None}
        )
        for name in _NAMES:
            kwargs.pop(name, None)
        ctx.ensure_object(dict)[_ROOT_FLAGS] = flags
        if "ctx" in original.parameters:
            kwargs["ctx"] = ctx
        return command(settings=load_settings(flags), **kwargs)

    wrapper.__signature__ = original.replace(  # type: ignore[attr-defined]
        parameters=[ctx_param, *own, *setting_parameters()]
    )
    return wrapper
