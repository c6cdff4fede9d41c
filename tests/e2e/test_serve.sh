#!/usr/bin/env bash
# `trendsite serve`: static files with the right types, the site's 404
# page, folder redirects, and nothing outside the folder, however asked.
. "$(dirname "$0")/lib.sh"

site="$TS_TMP/site"
mkdir -p "$site/regions" "$site/assets"
echo '<!doctype html><title>home</title>' >"$site/index.html"
echo '<!doctype html><title>Japan</title>' >"$site/regions/JP.html"
echo '<!doctype html><title>regions</title>' >"$site/regions/index.html"
echo 'body{}' >"$site/assets/style.css"
echo '{"ok":true}' >"$site/api.json"
echo '<!doctype html><title>lost</title>' >"$site/404.html"
echo 'top secret' >"$TS_TMP/secret.txt"
ln -s "$TS_TMP/secret.txt" "$site/escape.txt"

"$TRENDSITE" serve --port 0 --port-file "$TS_TMP/port" "$site" 2>"$TS_TMP/serve.log" &
pid=$!
for _ in $(seq 100); do [ -s "$TS_TMP/port" ] && break; sleep 0.05; done
port=$(cat "$TS_TMP/port" 2>/dev/null)
base="http://127.0.0.1:$port"

# get PATH: prints "STATUS CONTENT-TYPE" and saves the body in $TS_TMP/body
get() {
  curl -s --path-as-is -o "$TS_TMP/body" -w '%{http_code} %{content_type}' "$base$1"
}

serves_index_and_types() {
  [ "$(get /)" = "200 text/html; charset=utf-8" ] && has "$TS_TMP/body" "home" &&
    [ "$(get /regions/JP.html)" = "200 text/html; charset=utf-8" ] &&
    [ "$(get /assets/style.css)" = "200 text/css; charset=utf-8" ] &&
    [ "$(get /api.json)" = "200 application/json" ]
}
missing_file_gets_site_404() {
  [ "$(get /nope.html)" = "404 text/html; charset=utf-8" ] && has "$TS_TMP/body" "lost"
}
folder_redirects_then_serves_index() {
  [ "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$base/regions")" = \
    "301 $base/regions/" ] &&
    [ "$(get /regions/)" = "200 text/html; charset=utf-8" ] && has "$TS_TMP/body" "regions"
}
dot_dot_is_refused() {
  for p in /../secret.txt /regions/../../secret.txt /%2e%2e/secret.txt \
           /regions/%2E%2E/%2e%2e/secret.txt /..%2fsecret.txt /%00 /a%5c..%5csecret.txt; do
    code=$(get "$p")
    case "$code" in 403*|404*) ;; *) echo "$p -> $code"; return 1 ;; esac
    if grep -q "top secret" "$TS_TMP/body"; then echo "$p leaked"; return 1; fi
  done
}
symlink_out_of_folder_is_refused() {
  code=$(get /escape.txt)
  [ "${code%% *}" = 404 ] && ! grep -q "top secret" "$TS_TMP/body"
}
head_has_no_body() {
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'HEAD /api.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
  out=$(timeout 5 cat <&3); exec 3<&-
  echo "$out" | grep -q "Content-Length: 12" && ! echo "$out" | grep -q '"ok"'
}
other_methods_refused() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/")" = 405 ]
}
keep_alive_reuses_connection() {
  n=$(curl -sv "$base/" "$base/api.json" -o /dev/null -o /dev/null 2>&1 |
      grep -c "Re-using existing connection")
  [ "$n" -ge 1 ]
}

check "serves files with their content types" serves_index_and_types
check "a missing file gets the site's 404 page" missing_file_gets_site_404
check "a folder redirects to its slash form and serves index.html" folder_redirects_then_serves_index
check "../ in any encoding is refused" dot_dot_is_refused
check "a symlink leading outside is refused" symlink_out_of_folder_is_refused
check "HEAD sends headers only" head_has_no_body
check "POST is refused with 405" other_methods_refused
check "keep-alive connections are reused" keep_alive_reuses_connection
kill -TERM "$pid"; wait "$pid"; status=$?
check "SIGTERM stops the server with status 0" [ "$status" -eq 0 ]
finish
