#!/usr/bin/env python3
"""The rendered site, page by page, with the built-in theme.

Renders the sample of sitelib.py (two runs: the second with a stale chart
and hostile items) and walks every file: HTML validity (tidy), links that
resolve, nothing loaded from another origin, the head tags every page
needs, escaping, the feed, the sitemap, the JSON API and its schema, the
size budget of the assets, and the stale banner where it belongs only.
"""

import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sitelib  # noqa: E402

BASE = sitelib.BASE_URL
IMAGE_HOSTS = {"i.ytimg.com"}  # the sample's thumbnails (YouTube's host)
ASSET_BUDGET = 30 * 1024
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
# tidy 5.6 predates these HTML attributes; anything else it says fails.
TIDY_ACCEPTED = [
    re.compile(r'^<img> proprietary attribute "(loading|decoding)"$'),
    re.compile(r'^<a> proprietary attribute "aria-current"$'),
    re.compile(r'^<meta> proprietary attribute "media"$'),
    re.compile(r'^<svg> proprietary attribute "focusable"$'),
]
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


class Page(html.parser.HTMLParser):
    """The parts of an HTML page the checks look at."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags = []         # (tag, {attr: value}) in document order
        self.ids = set()
        self.text = []
        self.title = None
        self._in_title = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        self.tags.append((tag, a))
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "title":
            self._in_title = True
            self.title = ""

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_title:
            self.title += data

    def find(self, tag, **want):
        return [a for t, a in self.tags if t == tag and
                all(a.get(k.rstrip("_").replace("_", "-")) == v
                    for k, v in want.items())]

    def meta(self, key):
        """content of <meta name=key> or <meta property=key>."""
        for t, a in self.tags:
            if t == "meta" and (a.get("name") == key or
                                a.get("property") == key):
                return a.get("content")
        return None


class Site:
    def __init__(self, root):
        self.root = root
        self.files = sorted(
            os.path.relpath(os.path.join(d, f), root)
            for d, _, fs in os.walk(root) for f in fs)
        self.html = [f for f in self.files if f.endswith(".html")]
        self._pages = {}

    def read(self, rel, mode="r"):
        with open(os.path.join(self.root, rel), mode,
                  **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            return f.read()

    def page(self, rel):
        if rel not in self._pages:
            self._pages[rel] = Page(self.read(rel))
        return self._pages[rel]

    def base_of(self, rel):
        """The URL relative links of page `rel` resolve against."""
        bases = self.page(rel).find("base")
        if bases:
            return bases[0]["href"]
        return BASE + ("" if rel == "index.html" else rel)

    def local_path(self, url):
        """The file an absolute URL of this site names, or None."""
        if not url.startswith(BASE):
            return None
        path = urllib.parse.urlsplit(url).path
        rel = urllib.parse.unquote(path[len(urllib.parse.urlsplit(BASE)
                                            .path):])
        return rel if rel and not rel.endswith("/") else rel + "index.html"


def fail_list(problems, what):
    if problems:
        raise AssertionError("%d %s, first ones:\n%s" % (
            len(problems), what, "\n".join(problems[:15])))


# ---- the checks ----------------------------------------------------------

def theme_checks_clean():
    proc = subprocess.run([sitelib.trendsite(), "check", "--templates",
                           os.path.join(sitelib.root(), "templates")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=60)
    assert proc.returncode == 0 and " 0 errors" in proc.stdout, proc.stdout


def pages_exist(site):
    want = ["index.html", "news.html", "status.html", "404.html",
            "feed.xml", "sitemap.xml", "robots.txt", ".nojekyll",
            "api/snapshot.json", "api/status.json", "api/search.json",
            "regions/US.html", "regions/JP.html", "videos/NewEntrant1.html",
            "videos/Hostile_001.html", "archive/2026-11-21.html"]
    missing = [f for f in want if f not in site.files]
    assert not missing, "missing: %s" % missing


def tidy_clean(site):
    if not shutil.which("tidy"):
        raise AssertionError("tidy is not installed (make deps)")
    problems = []
    for rel in site.html:
        proc = subprocess.run(["tidy", "-q", "-e", "-utf8",
                               os.path.join(site.root, rel)],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=60)
        for line in proc.stderr.splitlines():
            msg = re.sub(r"^line \d+ column \d+ - (Warning|Error): ", "",
                         line)
            if "Error:" in line or not any(r.match(msg)
                                           for r in TIDY_ACCEPTED):
                problems.append("%s: %s" % (rel, line))
        if proc.returncode >= 2 and not problems:
            problems.append("%s: tidy exit %d" % (rel, proc.returncode))
    fail_list(problems, "tidy errors or unexpected warnings")


def url_attrs(page):
    """(tag, attribute, value) of every attribute holding a URL."""
    for tag, a in page.tags:
        for name in ("href", "src", "action", "poster", "data", "formaction",
                     "cite", "background"):
            if name in a:
                yield tag, name, a[name]
        if "srcset" in a:
            for part in a["srcset"].split(","):
                if part.strip():
                    yield tag, "srcset", part.strip().split()[0]


def internal_links_resolve(site):
    problems = []
    for rel in site.html:
        page = site.page(rel)
        base = site.base_of(rel)
        for tag, name, value in url_attrs(page):
            if tag == "base":
                continue
            if value.startswith("#"):
                if value[1:] and value[1:] not in page.ids:
                    problems.append("%s: %s=%r: no such id" % (rel, name,
                                                               value))
                continue
            url = urllib.parse.urljoin(base, value)
            target = site.local_path(url.split("#")[0].split("?")[0])
            if target is None:
                continue  # another origin: see the next check
            if target not in site.files:
                problems.append("%s: <%s %s=%r> -> %s does not exist" % (
                    rel, tag, name, value, target))
    fail_list(problems, "broken internal links")


def other_origins(site):
    """Pages load nothing from another origin but thumbnails; only <a>
    (and canonical/alternate <link>s to the site itself) point away."""
    problems = []
    for rel in site.html:
        page = site.page(rel)
        for tag, name, value in url_attrs(page):
            parts = urllib.parse.urlsplit(value)
            absolute = bool(parts.scheme or parts.netloc)
            if not absolute:
                continue
            if tag == "a" and name == "href" and \
                    parts.scheme in ("http", "https"):
                continue
            if tag == "img" and name == "src" and \
                    parts.scheme == "https" and parts.hostname in IMAGE_HOSTS:
                continue
            if tag in ("link", "base") and value.startswith(BASE) and \
                    (tag == "base" or site.page(rel).find(
                        "link", href=value)[0].get("rel") in
                     ("canonical", "alternate")):
                continue
            problems.append("%s: <%s %s=%r>" % (rel, tag, name, value))
        for tag, a in page.tags:
            if tag == "script" and "src" not in a:
                problems.append("%s: inline <script>" % rel)
            if tag == "style" or "style" in a:
                problems.append("%s: inline style on <%s>" % (rel, tag))
            if any(k.startswith("on") for k in a):
                problems.append("%s: event handler attribute on <%s>"
                                % (rel, tag))
    for rel in site.files:
        if rel.endswith(".css"):
            for url in re.findall(r"url\(\s*['\"]?([^'\")]+)",
                                  site.read(rel)):
                if re.match(r"^[a-z]+:", url) and not url.startswith("data:"):
                    problems.append("%s: url(%s)" % (rel, url))
            if "@import" in site.read(rel):
                problems.append("%s: @import" % rel)
        if rel.endswith(".js") and re.search(r"https?://", site.read(rel)):
            problems.append("%s: mentions an absolute URL" % rel)
    fail_list(problems, "references to other origins")


def no_script_urls(site):
    problems = []
    for rel in site.html:
        for tag, name, value in url_attrs(site.page(rel)):
            scheme = re.sub(r"[\x00-\x20]", "", value).lower()
            if scheme.startswith(("javascript:", "data:", "vbscript:")):
                problems.append("%s: <%s %s=%r>" % (rel, tag, name, value))
        raw = site.read(rel).lower()
        if re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", raw):
            problems.append("%s: javascript: in the raw HTML" % rel)
    fail_list(problems, "script URLs")
    # The hostile items are really there, just without those links.
    assert "videos/Hostile_001.html" in site.files
    page = site.page("videos/Hostile_001.html")
    assert not page.find("a", class_="btn"), "a link out from a javascript: URL"


def script_title_escaped(site):
    raw = sitelib.SCRIPT_TITLE
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends"
    seen = 0
    problems = []
    for rel in site.files:
        if not rel.endswith((".html", ".xml")):
            continue
        text = site.read(rel)
        if "<script>alert" in text or "<b>bold</b>" in text or \
                "<img src=x" in text:
            problems.append("%s: the hostile text as markup" % rel)
        seen += escaped in text
    fail_list(problems, "unescaped titles")
    # The item page, its region's chart, the index search index and the
    # feed all carry it.
    for rel in ("videos/Hostile_001.html", "regions/US.html", "feed.xml"):
        assert escaped in site.read(rel), "%s lacks %r" % (rel, escaped)
    page = site.page("videos/Hostile_001.html")
    assert page.title.startswith(raw), page.title
    assert seen >= 3, seen


def head_tags(site):
    problems = []
    for rel in site.html:
        page = site.page(rel)
        p = lambda msg: problems.append("%s: %s" % (rel, msg))  # noqa: E731
        html_tags = page.find("html")
        if not html_tags or not html_tags[0].get("lang"):
            p("no <html lang>")
        if not (page.title or "").strip():
            p("no <title>")
        if not (page.meta("description") or "").strip():
            p("no meta description")
        canon = [a["href"] for a in page.find("link", rel="canonical")]
        want = BASE + ("" if rel == "index.html" else rel)
        if canon != [want]:
            p("canonical %r, expected %r" % (canon, want))
        if not (page.meta("og:title") or "").strip():
            p("no og:title")
        if page.meta("og:url") != want:
            p("og:url %r" % page.meta("og:url"))
        if page.meta("twitter:card") not in ("summary",
                                             "summary_large_image"):
            p("twitter:card %r" % page.meta("twitter:card"))
        if not page.find("meta", name="viewport"):
            p("no viewport")
        text = " ".join("".join(page.text).split())
        if "Data as of" not in text or not any(
                TIME_RE.match(a.get("datetime", ""))
                for a in page.find("time")):
            p("no 'Data as of' line with a <time datetime>")
        if len(page.find("h1")) != 1:
            p("%d <h1>" % len(page.find("h1")))
        for a in page.find("img"):
            if "alt" not in a:
                p("<img src=%r> without alt" % a.get("src"))
            if a.get("src", "").startswith("http") and not (
                    a.get("width") and a.get("height")
                    and a.get("loading") == "lazy"):
                p("thumbnail without width, height and loading=lazy")
    fail_list(problems, "missing head tags or page basics")


def assets_budget(site):
    sizes = {rel: os.path.getsize(os.path.join(site.root, rel))
             for rel in site.files if rel.endswith((".css", ".js"))}
    assert sizes, "no CSS or JavaScript at all"
    total = sum(sizes.values())
    assert total < ASSET_BUDGET, "CSS+JS is %d bytes: %s" % (total, sizes)
    print("# CSS+JS: %d bytes %s" % (total, sizes))


def banner(site, rel):
    return bool(site.page(rel).find("div", class_="banner"))


def stale_banner_where_stale(site, fresh_site):
    stale = ["index.html", "regions/%s.html" % sitelib.STALE_REGION,
             "status.html"]
    missing = [rel for rel in stale if not banner(site, rel)]
    assert not missing, "no stale banner on %s" % missing
    for rel in stale:
        text = " ".join("".join(site.page(rel).text).split())
        assert "YouTube · Japan, data from 6 h ago" in text, \
            "%s: the banner does not say which list and since when" % rel
    # Pages with only fresh data: another region, a video that trends only
    # in fresh charts, the news.
    snapshot = json.loads(site.read("api/snapshot.json"))
    fresh_only = [i["key"] for i in snapshot["items"]
                  if i["kind"] == "video" and i["positions"] and
                  all(not p.get("stale") for p in i["positions"])]
    videos = ["videos/%s.html" % k for k in fresh_only
              if "videos/%s.html" % k in site.files]
    assert videos, "no fresh-only video page in the sample"
    for rel in ["regions/US.html", "news.html", videos[0]]:
        assert not banner(site, rel), "%s: stale banner on fresh data" % rel
    shown = [rel for rel in fresh_site.html if banner(fresh_site, rel)]
    assert not shown, "stale banner in an all-fresh site: %s" % shown[:5]


def region_page_details(site):
    page = site.page("regions/US.html")
    classes = " ".join(a.get("class", "") for t, a in page.tags)
    for marker in ("chg up", "chg down", "chg new", "chg same",
                   "badge new"):
        assert marker in classes, "regions/US.html has no %r" % marker
    text = " ".join("".join(page.text).split())
    assert "First seen" in text, "no first-seen dates"
    item = site.read("videos/NewEntrant1.html")
    assert "Brand new music video premiere" in item
    spark = [rel for rel in site.html if rel.startswith("videos/")
             and '<svg class="sparkline"' in site.read(rel)]
    assert spark, "no video page has a sparkline"


def feed_valid(site):
    root = ET.fromstring(site.read("feed.xml", "rb"))
    assert root.tag == ATOM + "feed", root.tag
    for name in ("id", "title", "updated"):
        el = root.find(ATOM + name)
        assert el is not None and (el.text or "").strip(), "feed lacks " + name
    assert TIME_RE.match(root.find(ATOM + "updated").text)
    assert root.find(ATOM + "author/" + ATOM + "name") is not None, \
        "feed lacks author/name"
    selfs = [l for l in root.findall(ATOM + "link") if l.get("rel") == "self"]
    assert selfs and selfs[0].get("href") == BASE + "feed.xml", selfs
    entries = root.findall(ATOM + "entry")
    assert entries, "no entries"
    ids = set()
    for e in entries:
        for name in ("id", "title", "updated"):
            el = e.find(ATOM + name)
            assert el is not None and (el.text or "").strip(), \
                "entry lacks %s" % name
        assert TIME_RE.match(e.find(ATOM + "updated").text)
        link = e.find(ATOM + "link")
        assert link is not None and link.get("href"), "entry lacks link"
        target = site.local_path(link.get("href"))
        assert target in site.files, "entry links to %s" % link.get("href")
        ids.add(e.find(ATOM + "id").text)
    assert len(ids) == len(entries), "entry ids are not unique"


def sitemap_valid(site):
    root = ET.fromstring(site.read("sitemap.xml", "rb"))
    assert root.tag == SITEMAP + "urlset", root.tag
    locs = []
    for url in root.findall(SITEMAP + "url"):
        loc = url.find(SITEMAP + "loc")
        assert loc is not None and loc.text, "url without loc"
        lastmod = url.find(SITEMAP + "lastmod")
        assert lastmod is not None and re.match(r"^\d{4}-\d\d-\d\d",
                                                lastmod.text)
        target = site.local_path(loc.text)
        assert target in site.files, "sitemap lists %s" % loc.text
        locs.append(target)
    assert "index.html" in locs and "status.html" in locs
    assert "404.html" not in locs
    robots = site.read("robots.txt")
    assert "Sitemap: %ssitemap.xml" % BASE in robots, robots


def check_type(problems, where, obj, key, kind, required=True):
    if key not in obj:
        if required:
            problems.append("%s: no %r" % (where, key))
        return
    value = obj[key]
    ok = {"str": isinstance(value, str),
          "int": isinstance(value, int) and not isinstance(value, bool),
          "bool": isinstance(value, bool),
          "list": isinstance(value, list),
          "obj": isinstance(value, dict),
          "time": isinstance(value, str) and TIME_RE.match(value)}[kind]
    if not ok:
        problems.append("%s.%s: expected %s, got %r" % (where, key, kind,
                                                        value))


def json_api(site):
    docs = {}
    for rel in site.files:
        if rel.startswith("api/") and rel.endswith(".json"):
            docs[rel] = json.loads(site.read(rel))
    assert "api/snapshot.json" in docs and "api/search.json" in docs
    problems = []
    snap = docs["api/snapshot.json"]
    if snap.get("format") != "trendsite-snapshot" or snap.get("version") != 1:
        problems.append("snapshot format/version: %r/%r"
                        % (snap.get("format"), snap.get("version")))
    check_type(problems, "snapshot", snap, "generator", "str")
    check_type(problems, "snapshot", snap, "generated_at", "time")
    check_type(problems, "snapshot", snap, "statuses", "list")
    check_type(problems, "snapshot", snap, "items", "list")
    for i, st in enumerate(snap.get("statuses", [])):
        w = "statuses[%d]" % i
        for key, kind in (("source", "str"), ("type", "str"),
                          ("status", "str"), ("items", "int"),
                          ("skipped", "int"), ("requests", "int"),
                          ("retries", "int"), ("repaired", "int"),
                          ("duration_ms", "int")):
            check_type(problems, w, st, key, kind)
        for key, kind in (("region", "str"), ("reason", "str"),
                          ("quota_units", "int"), ("fetched_at", "time"),
                          ("stale_since", "time")):
            check_type(problems, w, st, key, kind, required=False)
        if st.get("status") not in ("ok", "failed", "stale"):
            problems.append("%s.status %r" % (w, st.get("status")))
        if st.get("status") == "stale":
            check_type(problems, w, st, "stale_since", "time")
    for i, it in enumerate(snap.get("items", [])):
        w = "items[%d]" % i
        for key, kind in (("key", "str"), ("kind", "str"), ("source", "str"),
                          ("id", "str"), ("title", "str"),
                          ("positions", "list"), ("sources", "list"),
                          ("rank_score", "int"), ("merged", "int")):
            check_type(problems, w, it, key, kind)
        for key, kind in (("url", "str"), ("discussion_url", "str"),
                          ("thumbnail", "obj"), ("author", "str"),
                          ("summary", "str"), ("category", "str"),
                          ("published_at", "time"), ("views", "int"),
                          ("likes", "int"), ("comments", "int"),
                          ("score", "int"), ("duration_s", "int"),
                          ("regions", "list"), ("stale", "bool")):
            check_type(problems, w, it, key, kind, required=False)
        if it.get("kind") not in ("video", "story"):
            problems.append("%s.kind %r" % (w, it.get("kind")))
        for key in ("url", "discussion_url"):
            if key in it and not it[key].startswith(("http://", "https://")):
                problems.append("%s.%s is not http(s): %r" % (w, key,
                                                              it[key]))
        if not it.get("positions"):
            problems.append("%s: no positions" % w)
        for k, p in enumerate(it.get("positions", [])):
            check_type(problems, "%s.positions[%d]" % (w, k), p, "source",
                       "str")
            check_type(problems, "%s.positions[%d]" % (w, k), p, "rank",
                       "int")
            if isinstance(p.get("rank"), int) and p["rank"] < 1:
                problems.append("%s.positions[%d].rank < 1" % (w, k))
    search = docs["api/search.json"]
    if search.get("version") != 1 or not isinstance(search.get("items"),
                                                    list):
        problems.append("search.json: version/items")
    for i, e in enumerate(search.get("items", [])):
        w = "search.items[%d]" % i
        check_type(problems, w, e, "t", "str")
        check_type(problems, w, e, "u", "str")
        check_type(problems, w, e, "k", "bool")
        for key in ("a", "c", "r"):
            check_type(problems, w, e, key, "str", required=False)
        if e.get("u") not in site.files:
            problems.append("%s.u %r is not a page" % (w, e.get("u")))
    status = docs.get("api/status.json", {})
    if status.get("format") != "trendsite-status" or \
            not isinstance(status.get("statuses"), list):
        problems.append("status.json: format/statuses")
    regions = [r for r in docs if r.startswith("api/regions/")]
    if not regions:
        problems.append("no api/regions/*.json")
    for rel in regions:
        d = docs[rel]
        for key, kind in (("region", "str"), ("name", "str"),
                          ("status", "str"), ("items", "list")):
            check_type(problems, rel, d, key, kind)
    fail_list(problems, "schema problems")


def nothing_outside(work, site):
    """The item whose key is ../../escape wrote nothing anywhere."""
    stray = []
    for d, _, fs in os.walk(work):
        stray += [os.path.join(d, f) for f in fs if "escape" in f]
    assert not stray, stray
    index = site.page("index.html")
    assert "Key escape" in "".join(index.text), "the item is not listed"
    hrefs = [a.get("href", "") for t, a in index.tags if t == "a"]
    assert not [h for h in hrefs if "escape" in h and "example.org" not in h]


def not_found_page(site):
    page = site.page("404.html")
    assert page.find("base", href=BASE), "404.html has no <base href=BASE>"
    for tag, name, value in url_attrs(page):
        if tag != "base" and value.startswith("/"):
            raise AssertionError("404.html: root-absolute %s" % value)


def triple_mustache_only_for_svg():
    """API text always goes through {{ }}: the theme's one unescaped tag
    is the sparkline, an SVG trendsite draws itself."""
    found = []
    top = os.path.join(sitelib.root(), "templates")
    for d, _, fs in os.walk(top):
        for f in fs:
            if not f.endswith(".mustache"):
                continue
            with open(os.path.join(d, f), encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    for tag in re.findall(r"\{\{\{[^}]*\}\}\}|\{\{&[^}]*\}\}",
                                          line):
                        if tag != "{{{sparkline}}}":
                            found.append("%s:%d: %s" % (
                                os.path.relpath(os.path.join(d, f), top), n,
                                tag))
    fail_list(found, "unescaped tags")


def override_one_file(work):
    """A templates folder with one partial and one asset: those replace
    the theme's, everything else comes from the built-in theme."""
    mine = os.path.join(work, "my-theme")
    os.makedirs(os.path.join(mine, "partials"))
    os.makedirs(os.path.join(mine, "assets"))
    with open(os.path.join(mine, "partials", "footer.html.mustache"),
              "w") as f:
        f.write("<footer><p>My footer, data as of {{run.generated_display}}"
                "</p></footer>\n")
    with open(os.path.join(mine, "assets", "style.css"), "w") as f:
        f.write("body { color: #123; }\n")
    out = os.path.join(work, "site-mine")
    config = os.path.join(work, "mine.json")
    sitelib.write_json(config, {
        "site": {"title": "Mine", "base_url": BASE}, "output": out,
        "templates": mine, "state": os.path.join(work, "state-mine"),
        "sources": []})
    proc = subprocess.run(
        [sitelib.trendsite(), "-q", "render", "--config", config, "--from",
         os.path.join(work, "snap1.json")], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=120,
        env=dict(os.environ, TRENDSITE_NOW=sitelib.T1))
    assert proc.returncode == 0, proc.stdout
    site = Site(out)
    for rel in site.html:
        assert "My footer, data as of" in site.read(rel), rel
    assert site.read("assets/style.css") == "body { color: #123; }\n"
    with open(os.path.join(sitelib.root(), "templates", "assets",
                           "app.js"), encoding="utf-8") as f:
        assert site.read("assets/app.js") == f.read(), "app.js not built in"
    assert site.page("regions/US.html").find("ol", class_="chart"), \
        "region.html did not come from the built-in theme"


def main():
    tap = sitelib.Tap()
    work = tempfile.mkdtemp(prefix="ts-site.")
    try:
        try:
            fresh_root, stale_root, _ = sitelib.build(work)
        except Exception as e:  # noqa: BLE001 - reported as one failure
            tap.check("the sample site renders", lambda: (_ for _ in ()).throw(e))
            tap.finish()
        tap.check("the sample site renders", lambda: None)
        site, fresh = Site(stale_root), Site(fresh_root)
        tap.check("the built-in theme checks clean", theme_checks_clean)
        tap.check("every expected file is published", pages_exist, site)
        tap.check("every HTML page passes tidy (both runs)",
                  lambda: (tidy_clean(site), tidy_clean(fresh)))
        tap.check("every internal link and asset resolves",
                  lambda: (internal_links_resolve(site),
                           internal_links_resolve(fresh)))
        tap.check("nothing loads from another origin but thumbnails",
                  other_origins, site)
        tap.check("no javascript: or data: URL becomes a link",
                  no_script_urls, site)
        tap.check("a <script> title is escaped everywhere",
                  script_title_escaped, site)
        tap.check("every page has title, description, canonical, OG, "
                  "Twitter, lang, data-as-of", head_tags, site)
        tap.check("CSS + JS stay under 30 KB", assets_budget, site)
        tap.check("the stale banner shows on stale pages only",
                  stale_banner_where_stale, site, fresh)
        tap.check("region pages show changes, new badges, first seen",
                  region_page_details, site)
        tap.check("feed.xml is valid Atom", feed_valid, site)
        tap.check("sitemap.xml and robots.txt are valid", sitemap_valid,
                  site)
        tap.check("api/*.json parse and match docs/snapshot.md", json_api,
                  site)
        tap.check("an unsafe key writes nothing and links nowhere",
                  nothing_outside, work, site)
        tap.check("404.html works at any depth", not_found_page, site)
        tap.check("templates use {{{ }}} only for the sparkline",
                  triple_mustache_only_for_svg)
        tap.check("a folder with one partial and one asset overrides just "
                  "those", override_one_file, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tap.finish()


if __name__ == "__main__":
    main()
