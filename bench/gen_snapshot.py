#!/usr/bin/env python3
"""Writes a deterministic trendsite snapshot for render benchmarks.

    gen_snapshot.py --regions 8 --per-region 50 --out snap.json

Videos trend in several regions at once (about a quarter of the positions
are shared), titles mix English, Japanese, Korean and emoji, and a few
stories from three news sources round it off. The same arguments always
give the same bytes.
"""

import argparse
import json
import random

REAL = ["US", "GB", "DE", "FR", "IN", "BR", "JP", "KR"]
WORDS = ["trailer", "live", "official", "music", "video", "highlights",
         "review", "reaction", "tutorial", "how", "to", "build", "the",
         "best", "new", "world", "record", "final", "season", "episode"]
JA = ["ガンダム", "新作", "公式", "ライブ", "まとめ", "東京", "料理"]
KO = ["뉴스", "라이브", "공식", "뮤직비디오", "하이라이트"]
EMOJI = ["🔥", "🎮", "👨‍👩‍👧", "🇯🇵", "✨"]
CATEGORIES = ["Music", "Gaming", "Entertainment", "Sports", "News & Politics",
              "Science & Technology", "Comedy", "Education"]
ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"


def region_codes(n):
    if n <= len(REAL):
        return REAL[:n]
    codes = list(REAL)
    for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
            for d in "0123456789":
                if len(codes) == n:
                    return codes
                codes.append(a + b + d)
    return codes


def title(rng):
    kind = rng.random()
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))
    if kind < 0.15:
        return rng.choice(JA) + " " + rng.choice(JA) + " " + words
    if kind < 0.25:
        return rng.choice(KO) + " " + words
    if kind < 0.35:
        return words.title() + " " + rng.choice(EMOJI)
    return words.title()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--regions", type=int, default=8)
    ap.add_argument("--per-region", type=int, default=50)
    ap.add_argument("--stories", type=int, default=60)
    ap.add_argument("--shared", type=float, default=0.25,
                    help="share of positions taken by videos already listed")
    ap.add_argument("--time", default="2026-11-21T10:00:00Z")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    videos = {}
    order = []
    statuses = []
    for code in region_codes(args.regions):
        statuses.append({"source": "youtube", "type": "youtube", "region": code,
                         "status": "ok", "items": args.per_region, "skipped": 0,
                         "requests": 1, "retries": 0, "repaired": 0,
                         "quota_units": 1, "duration_ms": 0,
                         "fetched_at": args.time})
        taken = set()
        for rank in range(1, args.per_region + 1):
            if order and rng.random() < args.shared:
                vid = rng.choice(order)
                if vid in taken:
                    vid = None
            else:
                vid = None
            if vid is None:
                vid = "".join(rng.choice(ALPHABET) for _ in range(11))
                while vid in videos or vid[0] == "-":
                    vid = "".join(rng.choice(ALPHABET) for _ in range(11))
                views = int(rng.paretovariate(1.2) * 10000)
                videos[vid] = {
                    "key": vid, "kind": "video", "source": "youtube", "id": vid,
                    "title": title(rng),
                    "url": "https://www.youtube.com/watch?v=" + vid,
                    "thumbnail": {"url": "https://i.ytimg.com/vi/%s/mqdefault.jpg" % vid,
                                  "width": 320, "height": 180},
                    "author": "Channel " + str(rng.randint(1, 5000)),
                    "summary": "A video about " + " ".join(rng.choice(WORDS) for _ in range(12)),
                    "category": rng.choice(CATEGORIES),
                    "published_at": "2026-11-%02dT%02d:00:00Z" % (rng.randint(10, 20), rng.randint(0, 23)),
                    "views": views, "likes": views // rng.randint(20, 80),
                    "comments": views // rng.randint(200, 900),
                    "duration_s": rng.randint(30, 4000),
                    "positions": [],
                }
                order.append(vid)
            taken.add(vid)
            videos[vid]["positions"].append({"source": "youtube", "region": code, "rank": rank})

    items = []
    for vid in order:
        v = videos[vid]
        v["positions"].sort(key=lambda p: (p["source"], p["region"], p["rank"]))
        v["regions"] = [{"code": p["region"], "rank": p["rank"]} for p in v["positions"]]
        v["sources"] = ["youtube"]
        v["rank_score"] = sum(max(0, 101 - p["rank"]) for p in v["positions"])
        v["merged"] = len(v["positions"])
        items.append(v)

    news = [("hackernews", "hackernews", ""), ("guardian", "guardian", ""),
            ("newsapi", "newsapi", "us")]
    per = max(1, args.stories // len(news))
    for name, typ, region in news:
        st = {"source": name, "type": typ, "status": "ok", "items": per,
              "skipped": 0, "requests": per + 1 if typ == "hackernews" else 1,
              "retries": 0, "repaired": 0, "duration_ms": 0, "fetched_at": args.time}
        if region:
            st["region"] = region
        statuses.append(st)
        for rank in range(1, per + 1):
            key = "%016x" % rng.getrandbits(64)
            pos = {"source": name, "rank": rank}
            if region:
                pos["region"] = region
            item = {"key": key, "kind": "story", "source": name,
                    "id": str(rng.randint(40000000, 42000000)),
                    "title": title(rng),
                    "url": "https://example.org/%s/%d" % (name, rank),
                    "author": "Author " + str(rng.randint(1, 300)),
                    "published_at": "2026-11-21T%02d:%02d:00Z" % (rng.randint(0, 9), rng.randint(0, 59)),
                    "positions": [pos], "sources": [name],
                    "rank_score": max(0, 101 - rank), "merged": 1}
            if typ == "hackernews":
                item["score"] = rng.randint(10, 900)
                item["comments"] = rng.randint(0, 400)
                item["discussion_url"] = "https://news.ycombinator.com/item?id=" + item["id"]
            else:
                item["summary"] = "A story about " + " ".join(rng.choice(WORDS) for _ in range(15))
            items.append(item)

    items.sort(key=lambda i: (-i["rank_score"], i["kind"], i["key"]))
    doc = {"format": "trendsite-snapshot", "version": 1,
           "generator": "gen_snapshot.py", "generated_at": args.time,
           "statuses": statuses, "items": items}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
