import type { Direction, Endpoint, EventDraft, ImEvent, ServerEndpoint } from './event.js';

/**
 * A problem a protocol parser found in its input. Returned as a value on the frame, never thrown: the bytes
 * are forwarded anyway and core logs the error with the connection it happened on.
 */
export interface ProtocolError {
  /** Stable, machine-readable: `frame-too-large`, `malformed-line`, `bad-length`, ... */
  code: string;
  message: string;
}

/**
 * One unit of a protocol stream: a line, a packet, a stanza, or a run of bytes the parser passes through.
 *
 * The concatenation of all frames' `raw`, in order, is exactly the input pushed so far minus the bytes the
 * parser still holds for an incomplete frame. Core forwards `raw` unchanged unless policy rewrites or blocks
 * the frame.
 */
export interface Frame {
  /** The bytes as they arrived. May be a view into the pushed chunk: valid until the next push. */
  raw: Uint8Array;
  /** Events this frame carries (0..n). */
  events?: EventDraft[];
  /**
   * Re-encodes this frame with new text for its message event (lengths and escapes fixed up).
   * Absent when the frame cannot be rewritten.
   */
  rewrite?(text: string): Uint8Array;
  /**
   * Bytes that tell the sender of this frame that it was refused, written back to the sender when policy blocks
   * the frame: e.g. an XMPP `<iq type='error'>` for a blocked file offer, so the client's request ends at once
   * instead of waiting for its own timeout. Absent when the protocol has no such answer (the blocked reply text,
   * `ProtocolSession.respond`, is sent either way).
   */
  refusal?(): Uint8Array | undefined;
  /** A parse problem with this frame. The frame is still forwarded as it is. */
  error?: ProtocolError;
  /**
   * After this frame is forwarded, both directions switch to TLS (STARTTLS accepted). Core either
   * intercepts TLS (it calls the session's `tlsIntercepted()` and goes on pushing the decrypted bytes) or
   * passes the rest of the connection through untouched (it pushes nothing more). Bytes the parser got after
   * this frame are TLS records: return them as frames (or hold none), never parse them.
   */
  upgrade?: 'tls';
  /**
   * Bytes to forward instead of `raw`, decided by the protocol itself rather than by policy: e.g. a server
   * address rewritten to imspect's own in forward mode (MSN `XFR`/`RNG`). `raw` still counts as the bytes
   * consumed; `rewrite` and `respond` work as usual. Core reads it when it forwards the frame, after policy has
   * decided on every frame before it (returned by the same or an earlier `push`), so a getter may assemble it
   * from what happened to those: an HTTP transport holds back the head of a message until its body's commands
   * are judged, then forwards the message with the blocked ones left out and its Content-Length fixed.
   */
  replacement?: Uint8Array;
  /**
   * The frame carries a secret (a password, however encoded; a password hash): core never shows its bytes, not
   * even in the debug log's frame preview.
   */
  secret?: boolean;
}

export interface SessionContext {
  client: Endpoint;
  server: ServerEndpoint;
  /** Largest frame the parser may buffer, in bytes. A longer frame is a `frame-too-large` protocol error. */
  maxFrameSize: number;
  /**
   * The stream is joined mid-way (a capture that missed the start of the connection): each direction may begin
   * inside a frame, and the login that names the users was not seen. The session must find the next whole frame
   * in each direction (the protocol's resynchronisation: a line end, a magic, a plausible header), pass the bytes
   * before it through as frames without events, and report what it reads from there on exactly as a session
   * that saw the start would, with ids it cannot know marked (see {@link IdentityMark}).
   */
  midstream?: boolean;
  /**
   * Who logged in from which client address, as far as imspect has seen (this connection's protocol): for a
   * session that joined mid-way, or a switchboard-like connection whose login happened on another connection.
   * Absent when core keeps no such directory (a plugin's own tests).
   */
  identity?: IdentityDirectory;
  /**
   * The address the client reached imspect at, when it came through a forward listener. Protocols whose
   * servers send clients elsewhere (MSN `XFR`, `RNG`) rewrite those addresses to this one, so the next
   * connection comes back through imspect too. Absent for SOCKS5 and transparent connections, where the
   * client's next connection is caught anyway.
   */
  listener?: ServerEndpoint;
  /**
   * The forward listener already sent the client the protocol's {@link ProtocolHooks.forwardGreeting}: the
   * server's own greeting must not reach the client a second time (forward it as a `replacement` of no bytes).
   */
  greeted?: boolean;
}

/**
 * How an event's ids were learned, in `data.identity` when not from the connection's own login: `inferred`
 * from other evidence (a message's sender, a participant list, another connection's login from the same client
 * address), `unknown` when nothing in the traffic told it (the id is then a placeholder such as
 * `*@192.0.2.7`, made by {@link unknownId}). Events with ids the session saw for itself carry no mark.
 */
export type IdentityMark = 'inferred' | 'unknown';

/** The placeholder id of a user nothing named: `*@` and the client's address. */
export function unknownId(clientIp: string): string {
  return `*@${clientIp}`;
}

/** An id that names nobody: empty, a protocol's `*` placeholder, or an {@link unknownId}. */
export function isUnknownId(id: string | undefined): boolean {
  return id === undefined || id === '' || id === '*' || id.startsWith('*@');
}

/** Core's record of logins, by protocol and client address (live: earlier logins; replay: the capture's). */
export interface IdentityDirectory {
  /** The id that last logged in with `protocol` from `clientIp` and has not logged out, if any. */
  localUser(clientIp: string, protocol: string): string | undefined;
}

/**
 * The answer of {@link ProtocolHooks.routeForward}: the real server for this client connection, `'more'` to
 * see more of the client's first bytes, or undefined for the forward listener's own upstream.
 */
export type ForwardRoute = ServerEndpoint | 'more' | undefined;

/**
 * The parser and encoder for one connection. It does no I/O, keeps no timers and never logs: bytes in,
 * frames out. `push` must give the same frames whatever the chunking of the input.
 */
export interface ProtocolSession {
  push(direction: Direction, chunk: Uint8Array): Frame[];
  /** The stream in `direction` ended. Returns whatever the parser still held, as pass-through frames. */
  end?(direction: Direction): Frame[];
  /**
   * `bytesMissing` bytes of `direction` were lost (a capture that dropped segments): the bytes pushed next
   * follow the hole. Returns whatever the parser held (a frame that can no longer complete) as pass-through
   * frames, and goes on as after a mid-stream start in that direction: the next push may begin inside a frame.
   * Absent: core pushes the bytes after the hole as if they followed on (the parser's own checks must cope).
   */
  gap?(direction: Direction, bytesMissing: number): Frame[];
  /**
   * Bytes to send to the local client so that it shows `text` (e.g. a NOTICE from the server), in the
   * context of `about` (the conversation it concerns). Undefined when the protocol cannot answer now.
   */
  respond?(text: string, about: ImEvent): Uint8Array | undefined;
  /**
   * For transports where the client takes bytes only as part of what the server sends (HTTP: one response per
   * request, so nothing can be written to the client between frames): takes `text` to deliver inside the next
   * server message the session forwards to that client (e.g. appended to the body of the next HTTP response of
   * the conversation), and says whether it will. Asked before `respond`; false falls back to `respond`.
   */
  respondLater?(text: string, about: ImEvent): boolean;
  /** The protected user's id once known (for status output). */
  readonly localId?: string | undefined;
  /**
   * Where this connection's ids are valid, for protocols whose ids are per network (IRC): core puts it on every
   * event of the connection whose draft names none (`ImEvent.network`).
   */
  readonly network?: string | undefined;
  /**
   * Which of the user's clients this connection is, when the protocol names it (XMPP: the bound resource;
   * MSN: the machine GUID). The monitoring notice is given once per client of a user; without it, the client's
   * address stands for the client.
   */
  readonly clientId?: string | undefined;
  /**
   * Core decrypts the TLS announced by an `upgrade` frame: every byte pushed from now on is the plain stream
   * inside TLS (for XMPP, a new stream). Absent or never called: nothing more is pushed after the upgrade.
   */
  tlsIntercepted?(): void;
  /**
   * The server name the client asked for inside the protocol (XMPP: the stream's `to` domain). When
   * intercepting STARTTLS, the real server's certificate is checked against it and imspect's certificate is
   * minted for it (else for the destination host).
   */
  readonly streamTo?: string | undefined;
}

export interface ProtocolHooks {
  /** Well-known server ports of the protocol (plain). */
  ports: number[];
  /** Ports where the protocol runs inside TLS from the first byte. */
  tlsPorts?: number[];
  /** Recognise the protocol from the first bytes seen in `direction`. */
  sniff?(firstBytes: Uint8Array, direction: Direction): boolean;
  /** Largest frame this protocol allows by default, in bytes (configurable per plugin). */
  maxFrameSize?: number;
  createSession(ctx: SessionContext): ProtocolSession;
  /**
   * For forward listeners serving this protocol: picks the real server of a new client connection from the
   * client's first bytes (e.g. an MSN switchboard cookie that an earlier session rewrote `XFR`/`RNG` for).
   * When present, the listener waits for the client's first bytes before connecting upstream, asking again
   * with more bytes while the answer is `'more'` (within the listener's handshake time and 4 KiB).
   */
  routeForward?(firstBytes: Uint8Array, client: Endpoint): ForwardRoute;
  /**
   * For protocols whose server speaks first (OSCAR's FLAP hello) and whose clients wait for it before sending
   * the bytes `routeForward` needs: what a routing forward listener sends the client as soon as it connects, in
   * the server's place. Sessions of such connections get `greeted` and drop the real server's greeting.
   */
  forwardGreeting?: Uint8Array;
  close?(): void | Promise<void>;
}
