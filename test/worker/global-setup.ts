import { loadStackConfig } from "../../dev/config";
import { isListening } from "../../dev/net";


/** Fails fast with a useful message when the local stack is not up (run `npm test`, not bare vitest). */
export default async function setup(): Promise<void> {
  const cfg = loadStackConfig();
  const needed: [string, number][] = [
    ["PgBouncer (primary)", cfg.bouncerPrimaryPort],
    ["PgBouncer (replica)", cfg.bouncerReplicaPort],
    ["Neon WebSocket proxy", cfg.wsProxyPort],
    ["Upstash REST proxy", cfg.upstashProxyPort],
  ];
  const down: string[] = [];
  for (const [name, port] of needed) if (!(await isListening(port))) down.push(`${name} on 127.0.0.1:${port}`);
  if (down.length > 0) {
    throw new Error(`The local stack is not running (${down.join(", ")}). Run \`npm test\`, which starts it, or \`npm run dev\` in another terminal.`);
  }
}
