#!/usr/bin/env python3
"""Writes a seed corpus for fuzz_mustache: one file per official spec test
(template NUL data NUL name\\nsource ...), from $TS_MUSTACHE_SPEC or
../shared/mustache-spec; nothing when the folder is missing."""
import glob
import json
import os
import sys

out = sys.argv[1]
spec = os.environ.get("TS_MUSTACHE_SPEC") or os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared",
    "mustache-spec"))
os.makedirs(out, exist_ok=True)
count = 0
for path in sorted(glob.glob(os.path.join(spec, "*.json"))):
    if os.path.basename(path).startswith("~lambdas"):
        continue
    with open(path, encoding="utf-8") as f:
        tests = json.load(f).get("tests", [])
    for i, t in enumerate(tests):
        parts = [t["template"], json.dumps(t.get("data"))]
        parts += [k + "\n" + v for k, v in t.get("partials", {}).items()]
        blob = "\0".join(parts).encode("utf-8")
        name = "spec-%s-%02d" % (os.path.basename(path)[:-5].lstrip("~"), i)
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob)
        count += 1
print("fuzz: %d seeds from %s" % (count, spec) if count else
      "fuzz: no spec folder at %s, no seeds" % spec)
