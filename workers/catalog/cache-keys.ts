/** Redis keys and TTLs of the catalog (seed 003): short for pages, longer for the category tree. */
export const TTL = {
  categoryTree: 600,
  productList: 120,
  productDetail: 300,
  isbn: 3600,
} as const;

export const keys = {
  categoryTree: "category_tree",
  productList: (category: string, page: string) => `product_list:${category}:${page}`,
  productDetail: (slug: string) => `product_detail:${slug}`,
  isbn: (isbn13: string) => `isbn:${isbn13}`,
  catalogVersion: "ver:catalog",
  productVersion: (slug: string) => `ver:product:${slug}`,
} as const;
