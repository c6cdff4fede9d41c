#!/usr/bin/env python3
"""The GitHub Actions workflows parse as YAML and do what the README says:
CI builds with gcc and clang and runs the sanitizer suite; publishing runs
on a schedule and on demand, never overlaps, has least-privilege
permissions, keeps the state folder in a rolling cache, runs trendsite
with the API keys from secrets, publishes on exit 0 or 3 and not on 2; the
sharded variant fetches shards in a matrix and renders from them."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yamlsubset  # noqa: E402

ROOT = os.environ.get("TS_ROOT", os.getcwd())
WF = os.path.join(ROOT, ".github", "workflows")
n = 0
failed = 0


def check(name, fn):
    global n, failed
    n += 1
    try:
        fn()
        print(f"ok {n} - {name}")
    except Exception as e:  # noqa: BLE001 - report any failure as the test's
        failed += 1
        print(f"not ok {n} - {name}")
        print(f"#   {type(e).__name__}: {e}")


def load(name):
    with open(os.path.join(WF, name), encoding="utf-8") as f:
        return yamlsubset.loads(f.read())


def steps(job):
    return job.get("steps", [])


def uses(job, action):
    return [s for s in steps(job) if str(s.get("uses", "")).startswith(action)]


def runs(job, text):
    return [s for s in steps(job) if text in str(s.get("run", ""))]


def triggers(doc):
    return doc.get("on") or doc.get(True)


def ci():
    doc = load("ci.yml")
    on = triggers(doc)
    assert "push" in on and "pull_request" in on, on
    test = doc["jobs"]["test"]
    assert test["strategy"]["matrix"]["cc"] == ["gcc", "clang"]
    assert runs(test, "make deps") and runs(test, "make test"), "make deps/test"
    assert runs(doc["jobs"]["sanitizers"], "make test-asan"), "make test-asan"
    assert doc["permissions"] == {"contents": "read"}


def publish():
    doc = load("publish.yml")
    on = triggers(doc)
    crons = [s["cron"] for s in on["schedule"]]
    assert crons and all(len(c.split()) == 5 for c in crons), crons
    assert "workflow_dispatch" in on
    assert doc["permissions"] == {"contents": "read", "pages": "write",
                                  "id-token": "write"}, doc["permissions"]
    assert doc["concurrency"]["cancel-in-progress"] is False
    build = doc["jobs"]["build"]
    restore = uses(build, "actions/cache/restore@")
    save = uses(build, "actions/cache/save@")
    assert restore and save, "state restored and saved"
    assert restore[0]["with"]["path"] == ".trendsite"
    assert restore[0]["with"]["restore-keys"] == "trendsite-state-"
    assert "github.run_id" in restore[0]["with"]["key"], "rolling key"
    run = runs(build, "./trendsite run")
    assert run, "runs trendsite run"
    env = run[0]["env"]
    for key in ("YOUTUBE_API_KEY", "GUARDIAN_API_KEY", "NEWSAPI_KEY"):
        assert env[key] == "${{ secrets.%s }}" % key, env[key]
    script = run[0]["run"]
    assert '"$code" -eq 3' in script and "exit 0" in script, "3 publishes"
    assert 'exit "$code"' in script, "2 fails the job"
    assert crons[0] in env["TRENDSITE_CRON"], "quota estimate knows the cron"
    assert uses(build, "actions/upload-pages-artifact@")[0]["with"]["path"] == "site"
    deploy = doc["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert uses(deploy, "actions/deploy-pages@")
    assert deploy["environment"]["name"] == "github-pages"


def sharded():
    doc = load("publish-sharded.yml")
    fetch = doc["jobs"]["fetch"]
    shards = fetch["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1)), shards
    assert str(len(shards)) == str(doc["env"]["SHARDS"]), "SHARDS matches"
    assert runs(fetch, "./trendsite fetch --shard ${{ matrix.shard }}/${{ env.SHARDS }}")
    assert uses(fetch, "actions/upload-artifact@")
    render = doc["jobs"]["render"]
    assert render["needs"] == "fetch"
    assert uses(render, "actions/download-artifact@")
    assert runs(render, "./trendsite render") and runs(render, "--from shards/*.json")
    assert uses(render, "actions/cache/save@")
    assert doc["jobs"]["deploy"]["needs"] == "render"
    assert doc["permissions"]["pages"] == "write"


def parser_rejects_broken_yaml():
    for bad in ["a:\n\tb: 1\n", "a: 1\na: 2\n", "a:\n  - b\n c: 1\n",
                "a: \"open\n", "a: {b: 1}\n"]:
        try:
            yamlsubset.loads(bad)
        except yamlsubset.YamlError:
            continue
        raise AssertionError(f"accepted {bad!r}")


check("ci.yml: gcc and clang, make test, make test-asan", ci)
check("publish.yml: schedule, permissions, state cache, secrets, exit codes, Pages", publish)
check("publish-sharded.yml: shard matrix, artifacts, render --from, deploy", sharded)
check("the YAML checker rejects broken YAML", parser_rejects_broken_yaml)
sys.exit(1 if failed else 0)
