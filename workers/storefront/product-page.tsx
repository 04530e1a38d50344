/** A book's page: what it is, who wrote it, its formats with price and availability, and more by its author. */
import type { CategoryNode, ProductDetail } from "../catalog";
import type { SearchHit } from "../search";
import { Shelf } from "./book-card";
import { Layout } from "./layout";
import { authorHref, categoryHref, formatMoney, formatName } from "./links";
import { CsrfField } from "./cart-page";

export interface ProductPageData {
  product: ProductDetail;
  moreByAuthor: readonly SearchHit[];
  nav: readonly CategoryNode[];
  /** The browser's CSRF token, for the add-to-cart forms. */
  csrf: string;
  /** The cart's per-line cap, as the quantity field's maximum. */
  maxLineQty: number;
}

const AVAILABILITY = { in_stock: "In stock", low_stock: "Only a few left", out_of_stock: "Out of stock" } as const;

const text = (v: unknown): string | null => (typeof v === "string" && v.trim() !== "" ? v : null);

/** The product page. */
export function ProductPage({ data }: { data: ProductPageData }) {
  const p = data.product;
  const seriesAttr = text(p.attributes["series"]);
  // The seed often repeats the series as the subtitle: say it once.
  const series = seriesAttr && seriesAttr !== p.subtitle ? seriesAttr : null;
  const firstAuthor = p.authors[0];
  return (
    <Layout title={p.name} nav={data.nav}>
      <nav class="breadcrumbs" aria-label="Breadcrumb">
        <ol>
          <li>
            <a href="/">Home</a>
          </li>
          <li>
            <a href={categoryHref(p.category.slug)}>{p.category.name}</a>
          </li>
          <li aria-current="page">{p.name}</li>
        </ol>
      </nav>
      <article class="product">
        <div class="product-cover" aria-hidden="true">
          <span class="cover large">{p.name.slice(0, 1)}</span>
        </div>
        <div class="product-main">
          <h1>{p.name}</h1>
          {p.subtitle ? <p class="subtitle">{p.subtitle}</p> : null}
          {series ? <p class="series">Series: {series}</p> : null}
          {p.authors.length > 0 ? (
            <p class="authors">
              by{" "}
              {p.authors.map((a, i) => (
                <>
                  {i > 0 ? ", " : null}
                  <a href={authorHref(a.slug)}>{a.name}</a>
                  {a.role && a.role !== "author" ? <span class="muted"> ({a.role})</span> : null}
                </>
              ))}
            </p>
          ) : null}
          {p.rating.count > 0 ? (
            <p class="rating">
              Rated {p.rating.average.toFixed(2)} out of 5 <span class="muted">({p.rating.count.toLocaleString("en-US")} ratings)</span>
            </p>
          ) : null}
          <section class="formats" aria-labelledby="formats">
            <h2 id="formats">Formats</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Format</th>
                  <th scope="col">Price</th>
                  <th scope="col">Availability</th>
                  <th scope="col">
                    <span class="visually-hidden">Add to cart</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {p.variants.map((v) => {
                  const format = text(v.attributes["format"]);
                  const label = format ? formatName(format) : v.name;
                  const sellable = v.status === "active" && (v.availability !== "out_of_stock" || v.backorder);
                  return (
                    <tr class={`variant availability-${v.availability}`} data-sku={v.sku}>
                      <th scope="row">{label}</th>
                      <td class="price">{formatMoney(v.price.amount, v.price.currency)}</td>
                      <td class="availability">
                        {v.status === "active" ? AVAILABILITY[v.availability] : "Unavailable"}
                        {v.availability === "out_of_stock" && v.backorder ? <span class="muted"> (can be ordered)</span> : null}
                      </td>
                      <td>
                        {sellable ? (
                          <form class="add-to-cart" method="post" action="/cart/items">
                            <CsrfField token={data.csrf} />
                            <input type="hidden" name="sku" value={v.sku} />
                            <label for={`add-qty-${v.sku}`}>
                              Quantity<span class="visually-hidden"> of {label}</span>
                            </label>
                            <input id={`add-qty-${v.sku}`} name="quantity" type="number" inputmode="numeric" min={1} max={data.maxLineQty} step={1} value="1" required />
                            <button type="submit">
                              Add to cart<span class="visually-hidden">: {label}</span>
                            </button>
                          </form>
                        ) : null}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </section>
          {p.description ? (
            <section class="description" aria-labelledby="about">
              <h2 id="about">About this book</h2>
              {p.description.split(/\n{2,}/).map((para) => (
                <p>{para}</p>
              ))}
            </section>
          ) : null}
          <section class="details" aria-labelledby="details">
            <h2 id="details">Details</h2>
            <dl>
              {p.isbn13 ? (
                <>
                  <dt>ISBN-13</dt>
                  <dd>{p.isbn13}</dd>
                </>
              ) : null}
              {p.isbn10 ? (
                <>
                  <dt>ISBN-10</dt>
                  <dd>{p.isbn10}</dd>
                </>
              ) : null}
              {p.brand ? (
                <>
                  <dt>Publisher</dt>
                  <dd>{p.brand.name}</dd>
                </>
              ) : null}
              {p.published_year ? (
                <>
                  <dt>Published</dt>
                  <dd>{p.published_year}</dd>
                </>
              ) : null}
              {p.language ? (
                <>
                  <dt>Language</dt>
                  <dd>{p.language}</dd>
                </>
              ) : null}
            </dl>
          </section>
        </div>
      </article>
      {firstAuthor ? <Shelf id="more-by-author" title={`More by ${firstAuthor.name}`} hits={data.moreByAuthor} /> : null}
    </Layout>
  );
}
