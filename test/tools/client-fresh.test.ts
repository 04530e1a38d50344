/** The committed typed client must be what the current route declarations generate (`npm run client:generate`). */
import { readFile } from "node:fs/promises";
import { expect, it } from "vitest";
import { CLIENT_TYPES_PATH, generateClientTypes } from "../../tools/client-generate";

it("client/openapi.d.ts is up to date with the routes", async () => {
  const committed = await readFile(CLIENT_TYPES_PATH, "utf8");
  const fresh = await generateClientTypes();
  // A stale file fails here: regenerate with `npm run client:generate` and commit it.
  expect(committed === fresh, "client/openapi.d.ts is stale: run `npm run client:generate`").toBe(true);
});
