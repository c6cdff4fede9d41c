#!/usr/bin/env python3
"""Writes a seed corpus for fuzz_config: the shipped configs (trendsite.json,
config/*.json), the end-to-end test's config shape, one config per source
type with every key set, and small broken ones (one per kind of error the
loader reports)."""
import glob
import json
import os
import sys

out = sys.argv[1]
root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(
    __file__)), "..", ".."))
os.makedirs(out, exist_ok=True)
seeds = {}

for path in [os.path.join(root, "trendsite.json")] + sorted(
        glob.glob(os.path.join(root, "config", "*.json"))):
    if os.path.exists(path):
        with open(path, "rb") as f:
            seeds["shipped-" + os.path.basename(path)] = f.read()

site = {"title": "T", "description": "D", "base_url": "https://u.github.io/r",
        "language": "pt-BR"}
full = {
    "//": "every key",
    "$schema": "https://example.org/schema.json",
    "site": site, "output": "out", "templates": "tpl", "state": ".st",
    "fetch": {"concurrency": 256, "per_host": 64, "rate": "10/s",
              "timeout_ms": 100, "connect_timeout_ms": 0, "stall_ms": 0,
              "deadline_ms": 1000, "retries": 10, "backoff_ms": 1,
              "max_response_bytes": 1024},
    "sources": [
        {"type": "youtube", "name": "yt", "api_key": "${YOUTUBE_API_KEY}",
         "regions": ["us", "JP", "gb"], "max_results": 50, "pages": 10,
         "rate": "5/min", "base_url": "${MOCK_URL}/youtube/v3/"},
        {"type": "hackernews", "limit": 500, "rate": "100/h",
         "base_url": "https://hacker-news.firebaseio.com/v0"},
        {"type": "guardian", "api_key": "${GUARDIAN_API_KEY}",
         "page_size": 200, "section": "world", "rate": "1/s"},
        {"type": "newsapi", "api_key": "k-${LONG}",
         "countries": ["US", "de"], "page_size": 100},
        {"type": "jsonfeed", "name": "blog", "url": "https://e.org/f.json",
         "rate": "2/s"},
    ],
    "history_days": 3650, "stale_after_hours": 8760,
}
seeds["full"] = json.dumps(full, indent=1).encode()
for i, src in enumerate(full["sources"]):
    one = {"site": {"base_url": "http://x/"}, "sources": [src]}
    seeds["one-%d-%s" % (i, src["type"])] = json.dumps(one).encode()
seeds["minimal"] = b'{"site": {"base_url": "https://a.b/"}, "sources": []}'

broken = {
    "unknown-key": {"site": site, "sources": [], "ouptut": "x"},
    "bad-region": {"site": site, "sources": [
        {"type": "youtube", "api_key": "k", "regions": ["XX"]}]},
    "twice-region": {"site": site, "sources": [
        {"type": "newsapi", "api_key": "k", "countries": ["us", "US"]}]},
    "bad-rate": {"site": site, "fetch": {"rate": "0/s"}, "sources": []},
    "range": {"site": site, "fetch": {"retries": 11}, "sources": []},
    "unset-env": {"site": site, "output": "${NOPE_NOT_SET}", "sources": []},
    "bad-env": {"site": site, "output": "${1X}${", "sources": []},
    "empty-key": {"site": site, "sources": [
        {"type": "newsapi", "api_key": "${NEWSAPI_KEY}"}]},
    "dup-name": {"site": site, "sources": [
        {"type": "hackernews"}, {"type": "hackernews"}]},
    "bad-name": {"site": site, "sources": [
        {"type": "jsonfeed", "name": "../x", "url": "https://e/"}]},
    "bad-url": {"site": {"base_url": "ftp://x"}, "sources": []},
    "bad-type": {"site": site, "sources": [{"type": "rss"}]},
    "not-object": [1, 2],
}
for name, doc in broken.items():
    seeds["broken-" + name] = json.dumps(doc).encode()
seeds["broken-syntax"] = b'{"site": {"base_url": "https://a/",}, "sources": []'
seeds["broken-duplicate"] = b'{"site": {}, "site": {}}'

for name, data in seeds.items():
    with open(os.path.join(out, "seed-" + name), "wb") as f:
        f.write(data)
print("fuzz: %d config seeds" % len(seeds))
