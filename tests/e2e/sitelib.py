"""Shared by the site and browser tests: a sample site with history, and
TAP output in the style of lib.sh.

Two runs into one state folder, so the second site shows what only history
gives: rank changes (up, down, new, same), "new" badges, first-seen dates,
sparklines, and a list kept from last-good data (marked stale).

Run 1 (04:00) is bench/gen_snapshot.py's deterministic snapshot. Run 2
(10:00) reorders each chart, brings in new videos, lets Japan's chart fail
(so its run-1 items come back stale) and adds hostile items: a <script>
title, javascript: links, a key that is not a safe file name.

    python3 tests/e2e/sitelib.py OUT_DIR   # prints the site's folder

Used as a module by test_site.py and test_browser.py. Standard library only.
"""

import json
import os
import random
import subprocess
import sys
import traceback

T1 = "2026-11-21T04:00:00Z"
T2 = "2026-11-21T10:00:00Z"
BASE_URL = "https://example.github.io/trends/"
STALE_REGION = "JP"
SCRIPT_TITLE = "<script>alert(1)</script> & friends"
JS_URL = "javascript:alert(1)"


def root():
    return os.environ.get("TS_ROOT") or os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def trendsite():
    return os.environ.get("TRENDSITE") or os.path.join(root(), "trendsite")


def write_json(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")


def first_snapshot(path, regions=8, per_region=10, stories=12):
    subprocess.run([sys.executable, os.path.join(root(), "bench",
                                                 "gen_snapshot.py"),
                    "--regions", str(regions), "--per-region",
                    str(per_region), "--stories", str(stories), "--time", T1,
                    "--out", path], check=True, timeout=60)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def video(key, title, rank, region, views, **extra):
    item = {"key": key, "kind": "video", "source": "youtube", "id": key,
            "title": title, "url": "https://www.youtube.com/watch?v=" + key,
            "thumbnail": {"url": "https://i.ytimg.com/vi/%s/mqdefault.jpg"
                          % key, "width": 320, "height": 180},
            "author": "Sample Channel", "category": "Music",
            "published_at": "2026-11-21T06:30:00Z", "views": views,
            "likes": views // 40, "comments": views // 300,
            "duration_s": 245,
            "positions": [{"source": "youtube", "region": region,
                           "rank": rank}],
            "sources": ["youtube"], "rank_score": 101 - rank, "merged": 1}
    item.update(extra)
    return item


def second_snapshot(first):
    """Run 2: same lists, reordered; one chart failed; hostile items."""
    rng = random.Random(7)
    doc = json.loads(json.dumps(first))
    doc["generated_at"] = T2
    for st in doc["statuses"]:
        st["fetched_at"] = T2
        if st.get("region") == STALE_REGION and st["type"] == "youtube":
            st.update(status="failed", reason="HTTP 403 quotaExceeded",
                      items=0)
            del st["fetched_at"]
    # Reorder every list: a few swaps, so some items go up, some down and
    # some keep their place. The failed chart's positions disappear.
    lists = {}
    for item in doc["items"]:
        keep = []
        for p in item["positions"]:
            if p["source"] == "youtube" and p.get("region") == STALE_REGION:
                continue
            keep.append(p)
            lists.setdefault((p["source"], p.get("region", "")), []).append(p)
        item["positions"] = keep
    for positions in lists.values():
        positions.sort(key=lambda p: p["rank"])
        ranks = [p["rank"] for p in positions]
        for _ in range(len(ranks) // 3):
            i, j = rng.randrange(len(ranks)), rng.randrange(len(ranks))
            ranks[i], ranks[j] = ranks[j], ranks[i]
        for p, r in zip(positions, ranks):
            p["rank"] = r
    items = [i for i in doc["items"] if i["positions"]]
    # New entrants take the last two places of the first chart.
    region = next(st["region"] for st in doc["statuses"]
                  if st["type"] == "youtube" and st["status"] == "ok")
    bottom = max(p["rank"] for p in lists[("youtube", region)])
    for item in items:  # the last two drop out of that chart
        item["positions"] = [p for p in item["positions"]
                             if p.get("region") != region or
                             p["rank"] < bottom - 1]
    items = [i for i in items if i["positions"]]
    items.append(video("NewEntrant1", "Brand new music video premiere",
                       bottom - 1, region, 2400000))
    items.append(video("Hostile_001", SCRIPT_TITLE, bottom, region, 1200,
                       url=JS_URL, author="<b>bold</b> channel",
                       summary="<img src=x onerror=alert(1)>",
                       thumbnail={"url": JS_URL, "width": 1, "height": 1}))
    stories = [i for i in items if i["kind"] == "story"]
    if stories:
        stories[0]["url"] = JS_URL
        stories[0]["discussion_url"] = "javascript:alert(2)"
    items.append({"key": "../../escape", "kind": "story",
                  "source": "hackernews", "id": "1", "title": "Key escape",
                  "url": "https://example.org/escape",
                  "positions": [{"source": "hackernews", "rank": 99}],
                  "sources": ["hackernews"], "rank_score": 0, "merged": 1})
    for item in items:
        item["positions"].sort(key=lambda p: (p["source"],
                                              p.get("region", ""),
                                              p["rank"]))
        if item["kind"] == "video":
            item["regions"] = [{"code": p["region"], "rank": p["rank"]}
                               for p in item["positions"] if "region" in p]
        item["rank_score"] = sum(max(0, 101 - p["rank"])
                                 for p in item["positions"])
    items.sort(key=lambda i: (-i["rank_score"], i["kind"], i["key"]))
    doc["items"] = items
    return doc


def render(work, snapshot, site, now, want=(0,)):
    config = os.path.join(work, "trendsite.json")
    write_json(config, {"site": {"title": "Trending now",
                                 "base_url": BASE_URL},
                        "output": site,
                        "state": os.path.join(work, "state"),
                        "sources": []})
    env = dict(os.environ, TRENDSITE_NOW=now)
    proc = subprocess.run([trendsite(), "-q", "render", "--config", config,
                           "--from", snapshot], env=env, cwd=work,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=240)
    if proc.returncode not in want:
        raise RuntimeError("trendsite render %s: exit %d\n%s%s"
                           % (snapshot, proc.returncode, proc.stdout,
                              proc.stderr))
    return proc.returncode


def build(work):
    """Renders run 1 into WORK/site1 and run 2 into WORK/site2 (the same
    state folder); returns (site1, site2, snapshot 2 as a dict)."""
    os.makedirs(work, exist_ok=True)
    snap1 = os.path.join(work, "snap1.json")
    first = first_snapshot(snap1)
    site1 = os.path.join(work, "site1")
    render(work, snap1, site1, T1)
    second = second_snapshot(first)
    snap2 = os.path.join(work, "snap2.json")
    write_json(snap2, second)
    site2 = os.path.join(work, "site2")
    render(work, snap2, site2, T2, want=(3,))  # 3: published, one stale
    return site1, site2, second


class Tap:
    """`check(name, fn)` runs one case: it passes unless fn raises. A
    failure prints its message as "#   " lines, like lib.sh's check."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, name, fn, *args):
        self.n += 1
        try:
            fn(*args)
        except Exception as e:  # a failed case, whatever went wrong
            self.failed += 1
            print("not ok %d - %s" % (self.n, name))
            text = str(e) if isinstance(e, AssertionError) else \
                traceback.format_exc()
            for line in text.splitlines()[-30:]:
                print("#   " + line)
        else:
            print("ok %d - %s" % (self.n, name))
        sys.stdout.flush()

    def skip(self, name, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why))

    def finish(self):
        sys.exit(1 if self.failed else 0)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: sitelib.py OUT_DIR")
    print(build(sys.argv[1])[1])
