"""Entry point of ``python -m ai_diffusion``.

Each sub-command lives in its own module ``ai_diffusion.cli.cmd_<name>`` exposing
``register(subparsers)``, which adds its parser and sets ``handler`` (a callable taking the
parsed arguments and returning the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import UserError

# Order is the order shown in --help.
COMMANDS = ["version", "models", "workflow", "generate", "pod", "endpoint"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ai_diffusion",
        description="AI image generation for Krita on a remote ComfyUI server: headless commands.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details on stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"{__package__}.cmd_{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    if args.verbose:
        import logging

        from ai_diffusion.logs import setup_stderr_logging

        setup_stderr_logging(logging.DEBUG)
    try:
        return int(args.handler(args) or 0)
    except UserError as e:
        print(f"error: {e.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130
