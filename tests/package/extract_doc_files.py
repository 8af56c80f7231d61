#!/usr/bin/env python3
"""Writes every fenced code block that follows a `<!-- file: PATH -->` marker in a Markdown
file to OUT_DIR/PATH, so the documentation's example is built exactly as written."""
import pathlib
import re
import sys

doc, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
text = doc.read_text()
blocks = re.findall(r"<!-- file: (\S+) -->\n```[a-z]*\n(.*?)```", text, re.S)
if not blocks:
    sys.exit(f"{doc}: no '<!-- file: ... -->' blocks found")
for path, body in blocks:
    target = out / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body)
    print(f"extracted {path}")
