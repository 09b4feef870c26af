"""The `translate` command: a Click group; each sub-command lives in its own module under cli/."""
from __future__ import annotations

import importlib
import sys

import click

from translate._version import __version__
from translate.errors import FlaggedError, UserError

# (module under translate.cli, attribute) of every sub-command, in --help order.
COMMANDS = [
    ("train", "train"),
    ("apply", "apply"),
    ("faces", "faces"),
    ("video", "video"),
    ("batch", "batch"),
    ("frames", "frames"),
    ("chain", "chain"),
    ("run", "run"),
    ("weights", "weights"),
    ("eval", "eval_group"),
    ("detect", "detect"),
    ("ui", "ui"),
]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="translate")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Image-to-image translation and deepfake video pipelines.

    \b
    Example:
      translate train cyclegan --a horses/ --b zebras/
      translate apply photo.jpg --model runs/cyclegan-horses-zebras -o out/
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


for _module, _attr in COMMANDS:
    cli.add_command(getattr(importlib.import_module(f"translate.cli.{_module}"), _attr))


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="translate", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except (UserError, FlaggedError) as e:
        if debug:
            raise
        click.echo(f"error: {e}" if isinstance(e, UserError) else str(e), err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
