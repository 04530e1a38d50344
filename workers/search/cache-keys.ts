/** Redis keys and TTLs of search: result pages and suggestions live briefly and die with the index version. */
export const TTL = {
  results: 60,
  suggest: 60,
} as const;

export const keys = {
  searchVersion: "ver:search",
  results: (hash: string) => `search:${hash}`,
  suggest: (hash: string) => `search_suggest:${hash}`,
} as const;
