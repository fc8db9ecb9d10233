#!/usr/bin/env python3
"""Copies every C# snippet into the Markdown that shows it.

A fenced ```csharp block preceded by `<!-- snippet: PATH -->` shows the whole file PATH (relative to the repository);
`<!-- snippet: PATH#NAME -->` shows the lines between `#region NAME` and `#endregion` in it, de-indented. The files
are built and run by CI (samples/ and tests/), and DocumentationSnippetTests fails when a block differs from its
source: edit the source, then run this script.

Usage: tools/update-snippets.py            (rewrites the blocks of README.md, docs/, src/*/README.md, samples/*/README.md)
"""
import pathlib
import re
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^<!-- snippet: (?P<path>[^#\s]+)(?:#(?P<region>[\w-]+))? -->\n```csharp\n(?P<body>.*?)^```\n", re.M | re.S)


def markdown_files():
    yield ROOT / "README.md"
    for pattern in ("docs/*.md", "src/*/README.md", "samples/*/README.md"):
        yield from sorted(ROOT.glob(pattern))


def source(path, region):
    text = (ROOT / path).read_text(encoding="utf-8")
    if region is None:
        return text
    match = re.search(r"^[ \t]*#region " + re.escape(region) + r"[ \t]*\n(.*?)^[ \t]*#endregion", text, re.M | re.S)
    if match is None:
        sys.exit(f"{path}: no '#region {region}'")
    return textwrap.dedent(match.group(1))


def main():
    for md in markdown_files():
        text = md.read_text(encoding="utf-8")
        new = MARKER.sub(lambda m: m.group(0)[: m.start("body") - m.start(0)] + source(m.group("path"), m.group("region")) + "```\n", text)
        if new != text:
            md.write_text(new, encoding="utf-8")
            print("updated", md.relative_to(ROOT))


if __name__ == "__main__":
    main()
