#!/usr/bin/env python3
"""End-to-end: the real trendsite binary against tests/mockapi serving the
API fixtures (tests/fixtures/api), on loopback, with fake keys.

Run 1 (every list answers), run 2 three hours later (the US chart moved,
four lists fail four ways and fall back to last-good data), run 3 two days
later (the last-good data is too old), a run where everything fails
(nothing published, the old site untouched), config errors, sharded
fetches rendered together (byte-identical to one run), and no API key
anywhere. Assertions are on data (api/*.json, --dump-context), never on
the theme's HTML: the pages come from tests/fixtures/theme-min.

Prints TAP lines for tests/run.sh. Python 3 standard library only.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("TS_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
TRENDSITE = os.environ.get("TRENDSITE") or os.path.join(ROOT, "trendsite")
MOCKAPI = os.environ.get("MOCKAPI") or os.path.join(
    ROOT, "build", "release", "mockapi")
API = os.path.join(ROOT, "tests", "fixtures", "api")
THEME = os.path.join(ROOT, "tests", "fixtures", "theme-min")

# Fake keys, distinctive so that a leak is easy to find.
KEYS = {
    "TS_TEST_YOUTUBE_KEY": "test-key-yt-7Hq2",
    "TS_TEST_GUARDIAN_KEY": "test-key-gu-4Lm9",
    "TS_TEST_NEWSAPI_KEY": "test-key-na-1Xc5",
}

T0 = "2026-11-21T12:00:00Z"  # run 1
T1 = "2026-11-21T15:00:00Z"  # run 2: three hours later
T2 = "2026-11-23T13:00:00Z"  # run 3: 49 h after run 1

TMP = tempfile.mkdtemp(prefix="ts-e2e-run.")
_n = 0
_failed = 0
_captured = []  # every stdout/stderr, checked for keys at the end


def tap(name, ok, detail=""):
    global _n, _failed
    _n += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", _n, name))
    if not ok:
        _failed += 1
        for line in str(detail).splitlines()[-40:]:
            print("#   " + line)
    sys.stdout.flush()
    return ok


class Check:
    """Collects failed expectations of one TAP case."""

    def __init__(self):
        self.problems = []

    def eq(self, what, got, want):
        if got != want:
            self.problems.append("%s: got %r, expected %r" % (what, got, want))

    def true(self, what, cond):
        if not cond:
            self.problems.append(what)

    def report(self, name):
        return tap(name, not self.problems, "\n".join(self.problems))


class Mock:
    """tests/mockapi on a free loopback port, serving tests/fixtures/api."""

    def __init__(self, routes):
        self.routes = routes
        self.port_file = os.path.join(TMP, "mock.port")
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        self.log = open(os.path.join(TMP, "mock.log"), "ab")
        self.proc = subprocess.Popen(
            [MOCKAPI, "--root", API, "--routes", os.path.join(API, routes),
             "--port", "0", "--port-file", self.port_file, "--quiet",
             "--time-limit", "240"],
            stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 15
        while time.time() < deadline:
            if os.path.exists(self.port_file):
                with open(self.port_file) as f:
                    port = f.read().strip()
                if port:
                    self.url = "http://127.0.0.1:" + port
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("mockapi did not start (see %s)" % self.log.name)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def config(name, out, state, extra_source=None, **top):
    """Writes a config that points every source at ${MOCK_URL}."""
    doc = {
        "//": "End-to-end test config: every base_url is the mock API.",
        "site": {"title": "Fixture trends",
                 "base_url": "https://example.test/trends/"},
        "output": out,
        "templates": THEME,
        "state": state,
        "fetch": {"concurrency": 32, "per_host": 32, "timeout_ms": 5000,
                  "deadline_ms": 60000, "retries": 1, "backoff_ms": 10},
        "sources": [
            {"type": "youtube", "api_key": "${TS_TEST_YOUTUBE_KEY}",
             "regions": ["US", "GB", "JP", "KR", "DE"], "pages": 2,
             "base_url": "${MOCK_URL}/youtube/v3"},
            {"type": "hackernews", "limit": 13,
             "base_url": "${MOCK_URL}/hn/v0"},
            {"type": "guardian", "api_key": "${TS_TEST_GUARDIAN_KEY}",
             "base_url": "${MOCK_URL}/guardian"},
            {"type": "newsapi", "api_key": "${TS_TEST_NEWSAPI_KEY}",
             "countries": ["us", "gb"],
             "base_url": "${MOCK_URL}/newsapi/v2"},
            {"type": "jsonfeed", "name": "notes",
             "url": "${MOCK_URL}/feeds/blog.json"},
        ],
        "history_days": 30,
        "stale_after_hours": 48,
    }
    if extra_source:
        doc["sources"].append(extra_source)
    doc.update(top)
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
    return path


def trendsite(args, now, mock=None, timeout=120):
    """Runs trendsite; returns (exit status, stdout, stderr)."""
    env = dict(os.environ)
    env.update(KEYS)
    env["TRENDSITE_NOW"] = now
    env.pop("GITHUB_ACTIONS", None)
    # Without a server (config errors) the URL only has to be set.
    env["MOCK_URL"] = mock.url if mock else "http://127.0.0.1:9"
    p = subprocess.run([TRENDSITE] + args, env=env, capture_output=True,
                       timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    _captured.append("$ trendsite %s\n%s%s" % (" ".join(args), out, err))
    return p.returncode, out, err


def d(name):
    return os.path.join(TMP, name)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def snapshot(out):
    return load(os.path.join(out, "api", "snapshot.json"))


def statuses(doc):
    return {(s["source"], s.get("region", "")): s for s in doc["statuses"]}


def items(doc):
    return {it["id"]: it for it in doc["items"]}


def positions(it):
    return [(p["source"], p.get("region", ""), p["rank"], bool(p.get("stale")))
            for p in it["positions"]]


def diff_trees(a, b):
    p = subprocess.run(["diff", "-r", a, b], capture_output=True)
    return p.returncode == 0, p.stdout.decode("utf-8", "replace")[:4000]


def tree_listing(root):
    """Every file with its bytes and mtime: 'untouched' means this."""
    out = []
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            st = os.stat(path)
            with open(path, "rb") as f:
                out.append((os.path.relpath(path, root), st.st_mtime_ns,
                            f.read()))
    return out


def dump_context(cfg, snap, page, now, mock=None):
    code, out, err = trendsite(["render", "--config", cfg, "--from", snap,
                                "--dump-context", page], now, mock)
    if code != 0:
        raise RuntimeError("dump-context %s: exit %d\n%s" % (page, code, err))
    return json.loads(out)


def guarded(name, fn):
    """Runs one case; an exception is a failed case, not a crashed test."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 (report, then go on)
        import traceback
        tap(name, False, traceback.format_exc())


# ---- run 1: every list answers -------------------------------------------

def run1():
    cfg = config("run1.json", d("out1"), d("state1"))
    with Mock("routes-run1.json") as mock:
        code, out, err = trendsite(["-v", "run", "--config", cfg], T0, mock)
        stats_ok = mock.stop() == 0
    tap("run 1: every list fresh: exit 0", code == 0 and stats_ok,
        "exit %d\n%s" % (code, err[-3000:]))
    shutil.copytree(d("state1"), d("state1.saved"))
    shutil.copytree(d("out1"), d("out1.saved"))
    doc = snapshot(d("out1"))
    st = statuses(doc)
    its = items(doc)

    c = Check()
    runs_dir = os.path.join(d("state1"), "history", "runs")
    runs = sorted(os.listdir(runs_dir)) if os.path.isdir(runs_dir) else []
    c.eq("runs saved", len(runs), 1)
    if runs:
        pub = os.stat(os.path.join(d("out1"), "api", "snapshot.json"))
        run = os.stat(os.path.join(runs_dir, runs[0]))
        c.true("the saved run is the published api/snapshot.json itself",
               (pub.st_dev, pub.st_ino) == (run.st_dev, run.st_ino))
    c.report("run 1: the history keeps the published snapshot as a hard "
             "link, not a second copy")

    c = Check()
    c.eq("statuses", list(st.keys()),
         [("youtube", "US"), ("youtube", "GB"), ("youtube", "JP"),
          ("youtube", "KR"), ("youtube", "DE"), ("hackernews", ""),
          ("guardian", ""), ("newsapi", "us"), ("newsapi", "gb"),
          ("notes", "")])
    for key, s in st.items():
        c.eq("%s status" % (key,), s["status"], "ok")
        c.true("%s has no reason" % (key,), "reason" not in s)
        c.eq("%s fetched_at" % (key,), s.get("fetched_at"), T0)
        c.eq("%s duration_ms (pinned clock)" % (key,), s["duration_ms"], 0)
    c.eq("US requests (2 pages + categories)", st["youtube", "US"]["requests"], 3)
    c.eq("US skipped (../../x)", st["youtube", "US"]["skipped"], 1)
    # Ten videos on two pages, one of them on both: nine distinct items.
    c.eq("US items (a video on both pages counts once)",
         st["youtube", "US"]["items"], 9)
    c.eq("KR retried after rateLimitExceeded",
         st["youtube", "KR"]["retries"], 1)
    c.eq("KR repaired", st["youtube", "KR"]["repaired"], 8)
    c.eq("DE (videoChartNotFound) items", st["youtube", "DE"]["items"], 0)
    c.eq("HN skipped (null, deleted, dead, 404, comment)",
         st["hackernews", ""]["skipped"], 5)
    c.eq("HN items", st["hackernews", ""]["items"], 8)
    c.eq("HN requests", st["hackernews", ""]["requests"], 14)
    c.eq("NewsAPI us skipped ([Removed])", st["newsapi", "us"]["skipped"], 2)
    c.eq("NewsAPI gb items", st["newsapi", "gb"]["items"], 0)
    c.eq("feed skipped", st["notes", ""]["skipped"], 2)
    c.true("youtube quota units counted",
           all(s.get("quota_units", 0) > 0 for k, s in st.items()
               if k[0] == "youtube"))
    c.report("run 1: statuses: counts, a missing chart and a retried "
             "region are not failures")

    c = Check()
    phones = its.get("Qm3vL8xT2kA", {})
    c.eq("regions of the video in 3 charts", phones.get("regions"),
         [{"code": "GB", "rank": 2}, {"code": "JP", "rank": 3},
          {"code": "US", "rank": 1}])
    c.eq("its merged count", phones.get("merged"), 3)
    c.eq("its views (largest seen, > 2^32)", phones.get("views"), 5123470001)
    c.eq("its category (named)", phones.get("category"),
         "Science & Technology")
    c.eq("its rank score", phones.get("rank_score"), 297)
    fam = its.get("Jp4EmJ0zWjS", {})
    c.eq("emoji video regions", [r["code"] for r in fam.get("regions", [])],
         ["JP", "KR"])
    c.eq("first item", doc["items"][0]["id"], "Qm3vL8xT2kA")
    scores = [(-it["rank_score"], it["kind"] != "video", it["key"])
              for it in doc["items"]]
    c.true("items sorted by rank score, videos first, then key",
           scores == sorted(scores))
    c.true("../../x skipped", "../../x" not in its)
    c.true("every key is a safe file name",
           all(it["key"].replace("-", "").replace("_", "").isalnum()
               and it["key"].isascii() for it in doc["items"]))
    c.true("no page outside the output folder",
           not os.path.exists(os.path.join(d("out1"), "..", "x.html")))
    c.eq("video pages", sorted(os.listdir(os.path.join(d("out1"), "videos"))),
         sorted(k + ".html" for k, it in its.items() if it["kind"] == "video"))
    c.eq("region pages", sorted(os.listdir(os.path.join(d("out1"),
                                                        "regions"))),
         ["DE.html", "GB.html", "JP.html", "KR.html", "US.html"])
    c.eq("NFC title", its.get("Jp1aNfD7xQe", {}).get("title"),
         "ポケモン新作 完全ガイド")
    c.eq("script title stays text", its.get("_b4Rt9sKd1E", {}).get("title"),
         '<script>alert("pwned")</script> Reacting to the worst websites '
         "of 2026")
    c.eq("live video", (its.get("Lv9rT2mX0cB", {}).get("live"),
                        its.get("Lv9rT2mX0cB", {}).get("duration_s")),
         ("live", 0))
    c.report("run 1: videos merged across regions, sorted, safe keys")

    c = Check()
    c.eq("sources present",
         sorted({s for it in doc["items"] for s in it["sources"]}),
         ["guardian", "hackernews", "newsapi", "notes", "youtube"])
    ask = its.get("46100006", {})
    c.eq("Ask HN links to its discussion", ask.get("url"),
         "https://news.ycombinator.com/item?id=46100006")
    js = its.get("46100008", {})
    c.eq("javascript: url replaced by the discussion", js.get("url"),
         "https://news.ycombinator.com/item?id=46100008")
    c.true("no javascript: anywhere",
           "javascript:" not in json.dumps(doc).lower())
    verge = its.get("46100010", {})
    c.eq("HN + NewsAPI story merged", verge.get("sources"),
         ["hackernews", "newsapi"])
    senate = [it for it in doc["items"] if it["title"].startswith("Senate")]
    c.eq("one Senate story", len(senate), 1)
    if senate:
        c.eq("its sources", senate[0]["sources"], ["guardian", "newsapi"])
        c.eq("its merged count", senate[0]["merged"], 4)
    c.true("[Removed] dropped", "[Removed]" not in json.dumps(doc))
    c.true("tracking parameters gone",
           "utm_" not in json.dumps(doc) and "fbclid" not in json.dumps(doc))
    c.report("run 1: stories from every source, merged across sources")


# ---- shards: fetch --shard I/N + render --from == run ---------------------

def shards(label, routes, now, base_state, reference):
    for n in (1, 2, 3):
        state = d("shard-%s-%d-state" % (label, n))
        out = d("shard-%s-%d-out" % (label, n))
        if base_state:
            shutil.copytree(base_state, state)
        cfg = config("shard-%s-%d.json" % (label, n), out, state)
        files = []
        problems = []
        with Mock(routes) as mock:
            for i in range(1, n + 1):
                snap = d("shard-%s-%d-%d.json" % (label, n, i))
                code, _, err = trendsite(
                    ["fetch", "--config", cfg, "--shard", "%d/%d" % (i, n),
                     "--out", snap], now, mock)
                if code != 0:
                    problems.append("fetch %d/%d: exit %d\n%s"
                                    % (i, n, code, err))
                files.append(snap)
        lists = [(s["source"], s.get("region", ""))
                 for f in files if os.path.exists(f)
                 for s in load(f)["statuses"]]
        if len(lists) != len(set(lists)) or len(lists) != 10:
            problems.append("shards do not split the 10 lists: %r" % lists)
        # Reversed order on purpose: the shards' order must not matter.
        code, _, err = trendsite(["render", "--config", cfg, "--from"] +
                                 files[::-1], now)
        want = 0 if label == "run1" else 3
        if code != want:
            problems.append("render: exit %d, expected %d\n%s"
                            % (code, want, err))
        same, diff = diff_trees(reference, out)
        if not same:
            problems.append("differs from `trendsite run`:\n" + diff)
        tap("%s: fetch --shard I/%d + render --from: byte-identical to run"
            % (label, n), not problems, "\n".join(problems))


# ---- run 2: three hours later, four lists fail -----------------------------

def run2():
    shutil.copytree(d("state1.saved"), d("state2"))
    shutil.copytree(d("out1.saved"), d("out2"))
    cfg = config("run2.json", d("out2"), d("state2"))
    with Mock("routes-run2.json") as mock:
        code, out, err = trendsite(["run", "--config", cfg], T1, mock)
        # The same fetch again, for --dump-context (rendering never commits).
        fcode, _, ferr = trendsite(["fetch", "--config", cfg, "--out",
                                    d("run2-snapshot.json")], T1, mock)
    tap("run 2: some lists failed, last-good data published: exit 3",
        code == 3 and fcode == 0 and "see status.html" in err,
        "exit %d (fetch %d)\n%s\n%s" % (code, fcode, err[-3000:], ferr))
    shutil.copytree(d("state2"), d("state2.saved"))
    doc = snapshot(d("out2"))
    st = statuses(doc)
    its = items(doc)

    c = Check()
    want = {
        ("youtube", "US"): ("ok", None),
        ("youtube", "GB"): ("stale", "invalid JSON at line "),
        ("youtube", "JP"): ("stale", "HTTP 403 quotaExceeded (the daily "
                            "quota is used up; it resets at midnight "
                            "Pacific time)"),
        ("youtube", "KR"): ("ok", None),
        ("youtube", "DE"): ("ok", None),
        ("hackernews", ""): ("ok", None),
        ("guardian", ""): ("stale", "HTTP 401 Unauthorized (check "
                           "GUARDIAN_API_KEY)"),
        ("newsapi", "us"): ("stale", "HTTP 429 rateLimited (the plan's "
                            "daily requests are used up)"),
        ("newsapi", "gb"): ("ok", None),
        ("notes", ""): ("ok", None),
    }
    c.eq("lists", sorted(st), sorted(want))
    for key, (state, reason) in want.items():
        s = st.get(key, {})
        c.eq("%s status" % (key,), s.get("status"), state)
        if reason:
            c.true("%s reason %r starts with %r" % (key, s.get("reason"),
                                                    reason),
                   str(s.get("reason", "")).startswith(reason))
            c.eq("%s stale_since" % (key,), s.get("stale_since"), T0)
    c.eq("HN items (a failing source stops no other)",
         st["hackernews", ""]["items"], 8)
    c.eq("US items", st["youtube", "US"]["items"], 9)
    c.true("quota stop cancelled nothing else",
           all("cancelled" not in str(s.get("reason", "")) for s in
               doc["statuses"]))
    c.report("run 2: statuses and reasons of the failed lists")

    c = Check()
    c.eq("JP keeps its last-good items",
         sorted(i for i, it in its.items()
                if any(p[1] == "JP" for p in positions(it))),
         sorted(["Jp1aNfD7xQe", "Jp2FwF0rmZk", "Qm3vL8xT2kA", "Jp4EmJ0zWjS",
                 "Jp5HaLfKn8A"]))
    c.eq("a JP-only item is all stale", its.get("Jp1aNfD7xQe", {}).get("stale"),
         True)
    c.eq("positions of the video fresh in US, stale in GB and JP",
         positions(its.get("Qm3vL8xT2kA", {"positions": []})),
         [("youtube", "GB", 2, True), ("youtube", "JP", 3, True),
          ("youtube", "US", 2, False)])
    c.true("a video fresh somewhere is not stale",
           "stale" not in its.get("Qm3vL8xT2kA", {}))
    c.eq("GB keeps its last-good items",
         sorted(i for i, it in its.items()
                if any(p[1] == "GB" for p in positions(it))),
         sorted(["Gb8pL3kS0dN", "Qm3vL8xT2kA", "-Lx0cZ7pQ2w"]))
    c.true("the dropped US video is gone", "Cq4mZ9wL1pT" not in its)
    c.true("the new US video is in", "Nw6tY1uE4rO" in its)
    c.eq("guardian stories kept, stale",
         sorted(it["id"] for it in doc["items"]
                if "guardian" in it["sources"] and it.get("stale")),
         sorted(["world/live/2026/nov/21/climate-summit-final-day-live",
                 "technology/2026/nov/20/chipmaker-fined-firmware-backdoor",
                 "crosswords/cryptic/29876",
                 "culture/2026/nov/20/booker-prize-winner-interview",
                 "world/2026/nov/20/senate-passes-stopgap-funding-bill"]))
    c.report("run 2: failed lists keep their last-good items, marked stale")

    snap = d("run2-snapshot.json")
    us = dump_context(cfg, snap, "regions/US.html", T1)
    c = Check()
    cards = {card["key"]: card for card in us["items"]}
    c.eq("US order", [card["key"] for card in us["items"]],
         ["_b4Rt9sKd1E", "Qm3vL8xT2kA", "Nw6tY1uE4rO", "-Lx0cZ7pQ2w",
          "Wd2kP0sLq8M", "Hn5sQ1vYx3U", "Lv9rT2mX0cB", "Dy1kQ8nW3zR",
          "Rt7bN2xK5hS"])

    def change(key):
        ch = cards.get(key, {}).get("change", {})
        return (ch.get("label"), ch.get("up"), ch.get("down"), ch.get("new"),
                ch.get("same"), ch.get("by"))
    c.eq("3 -> 1", change("_b4Rt9sKd1E"), ("up 2", True, False, False,
                                           False, 2))
    c.eq("1 -> 2", change("Qm3vL8xT2kA"), ("down 1", False, True, False,
                                           False, 1))
    c.eq("new", change("Nw6tY1uE4rO"), ("new", False, False, True, False, 0))
    c.eq("2 -> 4", change("-Lx0cZ7pQ2w"), ("down 2", False, True, False,
                                           False, 2))
    c.eq("7 -> 7", change("Lv9rT2mX0cB"), ("no change", False, False, False,
                                           True, 0))
    c.eq("is_new of the new video", cards.get("Nw6tY1uE4rO", {}).get("is_new"),
         True)
    c.eq("its first seen", cards.get("Nw6tY1uE4rO", {}).get("first_seen_at"),
         T1)
    c.eq("is_new of an old one", cards.get("Qm3vL8xT2kA", {}).get("is_new"),
         False)
    c.eq("its first seen", cards.get("Qm3vL8xT2kA", {}).get("first_seen_at"),
         T0)
    c.eq("runs", cards.get("Qm3vL8xT2kA", {}).get("runs"), 2)
    c.eq("US page is fresh", us["page"]["stale"], False)
    c.report("run 2: rank changes, is_new and first-seen dates "
             "(--dump-context regions/US.html)")

    jp = dump_context(cfg, snap, "regions/JP.html", T1)
    idx = dump_context(cfg, snap, "index.html", T1)
    c = Check()
    c.eq("JP page.stale", jp["page"]["stale"], True)
    c.eq("JP region.stale", jp["region"].get("stale"), True)
    c.true("JP region.reason names the quota",
           "quotaExceeded" in jp["region"].get("reason", ""))
    c.eq("JP stale since", jp["region"].get("stale_since_display"), "3 h ago")
    c.eq("JP items (last good)", [card["key"] for card in jp["items"]],
         ["Jp1aNfD7xQe", "Jp2FwF0rmZk", "Qm3vL8xT2kA", "Jp4EmJ0zWjS",
          "Jp5HaLfKn8A"])
    c.eq("JP items carry no change (the list did not succeed)",
         [card.get("change") for card in jp["items"]], [None] * 5)
    c.eq("run.has_stale", idx["run"]["has_stale"], True)
    c.eq("run.stale_lists",
         [(e["label"], e["since"]) for e in idx["run"]["stale_lists"]],
         [("YouTube · United Kingdom", T0), ("YouTube · Japan", T0),
          ("The Guardian", T0), ("NewsAPI · United States", T0)])
    c.eq("run.failed_lists", idx["run"]["failed_lists"], [])
    c.eq("index page.stale", idx["page"]["stale"], True)
    c.eq("nav marks JP stale",
         [(r["code"], r["stale"]) for r in idx["nav"]["regions"]],
         [("US", False), ("GB", True), ("JP", True), ("KR", False),
          ("DE", False)])
    c.report("run 2: the stale banner flags (page.stale, run.stale_lists)")


# ---- run 3: two days later, the last-good data is too old ------------------

def run3():
    shutil.copytree(d("state2.saved"), d("state3"))
    cfg = config("run3.json", d("out3"), d("state3"))
    with Mock("routes-run2.json") as mock:
        code, _, err = trendsite(["run", "--config", cfg], T2, mock)
        fcode, _, _ = trendsite(["fetch", "--config", cfg, "--out",
                                 d("run3-snapshot.json")], T2, mock)
    doc = snapshot(d("out3")) if code in (0, 3) else {"statuses": [],
                                                     "items": []}
    st = statuses(doc)
    its = items(doc)
    c = Check()
    c.eq("exit", code, 3)
    for key in (("youtube", "GB"), ("youtube", "JP"), ("guardian", ""),
                ("newsapi", "us")):
        s = st.get(key, {})
        c.eq("%s status" % (key,), s.get("status"), "failed")
        c.true("%s reason %r says the data was dropped" % (key,
                                                           s.get("reason")),
               "last-good data from 49 h ago dropped (older than 48 h)"
               in str(s.get("reason")))
    c.true("JP's own items are gone",
           not any(i in its for i in ("Jp1aNfD7xQe", "Jp2FwF0rmZk",
                                      "Jp5HaLfKn8A", "Gb8pL3kS0dN")))
    c.eq("no stale position left",
         [i for i, it in its.items() if any(p[3] for p in positions(it))], [])
    c.eq("the video fresh in US keeps only US",
         positions(its.get("Qm3vL8xT2kA", {"positions": []})),
         [("youtube", "US", 2, False)])
    c.true("no guardian story left",
           not any("guardian" in it["sources"] for it in doc["items"]))
    if fcode == 0:
        idx = dump_context(cfg, d("run3-snapshot.json"), "index.html", T2)
        c.eq("run.failed_lists",
             [e["label"] for e in idx["run"]["failed_lists"]],
             ["YouTube · United Kingdom", "YouTube · Japan", "The Guardian",
              "NewsAPI · United States"])
        c.eq("run.stale_lists", idx["run"]["stale_lists"], [])
        jp = dump_context(cfg, d("run3-snapshot.json"), "regions/JP.html", T2)
        c.eq("JP page: failed, not stale",
             (jp["region"]["failed"], jp["region"]["stale"],
              jp["page"]["stale"], jp["items"]), (True, False, False, []))
    else:
        c.true("fetch for --dump-context", False)
    c.report("run 3: last-good data older than stale_after_hours is "
             "dropped: exit 3" + ("" if code == 3 else " (exit %d: %s)"
                                   % (code, err[-500:])))


# ---- failures without last-good data --------------------------------------

def first_run_failing():
    cfg = config("fail-first.json", d("out-ff"), d("state-ff"))
    with Mock("routes-run2.json") as mock:
        code, _, err = trendsite(["run", "--config", cfg], T0, mock)
    c = Check()
    c.eq("exit", code, 3)
    if os.path.exists(os.path.join(d("out-ff"), "api", "snapshot.json")):
        doc = snapshot(d("out-ff"))
        st = statuses(doc)
        c.eq("failed lists",
             sorted(k for k, s in st.items() if s["status"] == "failed"),
             sorted([("youtube", "GB"), ("youtube", "JP"), ("guardian", ""),
                     ("newsapi", "us")]))
        c.true("the others have items",
               st["youtube", "US"]["items"] == 9 and
               st["hackernews", ""]["items"] == 8 and
               st["notes", ""]["items"] == 4)
        c.eq("no stale item", [it["id"] for it in doc["items"]
                               if it.get("stale")], [])
    else:
        c.true("published", False)
    c.report("first run with failing lists: the rest is published, exit 3")


def everything_fails():
    # A site published earlier, then a run with a fresh state in which
    # every list fails: there is nothing to fall back on.
    shutil.copytree(d("out1.saved"), d("out-down"))
    before = tree_listing(d("out-down"))
    cfg = config("down.json", d("out-down"), d("state-down"))
    with Mock("routes-down.json") as mock:
        code, out, err = trendsite(["run", "--config", cfg], T1, mock)
    c = Check()
    c.eq("exit", code, 2)
    c.true("says why: %r" % err[-600:],
           "every list failed (10 of 10; first: youtube[US]: " in err and
           "keyInvalid" in err and "the previous site is untouched" in err)
    c.true("previous output untouched (bytes and mtimes)",
           tree_listing(d("out-down")) == before)
    c.eq("nothing left next to the output",
         [n for n in os.listdir(TMP) if n.startswith("out-down")],
         ["out-down"])
    c.report("every list fails, no last-good data: exit 2, old site intact")


def config_errors():
    good = config("cfg-good.json", d("out-cfg"), d("state-cfg"))
    doc = load(good)
    cases = []
    bad = json.loads(json.dumps(doc))
    bad["sources"][1]["limt"] = 12
    cases.append((bad, "sources[1].limt: unknown key (did you mean "
                       "\"limit\"?)"))
    bad = json.loads(json.dumps(doc))
    bad["sources"][0]["regions"][3] = "XX"
    cases.append((bad, "sources[0].regions[3]: \"XX\" is not a two-letter "
                       "region code"))
    bad = json.loads(json.dumps(doc))
    bad["fetch"]["rate"] = "ten per second"
    cases.append((bad, "fetch.rate: "))
    bad = json.loads(json.dumps(doc))
    bad["sources"][3]["base_url"] = "${TS_TEST_UNSET_VARIABLE}/v2"
    cases.append((bad, "sources[3].base_url: environment variable "
                       "TS_TEST_UNSET_VARIABLE is not set"))
    problems = []
    for i, (cfg_doc, message) in enumerate(cases):
        path = d("cfg-bad-%d.json" % i)
        with open(path, "w") as f:
            json.dump(cfg_doc, f)
        code, out, err = trendsite(["run", "--config", path], T0)
        want = "trendsite: error: %s: %s" % (path, message)
        if code != 1 or want not in err:
            problems.append("case %d: exit %d, stderr %r; expected exit 1 "
                            "and %r" % (i, code, err, want))
    # JSON syntax errors name file, line and column.
    path = d("cfg-syntax.json")
    with open(path, "w") as f:
        f.write('{\n  "site": {"title": "x",}\n}\n')
    code, _, err = trendsite(["run", "--config", path], T0)
    if code != 1 or ("%s:2:" % path) not in err:
        problems.append("syntax: exit %d, stderr %r" % (code, err))
    code, _, err = trendsite(["run", "--config", d("no-such.json")], T0)
    if code != 1 or "no-such.json: no such file" not in err:
        problems.append("missing file: exit %d, stderr %r" % (code, err))
    if os.path.exists(d("out-cfg")) or os.path.exists(d("state-cfg")):
        problems.append("a config error wrote output or state")
    tap("config errors: exit 1 with file and key path", not problems,
        "\n".join(problems))


def no_keys():
    leaks = []
    for key in KEYS.values():
        for text in _captured:
            if key in text:
                leaks.append("%s in output of: %s" % (key,
                                                      text.splitlines()[0]))
        # Outputs, states, snapshots; the configs name only variables.
        for dirpath, _, filenames in os.walk(TMP):
            for name in filenames:
                path = os.path.join(dirpath, name)
                with open(path, "rb") as f:
                    if key.encode() in f.read():
                        leaks.append("%s in %s" % (key, path))
    tap("no API key in any output, state file, stdout or stderr",
        not leaks and len(_captured) > 10, "\n".join(leaks[:20]) or
        "only %d commands captured" % len(_captured))


def main():
    print("# tmp %s" % TMP)
    try:
        for name, fn in (("run 1", run1), ("run 1 shards", lambda: shards(
                "run1", "routes-run1.json", T0, None, d("out1.saved"))),
                ("run 2", run2), ("run 2 shards", lambda: shards(
                    "run2", "routes-run2.json", T1, d("state1.saved"),
                    d("out2"))),
                ("run 3", run3), ("first run failing", first_run_failing),
                ("everything fails", everything_fails),
                ("config errors", config_errors), ("no keys", no_keys)):
            guarded(name, fn)
    finally:
        if _failed == 0:
            shutil.rmtree(TMP, ignore_errors=True)
        else:
            print("# kept %s for inspection" % TMP)
    return 1 if _failed else 0


if __name__ == "__main__":
    sys.exit(main())
