/**
 * Search results and category pages: facets, sorts and pages as plain links (they work without JavaScript), and a
 * "no results" answer that suggests a corrected search and popular categories.
 */
import type { CategoryNode } from "../catalog";
import type { SearchBody, SearchSort } from "../search";
import { BookCard } from "./book-card";
import { Layout } from "./layout";
import { PRICE_BANDS, SORT_LABELS, browseHref, categoryHref, formatName, languageName, searchHref, slugWords, toggled } from "./links";
import type { BrowseState } from "./links";

export interface SearchPageData {
  /** `/search` or the category's URL: every link of the page stays on it. */
  base: string;
  heading: string;
  state: BrowseState;
  result: SearchBody;
  nav: readonly CategoryNode[];
  /** Offered when nothing matched. */
  popularCategories: readonly CategoryNode[];
  sorts: readonly SearchSort[];
}

function FacetLink({ href, active, label, count }: { href: string; active: boolean; label: string; count?: number }) {
  return (
    <li>
      <a href={href} class={active ? "facet active" : "facet"} aria-current={active ? "true" : undefined} rel="nofollow">
        <span class="check" aria-hidden="true">
          {active ? "☑" : "☐"}
        </span>{" "}
        {label}
        {count === undefined ? null : <span class="muted"> ({count})</span>}
      </a>
    </li>
  );
}

function Facets({ data }: { data: SearchPageData }) {
  const { base, state, result } = data;
  const authorNames = new Map<string, string>();
  for (const hit of result.data) hit.author_slugs.forEach((slug, i) => authorNames.set(slug, hit.authors[i] ?? slugWords(slug)));
  const groups: { id: string; title: string; items: { href: string; active: boolean; label: string; count?: number }[] }[] = [
    {
      id: "facet-format",
      title: "Format",
      items: (result.facets.format ?? []).map((f) => ({
        href: browseHref(base, state, { format: toggled(state.format, f.value) }),
        active: state.format.includes(f.value),
        label: formatName(f.value),
        count: f.count,
      })),
    },
    {
      id: "facet-language",
      title: "Language",
      items: (result.facets.language ?? []).map((f) => ({
        href: browseHref(base, state, { language: toggled(state.language, f.value) }),
        active: state.language.includes(f.value),
        label: languageName(f.value),
        count: f.count,
      })),
    },
    {
      id: "facet-author",
      title: "Author",
      items: (result.facets.author ?? []).slice(0, 10).map((f) => ({
        href: browseHref(base, state, { author: state.author === f.value ? undefined : f.value }),
        active: state.author === f.value,
        label: authorNames.get(f.value) ?? slugWords(f.value),
        count: f.count,
      })),
    },
    {
      id: "facet-stock",
      title: "Availability",
      items: [{ href: browseHref(base, state, { in_stock: state.in_stock ? undefined : true }), active: state.in_stock === true, label: "In stock" }],
    },
    {
      id: "facet-price",
      title: "Price",
      items: PRICE_BANDS.map((b) => {
        const active = state.price_min === b.min && state.price_max === b.max;
        return {
          href: browseHref(base, state, active ? { price_min: undefined, price_max: undefined } : { price_min: b.min, price_max: b.max }),
          active,
          label: b.label,
        };
      }),
    },
  ];
  return (
    <aside class="facets" aria-label="Filters">
      <h2 class="visually-hidden">Filters</h2>
      {groups
        .filter((g) => g.items.length > 0)
        .map((g) => (
          <section aria-labelledby={g.id}>
            <h3 id={g.id}>{g.title}</h3>
            <ul>
              {g.items.map((item) => (
                <FacetLink {...item} />
              ))}
            </ul>
          </section>
        ))}
    </aside>
  );
}

function Sorts({ data }: { data: SearchPageData }) {
  const current = data.result.query.sort;
  return (
    <nav class="sorts" aria-label="Sort by">
      <span class="muted">Sort:</span>
      <ul>
        {data.sorts.map((s) => (
          <li>
            {s === current ? (
              <span aria-current="true" class="current">
                {SORT_LABELS[s]}
              </span>
            ) : (
              <a href={browseHref(data.base, data.state, { sort: s })} rel="nofollow">
                {SORT_LABELS[s]}
              </a>
            )}
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** Page numbers around the current one, with the first and last (gaps shown as …). */
function pageWindow(page: number, total: number): (number | null)[] {
  const wanted = new Set([1, total, page - 2, page - 1, page, page + 1, page + 2].filter((p) => p >= 1 && p <= total));
  const pages = [...wanted].sort((a, b) => a - b);
  const out: (number | null)[] = [];
  pages.forEach((p, i) => {
    const prev = pages[i - 1];
    if (prev !== undefined && p - prev > 1) out.push(null);
    out.push(p);
  });
  return out;
}

function Pagination({ data }: { data: SearchPageData }) {
  const { page, total_pages: total } = data.result.page;
  // Pages past MAX_RESULT_DEPTH are refused by the API; the last reachable one is what the links offer.
  const last = Math.min(total, Math.floor(1000 / data.result.page.limit));
  if (last <= 1) return null;
  const href = (p: number) => browseHref(data.base, data.state, { page: p });
  return (
    <nav class="pagination" aria-label="Pages">
      <ul>
        <li>{page > 1 ? <a href={href(page - 1)} rel="prev">Previous</a> : <span class="disabled">Previous</span>}</li>
        {pageWindow(page, last).map((p) => (
          <li>
            {p === null ? (
              <span class="gap">…</span>
            ) : p === page ? (
              <span aria-current="page" class="current">
                {p}
              </span>
            ) : (
              <a href={href(p)} aria-label={`Page ${p}`}>
                {p}
              </a>
            )}
          </li>
        ))}
        <li>{page < last ? <a href={href(page + 1)} rel="next">Next</a> : <span class="disabled">Next</span>}</li>
      </ul>
    </nav>
  );
}

function NoResults({ data }: { data: SearchPageData }) {
  const dym = data.result.query.did_you_mean;
  const filtered = browseHref(data.base, { q: data.state.q, format: [], language: [], page: 1 });
  return (
    <div class="no-results">
      <p>No books match{data.state.q ? <> “{data.state.q}”</> : null}.</p>
      {dym ? (
        <p>
          Did you mean <a href={searchHref(dym)}>{dym}</a>?
        </p>
      ) : null}
      {filtered !== browseHref(data.base, data.state) ? (
        <p>
          <a href={filtered}>Search again without the filters</a>
        </p>
      ) : null}
      {data.popularCategories.length > 0 ? (
        <section aria-labelledby="popular-categories">
          <h2 id="popular-categories">Popular categories</h2>
          <ul class="chips">
            {data.popularCategories.map((c) => (
              <li>
                <a href={categoryHref(c.slug)}>{c.name}</a>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}

/** A results page (search or category). */
export function SearchPage({ data }: { data: SearchPageData }) {
  const { result } = data;
  const found = result.page.found;
  return (
    <Layout title={data.heading} q={data.state.q} nav={data.nav}>
      <div class="results-head">
        <h1>{data.heading}</h1>
        <p class="muted" role="status">
          {found === 1 ? "1 book" : `${found.toLocaleString("en-US")} books`}
        </p>
        {found > 0 && result.query.did_you_mean ? (
          <p>
            Showing results for <strong>{result.query.did_you_mean}</strong>.
          </p>
        ) : null}
      </div>
      <div class="results-layout">
        <Facets data={data} />
        <div class="results">
          {found === 0 ? (
            <NoResults data={data} />
          ) : (
            <>
              <Sorts data={data} />
              <ul class="book-list">
                {result.data.map((hit) => (
                  <BookCard hit={hit} />
                ))}
              </ul>
              <Pagination data={data} />
            </>
          )}
        </div>
      </div>
    </Layout>
  );
}
