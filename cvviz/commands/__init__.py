"""CLI commands, one module each. A module defines ``ORDER`` (its place in ``--help``) and
``register(subparsers)``, which adds its parser and sets ``run`` (a function of the parsed args that
returns the exit status). :mod:`cvviz.cli` discovers them, so adding a command touches no other file."""
