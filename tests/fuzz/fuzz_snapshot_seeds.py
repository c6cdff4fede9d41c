#!/usr/bin/env python3
"""Writes a seed corpus for fuzz_snapshot: small valid snapshots (every
field, escapes, shards, stale lists) and a few near misses."""
import json
import os
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
item = {"key": "-4GmbBoYQjE", "kind": "video", "source": "youtube",
        "id": "-4GmbBoYQjE", "title": "ガンダム \"<script>\" 👨‍👩‍👧\t\u0001",
        "url": "https://www.youtube.com/watch?v=-4GmbBoYQjE",
        "discussion_url": "http://example.org/c",
        "thumbnail": {"url": "https://i.ytimg.com/x.jpg", "width": 1280,
                      "height": 720},
        "author": "Channel", "summary": "line\nline", "category": "Music",
        "language": "ja", "live": "live",
        "published_at": "2026-11-20T09:00:01Z", "views": 5000000000,
        "likes": 12, "comments": 0, "score": 3, "duration_s": 3842,
        "positions": [{"source": "youtube", "region": "JP", "rank": 1},
                      {"source": "youtube", "region": "US", "rank": 7,
                       "stale": True}],
        "regions": [{"code": "JP", "rank": 1}, {"code": "US", "rank": 7}],
        "sources": ["youtube"], "rank_score": 455, "merged": 5,
        "match_keys": ["example.org/a", "gundam"]}
story = {"key": "0123456789abcdef", "kind": "story", "source": "hackernews",
         "id": "41234567", "title": "Ask HN: anything?",
         "url": "javascript:alert(1)",
         "positions": [{"source": "hackernews", "rank": 3}],
         "sources": ["hackernews"], "rank_score": 98, "merged": 1}
status = {"source": "youtube", "type": "youtube", "region": "JP",
          "status": "stale", "reason": "HTTP 403 quotaExceeded", "items": 50,
          "skipped": 0, "requests": 2, "retries": 1, "repaired": 0,
          "quota_units": 2, "duration_ms": 312,
          "fetched_at": "2026-11-21T10:00:00Z",
          "stale_since": "2026-11-20T10:00:00Z"}
doc = {"format": "trendsite-snapshot", "version": 1,
       "generator": "trendsite 0.1.0", "generated_at": "2026-11-21T10:00:00Z",
       "shard": {"index": 1, "count": 2}, "statuses": [status],
       "items": [item, story]}
seeds = {
    "full-compact": json.dumps(doc, ensure_ascii=False,
                               separators=(",", ":")),
    "full-indented-ascii": json.dumps(doc, indent=1),
    "reversed": json.dumps(dict(reversed(list(doc.items())))),
    "empty-lists": json.dumps({k: v for k, v in doc.items()
                               if k not in ("shard",)} | {"statuses": [],
                                                          "items": []}),
    "no-format": json.dumps({"items": [story]}),
    "trailing-comma": json.dumps(doc)[:-1] + ",}",
}
for name, text in seeds.items():
    with open(os.path.join(out, "seed-" + name), "w", encoding="utf-8") as f:
        f.write(text)
print("fuzz: %d seeds" % len(seeds))
