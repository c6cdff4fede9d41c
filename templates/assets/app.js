/* trendsite default theme: instant search on every page and the filters
   of the front page. Only an enhancement: without JavaScript every page,
   card and link is already in the HTML, and the controls stay hidden. */
(() => {
  'use strict';
  const $ = (sel, el = document) => el.querySelector(sel);
  const fold = (s) => (s || '').normalize('NFKC').toLowerCase();
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  };

  /* ---- filters: region and category, on the cards of the front page ---- */
  const filters = $('[data-filters]');
  const cards = filters ? Array.from(document.querySelectorAll('[data-cards] > li')) : [];
  function applyFilters() {
    const region = filters.region.value;
    const category = filters.category ? filters.category.value : '';
    let shown = 0;
    for (const card of cards) {
      const ok = (!region || card.dataset.regions.split(' ').includes(region)) &&
        (!category || card.dataset.category === category);
      card.hidden = !ok;
      shown += ok;
    }
    const note = $('.filter-note', filters);
    note.textContent = '';
    if (!region && !category) return;
    note.append(shown === cards.length ? 'All ' + shown + ' videos match.'
      : shown + ' of the top ' + cards.length + ' videos match.');
    const opt = filters.region.selectedOptions[0];
    if (region && opt.dataset.url) {
      const a = el('a', 'more', 'All ' + opt.dataset.count + ' trending in ' + opt.dataset.name);
      a.href = opt.dataset.url;
      note.append(' ', a);
    }
  }
  if (filters) {
    filters.hidden = false;
    filters.addEventListener('change', applyFilters);
    filters.addEventListener('submit', (e) => e.preventDefault());
    applyFilters(); // the browser may restore the selects on "back"
  }

  /* ---- search over api/search.json, loaded on first use ---- */
  const form = $('form.search');
  const results = $('#results');
  const content = $('#content');
  if (!form || !results || !content || !window.fetch) return;
  const input = form.q;
  const root = form.dataset.root || '';
  const SAFE_URL = /^(videos|stories)\/[A-Za-z0-9_-]+\.html$/;
  const LIMIT = 50;
  let index = null;
  let loading = null;

  function load() {
    if (!loading) {
      loading = fetch(form.dataset.index)
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status))))
        .then((doc) => {
          index = (doc.items || []).filter((i) => SAFE_URL.test(i.u)).map((i) => (
            { ...i, text: fold([i.t, i.a, i.c].join(' ')) }));
        })
        .catch(() => { index = null; loading = null; });
    }
    return loading;
  }

  function hit(item) {
    const li = el('li');
    const a = el('a', '', item.t);
    a.href = root + item.u;
    const meta = el('p', 'meta');
    const parts = [item.k ? 'Video' : 'Story', item.a, item.c,
      item.r && item.r.split(' ').join(', ')];
    for (const part of parts.filter(Boolean)) meta.append(el('span', '', part), ' ');
    li.append(a, meta);
    return li;
  }

  function search() {
    const words = fold(input.value).split(/\s+/).filter(Boolean);
    const list = $('.hits', results);
    const count = $('.results-count', results);
    if (!words.length) {
      results.hidden = true;
      content.hidden = false;
      list.textContent = '';
      return;
    }
    results.hidden = false;
    content.hidden = true;
    if (!index) {
      count.textContent = loading ? 'Loading…' : 'Search is not available right now.';
      return;
    }
    const found = index.filter((i) => words.every((w) => i.text.includes(w)));
    count.textContent = found.length === 0 ? 'Nothing matches “' + input.value.trim() + '”.'
      : found.length + (found.length === 1 ? ' match' : ' matches') +
        (found.length > LIMIT ? ', showing the first ' + LIMIT : '') + '.';
    list.replaceChildren(...found.slice(0, LIMIT).map(hit));
  }

  form.hidden = false;
  input.addEventListener('focus', load);
  input.addEventListener('input', () => { search(); load().then(search); });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && input.value) {
      input.value = '';
      search();
    }
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const first = $('.hits a', results);
    if (first) first.focus();
  });
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    if (e.key === '/' && !e.ctrlKey && !e.metaKey && !e.altKey &&
        !/^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName) && !t.isContentEditable) {
      e.preventDefault();
      input.focus();
    }
  });
  const q = new URLSearchParams(location.search).get('q');
  if (q) {
    input.value = q;
    load().then(search);
  }
})();
