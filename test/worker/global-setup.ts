import net from "node:net";
import { loadStackConfig } from "../../dev/config";

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      s.end();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

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
  for (const [name, port] of needed) if (!(await listening(port))) down.push(`${name} on 127.0.0.1:${port}`);
  if (down.length > 0) {
    throw new Error(`The local stack is not running (${down.join(", ")}). Run \`npm test\`, which starts it, or \`npm run dev\` in another terminal.`);
  }
}
