"""The command line: ``python -m cvviz COMMAND``, a first-class interface over the same library as the app.

Commands live in :mod:`cvviz.commands`, one module each. Errors exit with status 2 and print one line,
``error: <sentence>``, on stderr; never a traceback (set ``CVVIZ_DEBUG=1`` to see one).

``--lang ko|en`` (before or after the command; default ``CVVIZ_LANG``, else English) sets the language of
the human-readable output and of error sentences; JSON keys and the ``error:`` prefix never change.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence
from typing import NoReturn

import cvviz.commands
from cvviz.commands._output import EXIT_ERROR
from cvviz.errors import CvvizError
from cvviz.i18n import LANGUAGES, normalize_language, use_language

LANG_ENV = "CVVIZ_LANG"


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one ``error:`` line, like every other cvviz error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"error: {message} (see `{self.prog} --help`)\n")


def _command_modules() -> list:
    modules = [
        importlib.import_module(f"cvviz.commands.{info.name}")
        for info in pkgutil.iter_modules(cvviz.commands.__path__)
        if not info.name.startswith("_")
    ]
    return sorted(modules, key=lambda module: (module.ORDER, module.__name__))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m cvviz", description="Explore computer-vision backbones.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    language = {
        "choices": sorted(LANGUAGES),
        "help": f"language of the human-readable output (default: ${LANG_ENV}, else en)",
    }
    parser.add_argument("--lang", default=None, **language)
    for module in _command_modules():
        module.register(commands)
    _accept_after_command(commands, language)
    return parser


def _accept_after_command(commands: argparse._SubParsersAction, language: dict) -> None:
    """``--lang`` after any command or sub-command too (``weights list --lang ko``)."""
    for command in commands.choices.values():
        command.add_argument("--lang", default=argparse.SUPPRESS, **language)
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                _accept_after_command(action, language)


def cli_language(asked: str | None) -> str:
    """``--lang`` if given, else ``$CVVIZ_LANG`` when it names a language cvviz has, else English."""
    return normalize_language(asked) or normalize_language(os.environ.get(LANG_ENV)) or "en"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with use_language(cli_language(args.lang)):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        code = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except CvvizError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader stopped early (``cvviz models | head``): not a failure of ours, so no message. Point
        # stdout at devnull so that Python's flush at exit does not raise again (as Python's docs advise).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        if os.environ.get("CVVIZ_DEBUG"):
            raise
        print(
            f"error: unexpected failure ({type(exc).__name__}: {exc}); set CVVIZ_DEBUG=1 for details.",
            file=sys.stderr,
        )
        return EXIT_ERROR
