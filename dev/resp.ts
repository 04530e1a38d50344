/**
 * A minimal RESP2 client for the local stack's tools (the Upstash REST stand-in in particular).
 *
 * Replies are returned raw, exactly as Redis typed them, because the caller has to re-encode them for another
 * protocol and must be able to tell a status reply from a bulk string, and an error from a value:
 * simple string → {type:'status'}, error → {type:'error'}, integer → number, bulk → Buffer | null,
 * array → Reply[] | null.
 */
import net from "node:net";

/** A RESP simple-string reply such as `+OK` or `+PONG`. */
export interface StatusReply {
  type: "status";
  value: string;
}

/** A RESP error reply. Returned as a value, not thrown, so one failing command in a pipeline cannot hide the others. */
export interface ErrorReply {
  type: "error";
  message: string;
}

/** Any RESP2 reply, unshaped. */
export type Reply = StatusReply | ErrorReply | number | Buffer | null | Reply[];

/** One command argument; Buffers go out byte for byte. */
export type RespArg = string | Buffer;

/** Thrown (as a rejection) when the connection to Redis cannot be made or is lost; never for a Redis error reply. */
export class RedisConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RedisConnectionError";
  }
}

/** True when the reply is a RESP simple string. */
export function isStatusReply(reply: Reply): reply is StatusReply {
  return typeof reply === "object" && reply !== null && !Array.isArray(reply) && !Buffer.isBuffer(reply) && reply.type === "status";
}

/** True when the reply is a RESP error. */
export function isErrorReply(reply: Reply): reply is ErrorReply {
  return typeof reply === "object" && reply !== null && !Array.isArray(reply) && !Buffer.isBuffer(reply) && reply.type === "error";
}

const CRLF = Buffer.from("\r\n");

/** Serialises one command as a RESP array of bulk strings (the only request form Redis is guaranteed to accept). */
export function encodeCommand(args: readonly RespArg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === "string" ? Buffer.from(arg, "utf8") : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

interface ArrayFrame {
  items: Reply[];
  remaining: number;
}

/**
 * Incremental RESP2 parser. Feed it socket chunks; it calls `onReply` once per complete top-level reply.
 *
 * Nested arrays are built on an explicit stack so a reply split across many chunks is never re-parsed from its
 * start (a 100k-element LRANGE would otherwise go quadratic), and a large bulk string is only concatenated once,
 * when all of its bytes have arrived.
 */
export class RespParser {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes needed before parsing can make progress; lets a big bulk string arrive without repeated concats. */
  private needed = 0;
  private stack: ArrayFrame[] = [];

  constructor(private readonly onReply: (reply: Reply) => void) {}

  /** Consumes one chunk. Throws on a protocol violation; the connection is unusable afterwards. */
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.needed) return;
    const buf = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    this.needed = 0;
    let offset = 0;
    for (;;) {
      const step = this.parseScalar(buf, offset);
      if (step === null) break;
      offset = step.next;
      if (step.arrayLength !== undefined) {
        if (step.arrayLength === 0) this.emit([]);
        else this.stack.push({ items: [], remaining: step.arrayLength });
        continue;
      }
      this.emit(step.value);
    }
    if (offset < buf.length) {
      const rest = buf.subarray(offset);
      this.chunks.push(rest);
      this.buffered = rest.length;
    }
  }

  /** Attaches a finished value to the innermost open array, closing arrays that become full. */
  private emit(value: Reply): void {
    let current = value;
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (top === undefined) {
        this.onReply(current);
        return;
      }
      top.items.push(current);
      top.remaining -= 1;
      if (top.remaining > 0) return;
      this.stack.pop();
      current = top.items;
    }
  }

  /**
   * Parses one element header (and, for scalars, its payload) at `offset`.
   * Returns null when more bytes are needed; `arrayLength` is set when the element opens a non-null array.
   */
  private parseScalar(buf: Buffer, offset: number): { next: number; value: Reply; arrayLength?: number } | null {
    if (offset >= buf.length) return null;
    const lineEnd = buf.indexOf(CRLF, offset);
    if (lineEnd === -1) return null;
    const prefix = buf[offset];
    const line = buf.toString("utf8", offset + 1, lineEnd);
    const next = lineEnd + 2;
    switch (prefix) {
      case 0x2b: // '+'
        return { next, value: { type: "status", value: line } };
      case 0x2d: // '-'
        return { next, value: { type: "error", message: line } };
      case 0x3a: // ':'
        return { next, value: parseInteger(line) };
      case 0x24: {
        // '$'
        const length = parseInteger(line);
        if (length === -1) return { next, value: null };
        if (length < 0) throw new Error(`RESP protocol error: bad bulk length ${line}`);
        const end = next + length;
        if (buf.length < end + 2) {
          // Wait until the whole payload is here; remember how much that is, counted from this element's start.
          this.needed = end + 2 - offset;
          return null;
        }
        return { next: end + 2, value: Buffer.from(buf.subarray(next, end)) };
      }
      case 0x2a: {
        // '*'
        const length = parseInteger(line);
        if (length === -1) return { next, value: null };
        if (length < 0) throw new Error(`RESP protocol error: bad array length ${line}`);
        return { next, value: null, arrayLength: length };
      }
      default:
        throw new Error(`RESP protocol error: unexpected type byte 0x${(prefix ?? 0).toString(16)}`);
    }
  }
}

function parseInteger(text: string): number {
  if (!/^-?\d+$/.test(text)) throw new Error(`RESP protocol error: bad integer ${JSON.stringify(text)}`);
  return Number(text);
}

/** Where Redis is and how long to wait for it. */
export interface RespConnectionOptions {
  host: string;
  port: number;
  /** Upper bound for the TCP connect; a black-holed host must fail fast rather than hang a request. Default 2000. */
  connectTimeoutMs?: number;
}

interface PendingBatch {
  count: number;
  replies: Reply[];
  resolve: (replies: Reply[]) => void;
  reject: (error: Error) => void;
}

/**
 * Opens a RESP socket: a connect timeout (only for the connect: blocking commands may stay silent for long), replies
 * parsed incrementally, and one close callback saying whether the socket had connected and why it ended.
 */
function openRespSocket(
  host: string,
  port: number,
  connectTimeoutMs: number,
  onReply: (reply: Reply) => void,
  onClose: (failure: Error | null, connected: boolean) => void,
): net.Socket {
  const socket = net.createConnection({ host, port });
  socket.setNoDelay(true);
  socket.setTimeout(connectTimeoutMs);
  let failure: Error | null = null;
  let connected = false;
  const parser = new RespParser(onReply);
  socket.on("connect", () => {
    connected = true;
    socket.setTimeout(0);
  });
  socket.on("timeout", () => socket.destroy(new Error(`connect timed out after ${connectTimeoutMs} ms`)));
  socket.on("data", (chunk: Buffer) => {
    try {
      parser.push(chunk);
    } catch (error) {
      socket.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  });
  socket.on("error", (error) => {
    failure = error;
  });
  socket.on("close", () => onClose(failure, connected));
  return socket;
}

/** The error for a socket that closed: lost after connecting, or never reachable. */
function connectionError(host: string, port: number, connected: boolean, reason: string, cause: Error | null): RedisConnectionError {
  const message = connected ? `Redis connection to ${host}:${port} was lost: ${reason}` : `Redis at ${host}:${port} is unreachable: ${reason}`;
  return new RedisConnectionError(message, { cause: cause ?? undefined });
}

/**
 * One pipelined connection. Commands are written as soon as they are sent (Node buffers them while connecting) and
 * replies are matched FIFO. A closed socket rejects everything in flight and the next send dials again.
 */
export class RespConnection {
  private socket: net.Socket | null = null;
  private pending: PendingBatch[] = [];
  private closed = false;
  private readonly connectTimeoutMs: number;

  constructor(private readonly options: RespConnectionOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 2000;
  }

  /** Number of commands written whose replies have not arrived yet. */
  get inFlight(): number {
    let n = 0;
    for (const batch of this.pending) n += batch.count - batch.replies.length;
    return n;
  }

  /** Sends one command and resolves with its raw reply (an error reply resolves, it does not reject). */
  async send(args: readonly RespArg[]): Promise<Reply> {
    const [reply] = await this.sendMany([args]);
    return reply as Reply;
  }

  /**
   * Sends several commands in a single socket write, so nothing another caller sends on this connection can land
   * between them (this is what makes MULTI … EXEC blocks safe on a shared connection).
   */
  sendMany(commands: readonly (readonly RespArg[])[]): Promise<Reply[]> {
    if (this.closed) return Promise.reject(new RedisConnectionError("Redis client is closed"));
    if (commands.length === 0) return Promise.resolve([]);
    const payload = Buffer.concat(commands.map((c) => encodeCommand(c)));
    return new Promise<Reply[]>((resolve, reject) => {
      const socket = this.socket ?? this.connect();
      this.pending.push({ count: commands.length, replies: [], resolve, reject });
      socket.write(payload);
    });
  }

  /** Closes the socket; commands still in flight reject. */
  async close(): Promise<void> {
    this.closed = true;
    const socket = this.socket;
    if (socket === null) return;
    await new Promise<void>((resolve) => {
      socket.once("close", () => {
        resolve();
      });
      socket.end();
      // A peer that never answers the FIN must not keep shutdown waiting.
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  private connect(): net.Socket {
    const { host, port } = this.options;
    const socket = openRespSocket(host, port, this.connectTimeoutMs, (reply) => this.onReply(reply), (failure, connected) => {
      if (this.socket === socket) this.socket = null;
      const batches = this.pending;
      this.pending = [];
      if (batches.length === 0) return;
      const error = connectionError(host, port, connected, failure?.message ?? "connection closed by peer", failure);
      for (const batch of batches) batch.reject(error);
    });
    this.socket = socket;
    return socket;
  }

  private onReply(reply: Reply): void {
    const head = this.pending[0];
    if (head === undefined) throw new Error("RESP protocol error: reply without a pending command");
    head.replies.push(reply);
    if (head.replies.length === head.count) {
      this.pending.shift();
      head.resolve(head.replies);
    }
  }
}

/** Options for a small round-robin pool. */
export interface RespClientOptions extends RespConnectionOptions {
  /** Connections in the pool. Default 4. */
  poolSize?: number;
}

/**
 * A pool of pipelined connections used round-robin. Ordering is only guaranteed within one `sendMany` call, which
 * always goes to a single connection.
 */
export class RespClient {
  private readonly connections: RespConnection[];
  private next = 0;
  private readonly isolated = new Set<RespConnection>();
  private closed = false;

  constructor(private readonly options: RespClientOptions) {
    const size = Math.max(1, options.poolSize ?? 4);
    this.connections = Array.from({ length: size }, () => new RespConnection(options));
  }

  /** Sends one command on the next pooled connection. */
  send(args: readonly RespArg[]): Promise<Reply> {
    return this.pick().send(args);
  }

  /** Sends commands back to back on one pooled connection, in one write; resolves with one reply per command. */
  sendMany(commands: readonly (readonly RespArg[])[]): Promise<Reply[]> {
    return this.pick().sendMany(commands);
  }

  /**
   * Runs commands on a fresh connection that is closed afterwards. For blocking commands (BLPOP, XREAD BLOCK …),
   * which would otherwise stall every caller queued behind them on a pooled connection.
   */
  async sendIsolated(commands: readonly (readonly RespArg[])[]): Promise<Reply[]> {
    if (this.closed) throw new RedisConnectionError("Redis client is closed");
    const connection = new RespConnection(this.options);
    this.isolated.add(connection);
    try {
      return await connection.sendMany(commands);
    } finally {
      this.isolated.delete(connection);
      await connection.close();
    }
  }

  /** Closes every connection; in-flight commands reject. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.connections, ...this.isolated].map((c) => c.close()));
  }

  private pick(): RespConnection {
    const connection = this.connections[this.next % this.connections.length] as RespConnection;
    this.next = (this.next + 1) % this.connections.length;
    return connection;
  }
}

/** A dedicated connection in subscriber mode (see {@link openSubscriber}). */
export interface Subscription {
  /** Resolves once the socket is closed. */
  close(): Promise<void>;
}

/**
 * Opens a dedicated connection, sends one (P)SUBSCRIBE-style command and hands every reply to `onReply` — in
 * subscriber mode Redis pushes messages unprompted, so FIFO matching does not apply. `onClose` runs once when the
 * connection ends for any reason, with the error if there was one.
 */
export function openSubscriber(
  options: RespConnectionOptions,
  command: readonly RespArg[],
  onReply: (reply: Reply) => void,
  onClose: (error: Error | null) => void,
): Subscription {
  const { host, port } = options;
  const connectTimeoutMs = options.connectTimeoutMs ?? 2000;
  const socket = openRespSocket(host, port, connectTimeoutMs, onReply, (failure, connected) => {
    onClose(failure === null ? null : connectionError(host, port, connected, failure.message, failure));
  });
  socket.write(encodeCommand(command));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.destroyed) {
          resolve();
          return;
        }
        socket.once("close", () => {
          resolve();
        });
        socket.destroy();
      }),
  };
}
