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
COMMANDS = ["version", "models", "workflow", "workflow_run", "generate", "pod", "endpoint"]
# Two-word commands: "workflow run …" is the command "workflow-run …".
ALIASES = {("workflow", "run"): "workflow-run"}


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


def _aliased(argv: Sequence[str] | None) -> list[str]:
    args = list(sys.argv[1:] if argv is None else argv)
    at = next((i for i, a in enumerate(args) if not a.startswith("-")), None)
    if at is not None and tuple(args[at : at + 2]) in ALIASES:
        args[at : at + 2] = [ALIASES[(args[at], args[at + 1])]]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_aliased(argv))
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
