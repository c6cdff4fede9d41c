#!/usr/bin/env python3
"""Turns a trendsite snapshot into Hugo content (one page per item, with
its regions as a taxonomy), so Hugo can build the same pages from the same
data for the render benchmark.

    gen_hugo_content.py SNAPSHOT.json SITE_DIR
"""

import json
import os
import sys


def main():
    snap, site = sys.argv[1], sys.argv[2]
    with open(snap, encoding="utf-8") as f:
        doc = json.load(f)
    for section in ("videos", "stories"):
        os.makedirs(os.path.join(site, "content", section), exist_ok=True)
    for item in doc["items"]:
        section = "videos" if item["kind"] == "video" else "stories"
        front = {
            "title": item["title"],
            "author": item.get("author", ""),
            "summary": item.get("summary", ""),
            "views": item.get("views", 0),
            "link": item.get("url", ""),
            "thumbnail": (item.get("thumbnail") or {}).get("url", ""),
            "positions": [{"region": p.get("region", ""), "rank": p["rank"]}
                          for p in item["positions"]],
            "regions": [p["region"] for p in item["positions"] if p.get("region")],
        }
        path = os.path.join(site, "content", section, item["key"] + ".md")
        with open(path, "w", encoding="utf-8") as f:
            # JSON front matter: Hugo reads it, and json.dumps escapes safely.
            f.write(json.dumps(front, ensure_ascii=False, indent=1))
            f.write("\n")


if __name__ == "__main__":
    main()
