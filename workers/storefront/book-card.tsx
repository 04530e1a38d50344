/** A book in a list (home shelves, results, "more by this author"): cover, title, authors, price, stock. */
import type { SearchHit } from "../search";
import { bookHref, formatMoney } from "./links";

/** One book as a list item (its title is an h3: lists sit under a page's h2 sections). */
export function BookCard({ hit }: { hit: SearchHit }) {
  return (
    <li class="book-card">
      <a class="cover-link" href={bookHref(hit.slug)} tabindex={-1} aria-hidden="true">
        <span class="cover">{hit.name.slice(0, 1)}</span>
      </a>
      <div class="book-info">
        <h3 class="book-title">
          <a href={bookHref(hit.slug)}>{hit.name}</a>
        </h3>
        {hit.series ? <p class="series">{hit.series}</p> : null}
        <p class="authors">{hit.authors.join(", ")}</p>
        <p class="price-line">
          <span class="price">from {formatMoney(hit.price.amount, hit.price.currency)}</span>
          <span class={hit.in_stock ? "stock in" : "stock out"}>{hit.in_stock ? "In stock" : "Out of stock"}</span>
        </p>
        {hit.rating.count > 0 ? (
          <p class="rating">
            {hit.rating.average.toFixed(2)} ★ <span class="muted">({hit.rating.count.toLocaleString("en-US")})</span>
          </p>
        ) : null}
      </div>
    </li>
  );
}

/** A list of books under a heading. */
export function Shelf({ id, title, hits }: { id: string; title: string; hits: readonly SearchHit[] }) {
  if (hits.length === 0) return null;
  return (
    <section class="shelf" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <ul class="book-grid">
        {hits.map((hit) => (
          <BookCard hit={hit} />
        ))}
      </ul>
    </section>
  );
}
