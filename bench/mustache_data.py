#!/usr/bin/env python3
"""Writes the benchmark data, the same for trendsite and mustache.js and the
same on every run (fixed seed): bench/out/list.json (100,000 items for the
list page) and bench/out/page.json (one item page)."""
import json
import os
import random
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "out")
os.makedirs(out, exist_ok=True)
rnd = random.Random(20240601)

WORDS = ("trend news music live official video review how to why the best "
         "new world game final match highlights 2024 update guide top reaction "
         "série música noticias 音楽 ニュース 🎵 🔥 café").split()
SITE = {"title": "Trending now", "language": "en",
        "base_url": "https://example.github.io/trends/",
        "footer": "Data from public APIs · rendered by trendsite"}


def words(n):
    return " ".join(rnd.choice(WORDS) for _ in range(n))


def title():
    t = words(rnd.randint(4, 9)).capitalize()
    extra = rnd.random()
    if extra < 0.15:
        t += " & more"
    elif extra < 0.25:
        t = '"' + t + '"'
    elif extra < 0.3:
        t += " <live>"
    elif extra < 0.35:
        t += " (it's back)"
    return t


def item(i):
    vid = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
                  for _ in range(11))
    tags = []
    for _ in range(rnd.randint(2, 4)):
        w = rnd.choice(WORDS)
        tags.append({"name": w, "slug": "t%d" % rnd.randint(1, 999)})
    change = rnd.choice([0, 0, 1, -1, 2, -3, 5, 12])
    return {
        "id": vid,
        "url": "https://www.youtube.com/watch?v=" + vid,
        "thumbnail": "https://i.ytimg.com/vi/%s/mqdefault.jpg" % vid,
        "title": title(),
        "channel": words(2).title(),
        "views": rnd.randint(1000, 90000000),
        "published": "2024-%02d-%02dT%02d:%02d:00Z" % (
            rnd.randint(1, 12), rnd.randint(1, 28), rnd.randint(0, 23),
            rnd.randint(0, 59)),
        "published_human": "%d hours ago" % rnd.randint(1, 72),
        "rank": i % 50 + 1,
        "rank_change": change,
        "description": words(rnd.randint(8, 16)) + (" & <b>more</b>" if i % 7 == 0 else ""),
        "tags": tags,
    }


items = [item(i) for i in range(100000)]
with open(os.path.join(out, "list.json"), "w", encoding="utf-8") as f:
    json.dump({"site": SITE, "region": {"code": "US", "name": "United States"},
               "updated_human": "5 minutes ago", "count": len(items),
               "items": items}, f, ensure_ascii=False)

page_item = dict(item(7), likes=123456, duration="12:34", score=98.5,
                 description=words(14) + " — full story & details <here>.",
                 trending=[{"region": c, "region_name": n, "rank": r,
                            "first_seen": s}
                           for c, n, r, s in [("US", "United States", 1, "2 days ago"),
                                              ("GB", "United Kingdom", 3, ""),
                                              ("DE", "Germany", 7, "5 hours ago")]])
regions = [{"code": c, "name": n, "current": c == "US"}
           for c, n in [("US", "United States"), ("GB", "United Kingdom"),
                        ("DE", "Germany"), ("JP", "Japan")]]
related = [{"id": x["id"], "title": x["title"], "channel": x["channel"]}
           for x in items[100:104]]
with open(os.path.join(out, "page.json"), "w", encoding="utf-8") as f:
    json.dump({"site": SITE, "regions": regions, "item": page_item,
               "related": related}, f, ensure_ascii=False)
print("bench: data in %s" % out)
