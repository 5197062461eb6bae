"""Command-line interface: `python -m talkinghead COMMAND ...`.

Each command lives in `talkinghead/commands/<name>.py` and exposes `add_arguments(parser)` and
`run(args) -> int`. Modules are imported only for the command that runs, so `--help` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from talkinghead.errors import InputError

# name -> one-line help
COMMANDS: dict[str, str] = {
    "landmarks": "detect faces and print/draw their 68x3 landmarks",
    "refs": "retrieve the None/M/R/O style reference frames of a style clip",
    "isp": "render the four Intermediate Style Patterns of a portrait for a style clip",
    "motion": "predict landmark motion from audio and render it as a facial map",
    "generate": "generate a styled talking-head video",
    "weights": "list, download, verify or upload weights",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m talkinghead", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=f"talkinghead.commands.{name}")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not any(a in COMMANDS for a in argv):
        parser.parse_args(argv)  # prints the help or the usage error and exits
    # Two passes: find the command (ignoring -h, which belongs to it), then let its module add
    # its own arguments and parse for real.
    known, _ = parser.parse_known_args([a for a in argv if a not in ("-h", "--help")])
    module = importlib.import_module(known._module)
    sub_action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    module.add_arguments(sub_action.choices[known.command])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(module.run(args) or 0)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130
