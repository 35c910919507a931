"""``symbackprop derivations --out FOLDER``: write every derivation document."""

from __future__ import annotations

import argparse

from ..documents.topics import write_documents
from .options import console as make_console


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "derivations",
        help="regenerate the derivation documents (.md and .tex per topic)",
        description="Write every topic's derivation as Markdown and as a standalone LaTeX document, "
        "with an index README.md, into a folder: a new one, an empty one, or one written by this command before.",
    )
    p.add_argument("--out", required=True, metavar="FOLDER",
                   help="the folder to write to, e.g. derivations (made if it does not exist)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    written = write_documents(args.out)
    make_console().print(f"wrote {len(written)} files to {args.out}")
    return 0
