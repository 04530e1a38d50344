/** The storefront home: featured books, the most read and best rated, and the category tree. */
import type { CategoryNode } from "../catalog";
import type { SearchHit } from "../search";
import { Shelf } from "./book-card";
import { Layout } from "./layout";
import { categoryHref } from "./links";

export interface HomeData {
  featured: readonly SearchHit[];
  mostRead: readonly SearchHit[];
  bestRated: readonly SearchHit[];
  categories: readonly CategoryNode[];
}

function CategoryTree({ nodes }: { nodes: readonly CategoryNode[] }) {
  return (
    <ul>
      {nodes.map((n) => (
        <li>
          <a href={categoryHref(n.slug)}>{n.name}</a> <span class="muted">({n.product_count})</span>
          {n.children.length > 0 ? <CategoryTree nodes={n.children} /> : null}
        </li>
      ))}
    </ul>
  );
}

/** The home page. */
export function HomePage({ data }: { data: HomeData }) {
  return (
    <Layout title="NexusBooks" nav={data.categories}>
      <h1 class="visually-hidden">NexusBooks</h1>
      <Shelf id="featured" title="Featured" hits={data.featured} />
      <Shelf id="most-read" title="Most read" hits={data.mostRead} />
      <Shelf id="best-rated" title="Best rated" hits={data.bestRated} />
      <section class="category-tree" aria-labelledby="categories">
        <h2 id="categories">Browse by category</h2>
        <CategoryTree nodes={data.categories} />
      </section>
    </Layout>
  );
}
