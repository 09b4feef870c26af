"""Small Click helpers shared by commands."""
from __future__ import annotations

import click
from click.core import ParameterSource


def explicit_values(ctx: click.Context) -> dict:
    """The parameters the user typed (not defaults), by parameter name."""
    return {name: value for name, value in ctx.params.items()
            if ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)}
