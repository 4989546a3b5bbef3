// Query suggestions while typing: fills the search box's <datalist> from
// /api/suggest. Debounced, and stale answers are dropped.
(function () {
  "use strict";
  const input = document.getElementById("q");
  const list = document.getElementById("suggestions");
  if (!input || !list || !window.fetch) return;
  let timer = null;
  let latest = 0;

  function show(words) {
    list.replaceChildren(...words.map((word) => {
      const option = document.createElement("option");
      option.value = word;
      return option;
    }));
  }

  async function update() {
    const text = input.value;
    const ticket = ++latest;
    if (!text.trim() || text.length > 100) { show([]); return; }
    try {
      const url = input.dataset.suggest + "?q=" + encodeURIComponent(text);
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok || ticket !== latest) return;
      const data = await response.json();
      if (ticket === latest) show(data.suggestions || []);
    } catch (error) {
      show([]);
    }
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(update, 150);
  });
})();
