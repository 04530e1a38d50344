// The order page's status while its payment is being confirmed: fetches the page again (our own origin) every
// 1.5 s, at most 40 times, and swaps in the new status; when it settles, reloads once for the whole settled page.
(() => {
  "use strict";
  const status = document.getElementById("order-status");
  if (!status || status.dataset.pending !== "true") return;
  let tries = 0;
  const poll = async () => {
    tries += 1;
    try {
      const res = await fetch(location.href, { headers: { Accept: "text/html" }, cache: "no-store" });
      if (res.ok) {
        const doc = new DOMParser().parseFromString(await res.text(), "text/html");
        const next = doc.getElementById("order-status");
        if (next) {
          status.replaceChildren(...next.childNodes);
          status.className = next.className;
          if (next.dataset.pending !== "true") {
            delete status.dataset.pending;
            return;
          }
        }
      }
    } catch {
      // A dropped poll is retried on the next tick.
    }
    if (tries < 40) setTimeout(poll, 1500);
  };
  setTimeout(poll, 1500);
})();
