/**
 * Stand-in for Neon's WebSocket proxy: a plain WebSocket ⇄ TCP pipe so `@neondatabase/serverless`
 * (Pool/Client over WebSockets) can reach the local PgBouncers exactly as it reaches Neon.
 *
 * The driver (1.2) opens `ws://` + wsProxy(host, port); with the string form of neonConfig.wsProxy it
 * appends `?address=host:port`, and our launcher uses the function form producing
 * `127.0.0.1:5480/v1?address=host:port`. So the target always arrives in the `address` query
 * parameter; the path is not significant. Only targets in `allowedTargets` are dialled, so this never
 * becomes an open TCP relay.
 *
 * Run directly: tsx dev/ws-proxy.ts --port 5480 --allow 127.0.0.1:6432,127.0.0.1:6433
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";
import type { RawData, WebSocket } from "ws";
import type { Duplex } from "node:stream";
import { loadStackConfig } from "./config.js";

export interface WsProxyOptions {
  port: number;
  host?: string;
  /** "host:port" pairs that may be dialled, e.g. "127.0.0.1:6432". Anything else gets 403. */
  allowedTargets: string[];
  /** Optional per-connection diagnostics (refusals, upstream errors). */
  log?: (msg: string) => void;
}

export interface WsProxy {
  port: number;
  close(): Promise<void>;
}

interface Target {
  host: string;
  port: number;
  /** Normalised "host:port" (IPv6 in brackets) used for the allow-list comparison. */
  key: string;
}

/** Above this much unsent WebSocket data we stop reading from Postgres until the client catches up. */
const WS_HIGH_WATER = 1024 * 1024;
const WS_LOW_WATER = 256 * 1024;

function parseTarget(address: string): Target | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address.trim());
  if (m === null) return null;
  const host = (m[1] ?? m[2] ?? "").toLowerCase();
  const port = Number(m[3]);
  if (host === "" || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host, port, key: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}` };
}

function toBuffers(data: RawData): Buffer[] {
  if (Array.isArray(data)) return data;
  if (data instanceof ArrayBuffer) return [Buffer.from(data)];
  return [data];
}

/** Answers a refused upgrade with a plain HTTP status; the WebSocket client sees "Unexpected server response". */
function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? "Error"}\r\n` +
      "Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  // Do not wait for the client to close its side.
  socket.once("finish", () => socket.destroy());
}

/**
 * Starts the proxy on `host` (default 127.0.0.1) and `port` (0 = pick a free one).
 * @returns the bound port and a close() that drops all tunnels and stops listening.
 */
export async function startWsProxy(opts: WsProxyOptions): Promise<WsProxy> {
  const allowed = new Set<string>();
  for (const t of opts.allowedTargets) {
    const parsed = parseTarget(t);
    if (parsed === null) throw new Error(`ws-proxy: allowed target ${JSON.stringify(t)} is not host:port`);
    allowed.add(parsed.key);
  }
  const log = opts.log ?? ((): void => undefined);
  const tunnels = new Set<{ ws: WebSocket; tcp: net.Socket }>();

  const server = http.createServer((_req, res) => {
    res.writeHead(426, { "Content-Type": "text/plain; charset=utf-8", Upgrade: "websocket" });
    res.end("ws-proxy: WebSocket upgrade required (?address=host:port)\n");
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });

  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    const url = new URL(req.url ?? "/", "http://ws-proxy.invalid");
    const address = url.searchParams.get("address");
    const target = address === null ? null : parseTarget(address);
    if (target === null) {
      log(`ws-proxy: refused ${req.url ?? ""}: missing or malformed address`);
      refuseUpgrade(socket, 400, "ws-proxy: expected ?address=host:port");
      return;
    }
    if (!allowed.has(target.key)) {
      log(`ws-proxy: refused ${target.key}: not in allowed targets`);
      refuseUpgrade(socket, 403, `ws-proxy: ${target.key} is not an allowed target`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => tunnel(ws, target));
  });

  function tunnel(ws: WebSocket, target: Target): void {
    const tcp = net.connect({ host: target.host, port: target.port });
    tcp.setNoDelay(true);
    const entry = { ws, tcp };
    tunnels.add(entry);

    // Client → Postgres. net.Socket queues writes made while still connecting, so the startup message
    // may arrive before the TCP handshake finishes.
    ws.on("message", (data: RawData) => {
      for (const chunk of toBuffers(data)) {
        if (!tcp.write(chunk)) ws.pause();
      }
    });
    tcp.on("drain", () => ws.resume());

    // Postgres → client, one binary message per chunk; pause the TCP side while ws lags behind.
    tcp.on("data", (chunk: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(chunk, { binary: true }, () => {
        if (tcp.isPaused() && ws.bufferedAmount < WS_LOW_WATER) tcp.resume();
      });
      if (ws.bufferedAmount > WS_HIGH_WATER) tcp.pause();
    });

    tcp.on("error", (err) => {
      log(`ws-proxy: ${target.key}: ${err.message}`);
      if (ws.readyState === ws.OPEN) ws.close(1011, "upstream error");
      else ws.terminate();
    });
    tcp.on("close", () => {
      tunnels.delete(entry);
      if (ws.readyState === ws.OPEN) ws.close(1000, "upstream closed");
    });

    ws.on("error", (err) => {
      log(`ws-proxy: client for ${target.key}: ${err.message}`);
      tcp.destroy();
    });
    ws.on("close", () => {
      tunnels.delete(entry);
      // end() lets queued bytes (e.g. the Terminate message) reach Postgres before FIN.
      tcp.end();
      setTimeout(() => tcp.destroy(), 5_000).unref();
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    port,
    close: () => {
      closing ??= (async () => {
        for (const { ws, tcp } of tunnels) {
          ws.terminate();
          tcp.destroy();
        }
        tunnels.clear();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}

/* ------------------------------------------------------------------------------------------------ */
/* CLI                                                                                              */
/* ------------------------------------------------------------------------------------------------ */

function parseArgs(argv: readonly string[]): { port: number; host: string; allow: string[] } {
  const cfg = loadStackConfig();
  const out = {
    port: cfg.wsProxyPort,
    host: "127.0.0.1",
    allow: [`127.0.0.1:${cfg.bouncerPrimaryPort}`, `127.0.0.1:${cfg.bouncerReplicaPort}`],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`ws-proxy: ${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--port": {
        const p = Number(value());
        if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error("ws-proxy: --port must be a TCP port");
        out.port = p;
        break;
      }
      case "--host":
        out.host = value();
        break;
      case "--allow":
        out.allow = value().split(",").map((s) => s.trim()).filter((s) => s !== "");
        break;
      default:
        throw new Error(`ws-proxy: unknown argument ${arg} (use --port N --host H --allow host:port,...)`);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const proxy = await startWsProxy({
    port: args.port,
    host: args.host,
    allowedTargets: args.allow,
    log: (msg) => process.stderr.write(`${msg}\n`),
  });
  process.stdout.write(`${JSON.stringify({ service: "ws-proxy", url: `ws://${args.host}:${proxy.port}/v1`, host: args.host, port: proxy.port, allowedTargets: args.allow })}\n`);
  const shutdown = (): void => {
    proxy.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return fs.realpathSync(path.resolve(entry)) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
