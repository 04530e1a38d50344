/**
 * The one layout of every storefront page: a header with the search box (an ARIA combobox that
 * /storefront/assets/autocomplete.js enhances; without the script it is a plain search form), the category nav and
 * a footer with the API's links. Hono JSX escapes every interpolated value; no page renders raw HTML.
 */
import type { Child } from "hono/jsx";
import type { CategoryNode } from "../catalog";
import { categoryHref } from "./links";

/** Where the storefront's own files are served (public/storefront/assets/). */
export const ASSETS_PATH = "/storefront/assets";

export interface LayoutProps {
  title: string;
  /** What the search box shows (the current search). */
  q?: string;
  /** Top-level categories for the nav. */
  nav: readonly CategoryNode[];
  children: Child;
}

/** The page around `children`. */
export function Layout({ title, q, nav, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title === "NexusBooks" ? title : `${title} · NexusBooks`}</title>
        <link rel="icon" type="image/svg+xml" href={`${ASSETS_PATH}/favicon.svg`} />
        <link rel="stylesheet" href={`${ASSETS_PATH}/storefront.css`} />
        <script src={`${ASSETS_PATH}/autocomplete.js`} defer></script>
      </head>
      <body>
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        <header class="site-header">
          <div class="bar">
            <a class="brand" href="/">
              NexusBooks
            </a>
            <form class="search-box" role="search" action="/search" method="get">
              <label class="visually-hidden" for="site-search">
                Search books
              </label>
              <div class="combo">
                <input
                  id="site-search"
                  name="q"
                  type="text"
                  value={q ?? ""}
                  placeholder="Titles, authors, series, ISBN"
                  autocomplete="off"
                  maxlength={200}
                  role="combobox"
                  aria-autocomplete="list"
                  aria-expanded="false"
                  aria-controls="site-search-listbox"
                  data-suggest-url="/v1/search/suggest"
                />
                <ul id="site-search-listbox" class="suggestions" role="listbox" aria-label="Suggestions" hidden></ul>
              </div>
              <button type="submit">Search</button>
            </form>
          </div>
          <nav class="site-nav" aria-label="Categories">
            <ul>
              <li>
                <a href="/search">All books</a>
              </li>
              {nav.map((c) => (
                <li>
                  <a href={categoryHref(c.slug)}>{c.name}</a>
                </li>
              ))}
            </ul>
          </nav>
        </header>
        <main id="main" tabindex={-1}>
          {children}
        </main>
        <footer class="site-footer">
          <nav aria-label="Resources">
            <ul>
              <li>
                <a href="/docs">API reference</a>
              </li>
              <li>
                <a href="/openapi.json">OpenAPI 3.1 document</a>
              </li>
              <li>
                <a href="/readyz">Readiness</a>
              </li>
            </ul>
          </nav>
          <p>NexusBooks, an online bookstore.</p>
        </footer>
      </body>
    </html>
  );
}
