// The search page's enhancements; the page works without them.
//  - suggestions: completions of the last word in the box's <datalist> (/api/search's sibling /api/suggest);
//  - instant results: results update while typing, from /api/search, and the
//    address bar keeps a shareable URL of what is shown (history.replaceState);
//  - the Filters button of narrow screens opens the filters as a sheet;
//  - the document page's previous and next match buttons, and "3 of 12".
// The page's CSP allows no inline script: everything the script says comes
// translated from the page (data-script on #results) and is put in with textContent.
(function () {
  "use strict";
  const input = document.getElementById("q");
  if (!input || !window.fetch) return;

  function debounced(delay, work) {
    let timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(work, delay);
    };
  }

  // ------------------------------------------------------------ suggestions
  const list = document.getElementById("suggestions");
  let suggestTicket = 0;

  function showSuggestions(words) {
    list.replaceChildren(...words.map((word) => {
      const option = document.createElement("option");
      option.value = word;
      return option;
    }));
  }

  async function suggest() {
    const text = input.value;
    const ticket = ++suggestTicket;
    if (!text.trim() || text.length > 100) { showSuggestions([]); return; }
    try {
      const response = await fetch(input.dataset.suggest + "?q=" + encodeURIComponent(text),
                                   { headers: { Accept: "application/json" } });
      if (!response.ok || ticket !== suggestTicket) return;
      const data = await response.json();
      if (ticket === suggestTicket) showSuggestions(data.suggestions || []);
    } catch (error) {
      showSuggestions([]);
    }
  }
  if (list) input.addEventListener("input", debounced(150, suggest));

  // ------------------------------------------------------------ instant results
  const results = document.getElementById("results");
  const filters = document.getElementById("filters");
  if (!results) return;
  const ui = JSON.parse(results.dataset.script);
  const plurals = new Intl.PluralRules(ui.lang);
  const numbers = new Intl.NumberFormat(ui.lang, { numberingSystem: ui.numbering });
  const days = new Intl.DateTimeFormat(ui.lang, { dateStyle: "long", numberingSystem: ui.numbering, timeZone: "UTC" });
  const form = input.form;
  const FILTERS = ["lang", "source", "from", "to", "sort", "size", "fold"];
  let searchTicket = 0;
  let pending = null;

  // A translated message with its %(name)s fields filled: text, or nodes (a link, a <bdi>).
  function say(template, values) {
    const out = document.createDocumentFragment();
    template.split(/(%\([a-z_]+\)s)/).forEach((part) => {
      const field = /^%\(([a-z_]+)\)s$/.exec(part);
      const value = field ? values[field[1]] : part;
      out.append(value instanceof Node ? value : String(value === undefined ? part : value));
    });
    return out;
  }
  function plural(key, count, values) {
    const forms = ui.plurals[key];
    return say(forms[plurals.select(count)] || forms.other, Object.assign({ num: numbers.format(count) }, values));
  }
  function element(tag, text, attributes) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    Object.entries(attributes || {}).forEach(([name, value]) => node.setAttribute(name, value));
    return node;
  }
  function isolated(text) { return element("bdi", text); }
  function marked(html) {  // the API's HTML-escaped text with <mark>: parsed inertly, only text and <mark> kept
    const parsed = new DOMParser().parseFromString("<body>" + html, "text/html").body;
    const out = document.createDocumentFragment();
    parsed.childNodes.forEach((node) => {
      out.append(node.nodeName === "MARK" ? element("mark", node.textContent) : node.textContent);
    });
    return out;
  }
  function direction(lang) { return { ar: "rtl", en: "ltr" }[lang] || "auto"; }
  function langName(lang) { return ui.strings["lang_" + lang] || lang; }

  // The search as the form holds it (the box, and the filters in hidden fields: a facet may have several).
  // A change of null removes a parameter, an array gives it those values, anything else one value.
  function state(changes) {
    const params = new URLSearchParams();
    params.set("q", input.value.trim());
    FILTERS.forEach((name) => {
      form.querySelectorAll("input[type=hidden][name='" + name + "']").forEach((field) => {
        if (field.value) params.append(name, field.value);
      });
    });
    Object.entries(changes || {}).forEach(([name, value]) => {
      params.delete(name);
      [].concat(value === null || value === undefined ? [] : value).forEach((one) => {
        if (one !== "") params.append(name, one);
      });
    });
    return params;
  }
  function pageUrl(changes) { return "/?" + state(changes).toString(); }

  function renderSummary(data, searched) {
    document.getElementById("total").replaceChildren(plural("results_for", data.total, { query: isolated(searched) }));
    const took = data.took_ms < 1 ? say(ui.strings.took_under, { ms: numbers.format(1) })
      : say(ui.strings.took, { ms: numbers.format(Math.round(data.took_ms)) });
    document.getElementById("took").replaceChildren(took);
    const words = document.getElementById("words-held");
    const some = Boolean(data.total_all) && data.total_all < data.total;  // none with all: the count alone
    words.hidden = !some;
    words.replaceChildren(...(some ? [plural("with_all", data.total_all), " · ", plural("with_some", data.total)] : []));
    const folded = document.getElementById("folded");
    folded.hidden = !data.folded;
    folded.replaceChildren(...(data.folded ? [plural("folded", data.folded), " ",
      element("a", ui.strings.show_folded, { href: pageUrl({ page: null, fold: 0 }) })] : []));
    document.getElementById("live").textContent = document.getElementById("total").textContent;
  }

  function renderSearchedAs(data) {  // each word, the form searched for it, the forms it matched on this page
    const box = document.getElementById("searched-as");
    const words = data.searched_as || [];
    const join = (items) => isolated(items.join(ui.strings.separator));
    box.querySelector("ul").replaceChildren(...words.map((word) => {
      const item = element("li");
      item.append(isolated(word.word), " → ", join(word.searched), ": ", join(word.forms));
      return item;
    }));
    box.hidden = !words.length;
  }

  function renderNotices(data, query) {
    const notices = [];
    const notice = data.notice;
    if (notice && (notice.kind === "spelling" || notice.kind === "keyboard")) {
      const line = element("p", undefined, { class: "didyoumean", id: "corrected" });
      line.append(say(ui.strings.showing, { searched: isolated(notice.searched) }));
      if (notice.kind === "keyboard") line.append(" ", element("span", ui.strings.keyboard, { class: "muted" }));
      const original = element("a", notice.original, { dir: "auto", href: pageUrl({ verbatim: 1 }) });
      line.append(element("br"), say(ui.strings.instead, { original: original }));
      notices.push(line);
    } else if (notice && notice.kind === "plain_text") {
      const line = element("p", undefined, { class: "notice", id: "plain-text" });
      line.append(say(ui.strings.plain_text, { searched: isolated(notice.searched) }));
      notices.push(line);
    } else if (notice && notice.kind === "stop_words") {
      const line = element("p", undefined, { class: "notice", id: "stop-words" });
      line.append(plural("stop_words", notice.words.length, { words: isolated(notice.words.join(" ")) }));
      notices.push(line);
    }
    if ((data.also_searched || []).length) {  // names also searched in the other script
      const names = document.createDocumentFragment();
      data.also_searched.forEach((also, index) => {
        if (index) names.append(ui.strings.separator);
        names.append(say(ui.strings.also_for, { also: isolated(also.also.join(ui.strings.separator)), word: isolated(also.word) }));
      });
      const line = element("p", undefined, { class: "notice", id: "also-searched" });
      line.append(say(ui.strings.also_searched, { names: names }), " ",
        element("a", ui.strings.only_typed, { href: pageUrl({ verbatim: 1 }) }));
      notices.push(line);
    }
    if (data.suggestion) {
      const link = element("a", data.suggestion, { dir: "auto", href: pageUrl({ q: data.suggestion }) });
      const line = element("p", undefined, { class: "didyoumean", id: "suggestion" });
      line.append(say(ui.strings.did_you_mean, { suggestion: link }));
      notices.push(line);
    }
    if (!data.hits.length && !notice) {
      const block = document.getElementById("tpl-noresults").content.cloneNode(true);
      block.querySelector(".query").append(say(ui.strings.no_results, { query: isolated(query) }));
      notices.push(block);
    }
    document.getElementById("notices").replaceChildren(...notices);
  }

  function similarList(similar) {  // the near-duplicates folded under a hit, collapsed
    const box = element("details", undefined, { class: "similar" });
    const summary = element("summary");
    summary.append(plural("similar", similar.length));
    const list = element("ul");
    similar.forEach((other) => {
      const item = element("li");
      const href = "/doc/" + encodeURIComponent(other.id).replace(/%2F/g, "/") + "?" + state().toString();
      item.append(element("a", other.title, { dir: "auto", href: href }));
      if (other.source) {
        const source = element("span", undefined, { class: "source" });
        source.append(isolated(other.source));
        item.append(" ", source);
      }
      if (other.date) item.append(" ", element("time", days.format(new Date(other.date)), { datetime: other.date }));
      list.append(item);
    });
    box.append(summary, list);
    return box;
  }

  function renderHits(data) {
    const template = document.getElementById("tpl-hit");
    const hits = document.getElementById("hits");
    hits.setAttribute("start", "1");
    hits.replaceChildren(...data.hits.map((hit) => {
      const item = template.content.cloneNode(true);
      const heading = item.querySelector("h2");
      const snippet = item.querySelector(".snippet");
      [heading, snippet].forEach((node) => {
        node.lang = hit.lang === "ar" || hit.lang === "en" ? hit.lang : "";
        node.dir = direction(hit.lang);
      });
      const link = heading.querySelector("a");
      link.href = "/doc/" + encodeURIComponent(hit.id).replace(/%2F/g, "/") + "?" + state().toString();
      link.append(marked(hit.title_html));
      snippet.append(marked(hit.snippet));
      const meta = item.querySelector(".meta");
      meta.querySelector(".badge").textContent = langName(hit.lang);
      if (hit.source) meta.append(" ", element("span", undefined, { class: "source" }));
      if (hit.source) meta.lastChild.append(isolated(hit.source));
      if (hit.date) meta.append(" ", element("time", days.format(new Date(hit.date)), { datetime: hit.date }));
      if (hit.page) {
        meta.append(" ", element("a", undefined, { class: "hit-page", href: link.href + "#page-" + hit.page }));
        meta.lastChild.append(say(ui.strings.hit_page, { number: numbers.format(hit.page) }));
      }
      if (hit.ocr) meta.append(" ", element("span", ui.strings.scanned, { class: "badge ocr", title: ui.strings.scanned_note }));
      if (hit.similar && hit.similar.length) item.querySelector(".hit").append(similarList(hit.similar));
      return item;
    }));
  }

  // A facet with chosen values counts the search without them (wider[field]), as the server's page does:
  // the values one may add are listed with what they would add; the chosen ones keep their counts.
  function renderFacets(data, wider) {
    const template = document.getElementById("tpl-facet");
    ["lang", "source"].forEach((field) => {
      const list = document.querySelector("#facet-" + field + " ul");
      const all = list.querySelector("li");  // "All": what removing this field's values would give
      const chosen = state().getAll(field);
      const whole = wider[field] || data;
      all.querySelector(".count").textContent = numbers.format(whole.total);
      const counts = Object.assign({}, whole.facets[field] || {});
      chosen.forEach((value) => { if (!(value in counts)) counts[value] = 0; });
      const items = Object.entries(counts).map(([value, count]) => {
        const item = template.content.cloneNode(true);
        const link = item.querySelector("a");
        const toggled = chosen.includes(value) ? chosen.filter((one) => one !== value) : chosen.concat([value]);
        link.href = pageUrl({ [field]: toggled, page: null });
        link.dataset.facet = field;
        link.dataset.value = value;
        if (chosen.includes(value)) link.setAttribute("aria-current", "true");
        const label = item.querySelector(".label");
        if (field === "lang") label.textContent = langName(value); else label.append(isolated(value));
        item.querySelector(".count").textContent = numbers.format(count);
        return item;
      });
      list.replaceChildren(all, ...items);
    });
  }

  // The pager's pages as web/pages.py's page_numbers gives them: the first, the last and those within
  // two of the current one; null stands for pages left out ("…"), and a gap of one page shows that page.
  function pageNumbers(current, last) {
    const shown = new Set([1, last]);
    for (let page = Math.max(1, current - 2); page <= Math.min(last, current + 2); page++) shown.add(page);
    const found = [];
    let before = 0;
    Array.from(shown).sort((a, b) => a - b).forEach((page) => {
      if (page - before === 2) found.push(page - 1);
      else if (page - before > 2) found.push(null);
      found.push(page);
      before = page;
    });
    return found;
  }

  function renderPager(data) {
    const pager = document.getElementById("pager");
    const pages = Math.min(Number(pager.dataset.maxPage), Math.max(1, Math.ceil(data.total / data.size)));
    const current = data.page;
    const link = (page, text, attributes) =>
      element("a", text, Object.assign({ href: pageUrl({ page: page > 1 ? page : null }) }, attributes));
    const parts = [];
    if (pages > 1 && data.hits.length) {
      if (current > 1) parts.push(link(current - 1, ui.strings.previous, { rel: "prev", id: "previous-page" }));
      const list = element("ul");
      pageNumbers(current, pages).forEach((page) => {
        if (page === null) { list.append(element("li", "…", { class: "gap" })); return; }
        const label = page === current
          ? say(ui.strings.page_of, { page: numbers.format(page), pages: numbers.format(pages) })
          : say(ui.strings.page, { page: numbers.format(page) });
        const attributes = { "aria-label": label.textContent };
        if (page === current) attributes["aria-current"] = "page";
        list.append(element("li"));
        list.lastChild.append(link(page, numbers.format(page), attributes));
      });
      parts.push(list);
      if (current < pages) parts.push(link(current + 1, ui.strings.next, { rel: "next", id: "next-page" }));
    }
    pager.replaceChildren(...parts);
  }

  // Links and fields that carry the query (sorting, chips, the date form, the language switch);
  // the pager's links, drawn for this search, name their pages.
  function retarget(query) {
    document.querySelectorAll("#results a[href^='/?'], #results a[href^='/api/export?'], #filters a[href^='/?']").forEach((link) => {
      if (link.closest("#pager")) return;
      const url = new URL(link.href);
      url.searchParams.set("q", query);
      ["page", "verbatim"].forEach((name) => url.searchParams.delete(name));
      link.href = url.pathname + url.search;
    });
    document.querySelectorAll("#filters input[type=hidden][name=q]").forEach((field) => { field.value = query; });
    const switcher = document.getElementById("ui-switch");
    if (switcher) {
      const url = new URL(switcher.href);
      url.searchParams.set("next", location.pathname + location.search);
      switcher.href = url.pathname + url.search;
    }
  }

  function show(data, query, wider) {
    const searched = data.notice && data.notice.searched ? data.notice.searched : query;
    renderSummary(data, searched);
    renderSearchedAs(data);
    renderNotices(data, query);
    renderHits(data);
    renderFacets(data, wider);
    renderPager(data);
    const empty = document.getElementById("empty");
    if (empty) empty.hidden = true;
    results.hidden = false;
    if (filters) filters.hidden = false;
    results.closest(".page").classList.add("with-filters");
    history.replaceState(null, "", pageUrl({ page: null }));
    document.title = query + " · " + document.title.split(" · ").pop();
    retarget(query);
  }

  // For each facet with chosen values, the same search without them (what web/pages.py's _choices asks):
  // the query as the results searched it (a correction searched instead included), with the other filters.
  async function widerSearches(data, signal) {
    const wider = {};
    const searched = data.notice && data.notice.searched;
    await Promise.all(["lang", "source"].filter((field) => state().getAll(field).length).map(async (field) => {
      const changes = Object.assign({ [field]: null, page: null, size: 1 }, searched ? { q: searched, verbatim: 1 } : {});
      const response = await fetch(results.dataset.api + "?" + state(changes).toString(),
                                   { headers: { Accept: "application/json" }, signal: signal });
      if (response.ok) wider[field] = await response.json();
    }));
    return wider;
  }

  async function search() {
    const query = input.value.trim();
    const ticket = ++searchTicket;
    if (!query) return;
    if (pending) pending.abort();
    pending = new AbortController();
    const signal = pending.signal;
    try {
      // While typing, the last word may be unfinished: the API searches it as a prefix too.
      const typing = /\s$/.test(input.value) ? null : 1;
      const response = await fetch(results.dataset.api + "?" + state({ page: null, typing: typing }).toString(),
                                   { headers: { Accept: "application/json" }, signal: signal });
      if (!response.ok || ticket !== searchTicket) return;  // half-typed syntax ("abc): Enter shows why
      const data = await response.json();
      const wider = await widerSearches(data, signal);
      if (ticket === searchTicket) show(data, query, wider);
    } catch (error) {
      // aborted by a newer keystroke, or offline: the page stays as it was
    }
  }
  input.addEventListener("input", debounced(250, search));

  // ------------------------------------------------------------ the Filters button (narrow screens)
  const toggle = document.getElementById("filters-toggle");
  const close = document.getElementById("close-filters");
  if (!toggle || !filters || !close) return;
  toggle.setAttribute("role", "button");
  toggle.setAttribute("aria-expanded", "false");

  function openFilters(open) {
    filters.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
    if (open) {
      filters.setAttribute("tabindex", "-1");
      filters.focus();
    } else {
      toggle.focus();
    }
  }
  toggle.addEventListener("click", (event) => { event.preventDefault(); openFilters(true); });
  close.addEventListener("click", (event) => { event.preventDefault(); openFilters(false); });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && filters.classList.contains("open")) openFilters(false);
  });
})();

// The document page opened from a search: its matches are marked, numbered (m1, m2...) by the server,
// which also says how many there are and links to the first. Here: the page opens on the first match
// (or the one its address names), and previous and next buttons move between them, saying "3 of 12".
(function () {
  "use strict";
  const bar = document.getElementById("matches");
  const marks = Array.from(document.querySelectorAll(".body mark[id]"));
  if (!bar || !marks.length) return;
  const ui = JSON.parse(bar.dataset.script);
  const numbers = new Intl.NumberFormat(ui.lang, { numberingSystem: ui.numbering });
  const position = document.getElementById("match-position");
  let current = 0;

  function numbered(hash) {  // "#m3" -> 2, the index of the match it names, else -1
    const found = /^#m([0-9]+)$/.exec(hash);
    const number = found ? Number(found[1]) : 0;
    return number >= 1 && number <= marks.length ? number - 1 : -1;
  }
  function show(index, scroll) {
    marks[current].classList.remove("current");
    current = (index + marks.length) % marks.length;  // past the last comes the first, as in a browser's find
    marks[current].classList.add("current");
    position.textContent = ui.strings.match_of
      .replace("%(current)s", numbers.format(current + 1))
      .replace("%(total)s", numbers.format(marks.length));
    if (scroll) marks[current].scrollIntoView({ block: "start" });  // its scroll margin keeps it below the bars
  }
  function step(by) {
    show(current + by, true);
    history.replaceState(null, "", "#" + marks[current].id);  // a reload stays on this match
  }

  document.getElementById("match-steps").hidden = false;
  document.getElementById("previous-match").addEventListener("click", () => step(-1));
  document.getElementById("next-match").addEventListener("click", () => step(1));
  window.addEventListener("hashchange", () => {  // "First match", or any link to #mN: the browser scrolls
    if (numbered(location.hash) >= 0) show(numbered(location.hash), false);
  });
  const named = numbered(location.hash);
  const first = marks[0].getBoundingClientRect();
  show(Math.max(named, 0), named < 0 && (first.top < 0 || first.bottom > window.innerHeight));
})();
