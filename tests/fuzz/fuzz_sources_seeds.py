#!/usr/bin/env python3
"""Writes a seed corpus for fuzz_sources: every API fixture (and the demo
data, when present) prefixed with the byte that selects its parser; error
bodies also for their classifier, with the status byte from the file name
("quotaExceeded-403.json" -> 403)."""
import glob
import os
import re
import sys

out = sys.argv[1]
root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(
    __file__)), "..", ".."))
os.makedirs(out, exist_ok=True)
YT, CAT, TOP, ITEM, GUARDIAN, NEWSAPI, FEED = range(7)
YT_C, GU_C, NA_C = 7, 8, 9


def parsers(rel):
    """(selector, status or None) pairs for one fixture path."""
    name = os.path.basename(rel)
    m = re.search(r"-(\d{3})", name)
    status = int(m.group(1)) if m else 400
    if "/errors/" in rel and "youtube" in rel:
        return [(YT_C, status), (YT, None)]
    if "youtube" in rel and "categor" in name:
        return [(CAT, None)]
    if "youtube" in rel or "videos" in name:
        return [(YT, None)]
    if "topstories" in name:
        return [(TOP, None)]
    if "/item/" in rel:
        return [(ITEM, None)]
    if "guardian" in rel:
        return [(GUARDIAN, None)] + ([(GU_C, status)] if "error" in name
                                     else [])
    if "newsapi" in rel:
        return [(NEWSAPI, None)] + ([(NA_C, status)] if "error" in name
                                    else [])
    if "feed" in rel:
        return [(FEED, None)]
    return []


count = 0
for base in ("tests/fixtures/api", "tests/fixtures/demo"):
    for path in sorted(glob.glob(os.path.join(root, base, "**", "*.json"),
                                 recursive=True)):
        rel = os.path.relpath(path, root)
        if os.path.basename(path).startswith("routes"):
            continue
        with open(path, "rb") as f:
            body = f.read()
        if len(body) > 200000:
            continue
        for sel, status in parsers(rel):
            prefix = bytes([sel])
            if status is not None:
                prefix += bytes([(status - 400) % 200])
            name = "seed-%d-%s" % (sel, rel.replace("/", "_"))
            with open(os.path.join(out, name), "wb") as f:
                f.write(prefix + body)
            count += 1
print("fuzz: %d source seeds" % count)
