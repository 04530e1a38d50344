/**
 * A second token the local Upstash proxy accepts, for tests that run the Worker as staging or production: there the
 * local token is refused as an example secret, but Redis must still answer (limits fail closed without it).
 */
export const DEPLOYED_SHAPE_UPSTASH_TOKEN = "nb-deployed-shape-8f3c2a91d7e64b05";
