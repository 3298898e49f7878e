from __future__ import annotations

import argparse
import platform

from ..version import __version__


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("version", help="print the plugin version")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print(f"ai_diffusion {__version__} (Python {platform.python_version()})")
    return 0
