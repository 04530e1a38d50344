/**
 * The largest price in minor units any product may have, and so the largest price a filter may ask for: catalog
 * (variant prices) and search (price filters) share it so that every price that can be set can be searched for.
 * Free of Worker types so Node tools and tests can use it.
 */
export const MAX_PRICE = 100_000_000;
