// The mustache.js side of bench/bench_mustache.sh, on the same templates
// and data as bench_mustache.c:
//   node mustache_js.js list|page TEMPLATES DATA.json [RUNS]
//   node mustache_js.js render-list|render-page TEMPLATES DATA.json
// The first prints "mustache.js NAME bytes=B renders=R seconds=S
// rss_data_kb=D rss_peak_kb=P" (S the median of RUNS); the second writes
// the output once, to compare it with trendsite's.
'use strict';
const fs = require('fs');
const path = require('path');
const Mustache = require(path.join(__dirname, 'node_modules', 'mustache'));

const [mode, dir, dataPath, runsArg] = process.argv.slice(2);
const read = (name) => fs.readFileSync(path.join(dir, name), 'utf8');
const partials = { item: read('item.mustache') };
const data = JSON.parse(fs.readFileSync(dataPath, 'utf8'));
const rssData = Math.round(process.memoryUsage().rss / 1024);
const list = mode.endsWith('list');
const template = read(list ? 'list.html.mustache' : 'page.html.mustache');

if (mode.startsWith('render-')) {
  process.stdout.write(Mustache.render(template, data, partials));
} else {
  const runs = Number(runsArg) || 5;
  const renders = list ? 1 : 100000;
  const seconds = [];
  let bytes = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    let last = '';
    let chars = 0;
    if (list) {
      // mustache.js builds the page as one string; write it where the C
      // side streams its output.
      last = Mustache.render(template, data, partials);
      const fd = fs.openSync('/dev/null', 'w');
      fs.writeSync(fd, last);
      fs.closeSync(fd);
    } else {
      for (let i = 0; i < renders; i++) {
        last = Mustache.render(template, data, partials);
        chars += last.length;
      }
    }
    seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
    bytes = Buffer.byteLength(last, 'utf8') * (list ? 1 : renders);
  }
  seconds.sort((a, b) => a - b);
  const peak = process.resourceUsage().maxRSS;
  console.log(`mustache.js ${mode} bytes=${bytes} renders=${renders} ` +
              `seconds=${seconds[Math.floor(runs / 2)].toFixed(6)} ` +
              `rss_data_kb=${rssData} rss_peak_kb=${peak}`);
}
