"""The benchmarks' one way to put their figures into README.md."""

from __future__ import annotations

import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def write_block(name: str, text: str) -> bool:
    """Replace the text between ``<!-- name -->`` and ``<!-- /name -->`` in
    README.md; without those markers, print the text and return False."""
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    content = README.read_text(encoding="utf-8")
    if start not in content or end not in content:
        print(f"README.md has no {start} … {end} block; printing instead", file=sys.stderr)
        print(text)
        return False
    head, rest = content.split(start, 1)
    _, tail = rest.split(end, 1)
    README.write_text(f"{head}{start}\n{text}\n{end}{tail}", encoding="utf-8")
    print(f"README.md: {name} block updated", file=sys.stderr)
    return True
