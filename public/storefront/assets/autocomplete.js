// The search box's autocomplete: an ARIA 1.2 combobox over GET /v1/search/suggest. Our own script (htmx is not
// installed): the form works without it, this only adds suggestions. Text goes in with textContent, never as HTML.
(() => {
  "use strict";
  const input = document.querySelector('input[role="combobox"][data-suggest-url]');
  if (!input) return;
  const listbox = document.getElementById(input.getAttribute("aria-controls"));
  const url = input.dataset.suggestUrl;
  const KIND = { title: "Book", author: "Author", series: "Series", subject: "Subject" };
  let items = [];
  let active = -1;
  let timer = 0;
  let seq = 0;

  const hrefFor = (s) =>
    s.kind === "title" && s.slug ? "/books/" + encodeURIComponent(s.slug)
    : s.kind === "author" && s.slug ? "/search?author=" + encodeURIComponent(s.slug)
    : s.kind === "subject" && s.slug ? "/search?q=" + encodeURIComponent(s.text)
    : "/search?q=" + encodeURIComponent(s.text);

  function close() {
    listbox.hidden = true;
    listbox.replaceChildren();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    items = [];
    active = -1;
  }

  function highlight(i) {
    active = i;
    [...listbox.children].forEach((li, j) => li.setAttribute("aria-selected", String(j === i)));
    if (i >= 0) input.setAttribute("aria-activedescendant", listbox.children[i].id);
    else input.removeAttribute("aria-activedescendant");
  }

  function show(suggestions) {
    items = suggestions;
    active = -1;
    if (items.length === 0) return close();
    listbox.replaceChildren(
      ...items.map((s, i) => {
        const li = document.createElement("li");
        li.id = listbox.id + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        const text = document.createElement("span");
        text.textContent = s.text;
        const kind = document.createElement("span");
        kind.className = "kind";
        kind.textContent = KIND[s.kind] || "";
        li.append(text, kind);
        // mousedown, not click: the input's blur would close the list before a click lands.
        li.addEventListener("mousedown", (e) => {
          e.preventDefault();
          location.assign(hrefFor(s));
        });
        return li;
      }),
    );
    listbox.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  async function fetchSuggestions(q) {
    const mine = ++seq;
    try {
      const res = await fetch(url + "?q=" + encodeURIComponent(q) + "&limit=8", { headers: { accept: "application/json" } });
      if (!res.ok || mine !== seq) return;
      const body = await res.json();
      if (mine === seq && input.value.trim() === q) show(body.data || []);
    } catch {
      // Suggestions are a convenience: the search still works.
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < 2) {
      seq++;
      return close();
    }
    timer = setTimeout(() => void fetchSuggestions(q), 150);
  });

  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (items.length === 0) return;
      e.preventDefault();
      const n = items.length;
      highlight(e.key === "ArrowDown" ? (active + 1) % n : active <= 0 ? n - 1 : active - 1);
    } else if (e.key === "Enter") {
      if (active >= 0 && items[active]) {
        e.preventDefault();
        location.assign(hrefFor(items[active]));
      } else close();
    } else if (e.key === "Escape") {
      if (!listbox.hidden) {
        e.preventDefault();
        close();
      }
    }
  });

  input.addEventListener("blur", () => close());
})();
