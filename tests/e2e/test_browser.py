#!/usr/bin/env python3
"""The site in a real browser: headless Chromium through chromedriver.

Serves the sample site of sitelib.py with `trendsite serve`, then drives
Chromium with the WebDriver HTTP protocol (urllib and json only): the
index and a region page at 375 and 1280 px, light and dark, with no
console errors, no horizontal scrolling on a phone, working filters and
search, visible keyboard focus, and every card present with JavaScript
off. Screenshots go to $TS_BUILD/test-artifacts/.

Without chromium and chromedriver (Debian: make deps) it prints one SKIP.
"""

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sitelib  # noqa: E402

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
PHONE = (375, 800)
DESKTOP = (1280, 900)
OFFLINE_IMAGE_HOST = "i.ytimg.com"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, fn, timeout=10.0, step=0.05):
    """Polls fn until it returns something truthy; fails after timeout."""
    end = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(step)


class Browser:
    """One chromedriver session, spoken to in plain WebDriver JSON."""

    def __init__(self, driver_port, chromium, profile, javascript=True):
        self.base = "http://127.0.0.1:%d" % driver_port
        args = ["--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--no-first-run", "--hide-scrollbars",
                "--user-data-dir=" + profile,
                # No network but loopback: thumbnails fail fast, always.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
        options = {"binary": chromium, "args": args}
        if not javascript:
            options["prefs"] = {
                "profile.managed_default_content_settings.javascript": 2}
        caps = {"browserName": "chrome", "goog:chromeOptions": options,
                "goog:loggingPrefs": {"browser": "ALL"},
                "timeouts": {"pageLoad": 30000, "script": 10000}}
        value = self.call("POST", "/session",
                          {"capabilities": {"alwaysMatch": caps}}, 60)
        self.session = "/session/" + value["sessionId"]
        self.console = []

    def call(self, method, path, body=None, timeout=30):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method, headers={
                                         "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.load(r)["value"]
        except urllib.error.HTTPError as e:
            raise AssertionError("webdriver %s %s: HTTP %d %s" % (
                method, path, e.code, e.read()[:600].decode("utf-8",
                                                            "replace")))

    def s(self, method, path, body=None, timeout=30):
        return self.call(method, self.session + path, body, timeout)

    def quit(self):
        try:
            self.call("DELETE", self.session, timeout=20)
        except Exception:  # noqa: BLE001 - the driver is killed next anyway
            pass

    def cdp(self, cmd, params=None):
        return self.s("POST", "/goog/cdp/execute",
                      {"cmd": cmd, "params": params or {}})

    def viewport(self, size, dark=False):
        width, height = size
        self.cdp("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": height, "deviceScaleFactor": 1,
                  "mobile": width < 600})
        self.cdp("Emulation.setEmulatedMedia", {"features": [
            {"name": "prefers-color-scheme",
             "value": "dark" if dark else "light"}]})

    def get(self, url):
        self.s("POST", "/url", {"url": url}, 60)

    def js(self, script, *args):
        return self.s("POST", "/execute/sync",
                      {"script": script, "args": list(args)})

    def find(self, css):
        return self.s("POST", "/element",
                      {"using": "css selector", "value": css})[ELEMENT]

    def find_all(self, css):
        return [e[ELEMENT] for e in self.s(
            "POST", "/elements", {"using": "css selector", "value": css})]

    def displayed(self, element):
        return self.s("GET", "/element/%s/displayed" % element)

    def click(self, element):
        self.s("POST", "/element/%s/click" % element, {})

    def type(self, element, text):
        self.s("POST", "/element/%s/value" % element, {"text": text})

    def press(self, key):
        self.s("POST", "/actions", {"actions": [{
            "type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": key},
                {"type": "keyUp", "value": key}]}]})
        self.s("DELETE", "/actions")

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.s("GET", "/screenshot")))

    def errors(self):
        """SEVERE console entries since the last call, except the
        thumbnails that cannot load (the machine has no network)."""
        entries = self.s("POST", "/se/log", {"type": "browser"})
        return [e["message"] for e in entries if e.get("level") == "SEVERE"
                and not (OFFLINE_IMAGE_HOST in e.get("message", "") and
                         "Failed to load resource" in e["message"])]


def version(program):
    """The major version a browser or chromedriver reports, or None."""
    try:
        out = subprocess.run([program, "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"(\d+)\.\d+\.\d+", out)
    return m and int(m.group(1))


def find_browser():
    """(browser, chromedriver) of the same major version; (None, None) when
    there is no browser or no driver at all. Debian's chromium and
    chromium-driver come first; GitHub's Ubuntu runners have Google Chrome
    with its driver in $CHROMEWEBDRIVER. TS_CHROMIUM and TS_CHROMEDRIVER
    name others."""
    browsers = [os.environ.get("TS_CHROMIUM")] + [shutil.which(n) for n in (
        "chromium", "chromium-browser", "google-chrome",
        "google-chrome-stable")]
    drivers = [os.environ.get("TS_CHROMEDRIVER"), shutil.which("chromedriver"),
               os.path.join(os.environ.get("CHROMEWEBDRIVER", "/nonexistent"),
                            "chromedriver"), "/usr/lib/chromium/chromedriver"]
    browsers = list(dict.fromkeys(b for b in browsers if b and
                                  os.access(b, os.X_OK)))
    drivers = list(dict.fromkeys(d for d in drivers if d and
                                 os.access(d, os.X_OK)))
    if not browsers or not drivers:
        return None, None
    majors = {d: version(d) for d in drivers}
    for b in browsers:
        v = version(b)
        for d in drivers:
            if v is not None and majors[d] == v:
                return b, d
    raise AssertionError("no chromedriver matches a browser: %s; %s" % (
        [(b, version(b)) for b in browsers], majors))


def fold(text):
    return unicodedata.normalize("NFKC", text).lower()


class Run:
    def __init__(self, site, base_url, browser, artifacts):
        self.site = site
        self.url = base_url
        self.b = browser
        self.artifacts = artifacts

    def load(self, path, size, dark=False):
        self.b.viewport(size, dark)
        self.b.get(self.url + path)
        # app.js is deferred: it has run once the search box shows.
        wait_for("app.js to show the search box", lambda: self.b.js(
            "return !document.querySelector('form.search').hidden"))

    def shot(self, name):
        self.b.screenshot(os.path.join(self.artifacts, name + ".png"))

    def page_at(self, path, size, dark, name, items):
        self.load(path, size, dark)
        self.shot(name)
        errors = self.b.errors()
        assert not errors, "console errors:\n" + "\n".join(errors)
        width, inner = self.b.js("return [document.documentElement."
                                 "scrollWidth, window.innerWidth]")
        assert inner == size[0], "viewport is %d px, not %d" % (inner,
                                                                size[0])
        assert width <= inner, "scrolls sideways: %d px > %d px" % (width,
                                                                    inner)
        shown = [e for e in self.b.find_all(items) if self.b.displayed(e)]
        assert shown, "no %s shown" % items
        background = self.b.js(
            "return getComputedStyle(document.body).backgroundColor")
        rgb = [int(x) for x in background[background.index("(") + 1:
                                          -1].split(",")[:3]]
        assert (sum(rgb) < 150) == dark, "%s background %s" % (
            "dark" if dark else "light", background)

    def other_pages_fit(self):
        """Every other kind of page on a phone: no sideways scrolling, no
        console errors. (404.html is left out: its <base> is the public
        address, which this machine cannot reach.)"""
        pages = ["news.html", "status.html", "videos/NewEntrant1.html"]
        for folder in ("stories", "archive"):
            names = sorted(os.listdir(os.path.join(self.site, folder)))
            pages.append(folder + "/" + names[0])
        problems = []
        for path in pages:
            self.load(path, PHONE)
            self.shot(path.replace("/", "-")[:-len(".html")] + "-375")
            width = self.b.js("return document.documentElement.scrollWidth")
            if width > PHONE[0]:
                problems.append("%s: %d px wide" % (path, width))
            problems += ["%s: %s" % (path, e) for e in self.b.errors()]
        assert not problems, "\n".join(problems)

    def region_filter(self):
        self.load("index.html", DESKTOP)
        cards = self.b.js("return [...document.querySelectorAll("
                          "'[data-cards] > li')].map(c => c.dataset.regions)")
        codes = self.b.js("return [...document.querySelectorAll("
                          "'select[name=region] option')].map(o => o.value)"
                          ".filter(Boolean)")
        assert cards and codes, "no cards or no region options"
        # A region some cards trend in and others do not.
        pick = [(c, sum(c in r.split() for r in cards)) for c in codes]
        pick = [(c, n) for c, n in pick if 0 < n < len(cards)]
        assert pick, "every region matches all cards or none"
        code, want = pick[0]
        self.b.click(self.b.find("select[name=region]"))
        self.b.click(self.b.find("select[name=region] option[value=%s]"
                                 % code))
        visible = self.b.js(
            "return [...document.querySelectorAll('[data-cards] > li')]"
            ".filter(c => c.getClientRects().length)"
            ".map(c => c.dataset.regions)")
        assert len(visible) == want, "%s: %d cards shown, %d expected" % (
            code, len(visible), want)
        assert all(code in r.split() for r in visible), visible
        note = self.b.js("return document.querySelector('.filter-note')"
                         ".textContent")
        assert "%d of the top %d" % (want, len(cards)) in note, note
        self.shot("index-filter-%s-1280" % code)
        # Back to every region: every card again.
        self.b.click(self.b.find("select[name=region] option[value='']"))
        count = self.b.js("return [...document.querySelectorAll("
                          "'[data-cards] > li')].filter(c => "
                          "c.getClientRects().length).length")
        assert count == len(cards), "%d of %d after reset" % (count,
                                                             len(cards))
        errors = self.b.errors()
        assert not errors, "console errors:\n" + "\n".join(errors)

    def category_filter(self):
        self.load("index.html", PHONE)
        cats = self.b.js("return [...document.querySelectorAll("
                         "'[data-cards] > li')].map(c => c.dataset.category)")
        name = max(set(cats), key=cats.count)
        want = cats.count(name)
        self.b.js("const s = document.querySelector('select[name=category]');"
                  "s.value = arguments[0];"
                  "s.dispatchEvent(new Event('change', {bubbles: true}));",
                  name)
        shown = self.b.js("return [...document.querySelectorAll("
                          "'[data-cards] > li')].filter(c => "
                          "c.getClientRects().length).map(c => "
                          "c.dataset.category)")
        assert shown == [name] * want, "%r: %r" % (name, shown)

    def search(self):
        self.load("regions/US.html", PHONE)
        with open(os.path.join(self.site, "api", "search.json"),
                  encoding="utf-8") as f:
            index = json.load(f)["items"]
        title = self.b.js("return document.querySelector('.row-title')"
                          ".textContent")
        word = max((w for w in title.split() if w.isalpha()), key=len)
        want = [i for i in index if fold(word) in fold(
            " ".join([i["t"], i.get("a", ""), i.get("c", "")]))]
        assert want, "nothing in the index matches %r" % word
        box = self.b.find("#q")
        self.b.click(box)
        self.b.type(box, word)
        hits = wait_for("search results", lambda: self.b.js(
            "const r = document.getElementById('results');"
            "return !r.hidden && r.querySelectorAll('.hits li').length"))
        assert hits == min(len(want), 50), "%r: %d results, %d expected" % (
            word, hits, len(want))
        titles = self.b.js("return [...document.querySelectorAll("
                           "'#results .hits li > a')].map(a => "
                           "a.textContent)")
        # The same items, in the index's order, as a plain scan finds.
        assert titles == [i["t"] for i in want][:50], (titles[:5], want[:5])
        assert any(fold(word) in fold(t) for t in titles), titles[:5]
        assert self.b.js("return document.getElementById('content').hidden")
        links = self.b.js("return [...document.querySelectorAll("
                          "'#results .hits a')].map(a => a.href)")
        assert all(l.startswith(self.url + "videos/") or
                   l.startswith(self.url + "stories/") for l in links), \
            links[:3]
        self.shot("search-375")
        self.b.press("\ue00c")  # Escape clears the search
        assert self.b.js("return document.getElementById('results').hidden"
                         " && !document.getElementById('content').hidden")
        # Nothing matches: a clear message, no stale results.
        self.b.type(box, "zzzqqqxxx")
        message = wait_for("the no-match message", lambda: self.b.js(
            "return document.querySelector('.results-count').textContent"))
        assert "Nothing matches" in message, message
        assert self.b.js("return document.querySelectorAll("
                         "'#results .hits li').length") == 0
        errors = self.b.errors()
        assert not errors, "console errors:\n" + "\n".join(errors)

    def keyboard_focus(self):
        self.load("index.html", DESKTOP)
        self.b.press("\ue004")  # Tab: the skip link
        self.b.press("\ue004")  # Tab: the brand link
        style = self.b.js(
            "const e = document.activeElement, s = getComputedStyle(e);"
            "return [e.tagName, e.className, s.outlineStyle, s.outlineWidth]")
        assert style[0] == "A" and style[2] != "none" and \
            style[3] != "0px", "focused %r" % style
        self.shot("index-focus-1280")


def without_javascript(driver_port, chromium, profile, url, site, shots):
    browser = Browser(driver_port, chromium, profile, javascript=False)
    try:
        for path, items in (("index.html", "[data-cards] > li"),
                            ("regions/US.html", ".chart > li")):
            browser.viewport(PHONE)
            browser.get(url + path)
            with open(os.path.join(site, path), encoding="utf-8") as f:
                html = f.read()
            cards = browser.find_all(items)
            assert cards and all(browser.displayed(c) for c in cards), \
                "%s: %d cards, not all shown" % (path, len(cards))
            want = html.count('<li class="card"') + html.count(
                '<li class="row')
            assert len(cards) == want, "%s: %d cards, %d in the HTML" % (
                path, len(cards), want)
            search = browser.find("form.search")
            assert not browser.displayed(search), "search shown without JS"
            browser.screenshot(os.path.join(
                shots, "nojs-" + path.replace("/", "-")[:-5] + "-375.png"))
        errors = browser.errors()
        assert not errors, "console errors:\n" + "\n".join(errors)
    finally:
        browser.quit()


def main():
    tap = sitelib.Tap()
    try:
        chromium, driver = find_browser()
    except AssertionError as e:
        tap.check("a browser and its chromedriver",
                  lambda: (_ for _ in ()).throw(e))
        tap.finish()
    if not chromium:
        tap.skip("browser", "chromium not installed")
        tap.finish()
    print("# %s with %s" % (chromium, driver))
    root = sitelib.root()
    build = os.environ.get("TS_BUILD", "build/release")
    shots = os.path.join(root, build, "test-artifacts")
    os.makedirs(shots, exist_ok=True)
    work = tempfile.mkdtemp(prefix="ts-browser.")
    procs = []
    browser = None
    try:
        _, site, _ = sitelib.build(work)
        port_file = os.path.join(work, "port")
        procs.append(subprocess.Popen(
            [sitelib.trendsite(), "-q", "serve", "--port", "0",
             "--port-file", port_file, site],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        port = int(wait_for("trendsite serve", lambda: os.path.exists(
            port_file) and open(port_file).read().strip()))
        url = "http://127.0.0.1:%d/" % port
        driver_port = free_port()
        procs.append(subprocess.Popen(
            [driver, "--port=%d" % driver_port],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        def driver_ready():
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/status"
                                            % driver_port, timeout=2) as r:
                    return json.load(r)["value"]["ready"]
            except (OSError, ValueError, KeyError):
                return False
        wait_for("chromedriver", driver_ready, timeout=20)
        browser = Browser(driver_port, chromium,
                          os.path.join(work, "profile"))
        run = Run(site, url, browser, shots)
        for path, items, name in (("index.html", "[data-cards] > li",
                                   "index"),
                                  ("regions/US.html", ".chart > li",
                                   "region-US")):
            for size in (PHONE, DESKTOP):
                for dark in (False, True):
                    shot = "%s-%d%s" % (name, size[0],
                                        "-dark" if dark else "")
                    tap.check("%s at %d px%s: no console errors, no "
                              "sideways scroll" % (path, size[0],
                                                   ", dark" if dark else ""),
                              run.page_at, path, size, dark, shot, items)
        tap.check("news, status, item and archive pages fit 375 px",
                  run.other_pages_fit)
        tap.check("the region filter hides the other cards",
                  run.region_filter)
        tap.check("the category filter keeps one category",
                  run.category_filter)
        tap.check("search finds titles by a word and clears",
                  run.search)
        tap.check("keyboard focus is visible", run.keyboard_focus)
        browser.quit()
        browser = None
        tap.check("without JavaScript every card is there",
                  without_javascript, driver_port, chromium,
                  os.path.join(work, "profile-nojs"), url, site, shots)
        print("# screenshots in %s" % shots)
    except Exception as e:  # noqa: BLE001 - setup failed: one failure
        tap.check("browser test setup", lambda: (_ for _ in ()).throw(e))
    finally:
        if browser:
            browser.quit()
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)
    tap.finish()


if __name__ == "__main__":
    main()
