/**
 * The framing contract every protocol parser shares: chunks go in as they arrive, items come out one at a time,
 * each a slice of the input in order. Whatever the chunking, every byte pushed comes out exactly once, from
 * `next` or `end`; nothing is thrown on input; bad input is an item (`too-large`, `skipped`), never an
 * exception. A framer does no I/O and holds at most one incomplete frame (bounded by its limit).
 *
 * Besides its own complete items (`line`, `frame`, `stanza`...), a framer hands out the shared ones below, so a
 * session treats oversized and unparseable bytes the same way whatever the protocol.
 */

/** What every item carries: its bytes, as they arrived (a view of a pushed chunk when they lay in one). */
export interface FramerItemBase {
  readonly kind: string;
  readonly raw: Uint8Array;
}

/**
 * The start of a frame longer than the framer's limit: its first bytes (a line's first `maxLineBytes`, a
 * length-prefixed frame's header). The rest of the frame follows as `rest` items, handed out as it arrives and
 * never buffered.
 */
export interface TooLargeItem {
  kind: 'too-large';
  raw: Uint8Array;
}

/** More of a frame that was too large; `complete` on the piece that ends it. */
export interface RestItem {
  kind: 'rest';
  raw: Uint8Array;
  complete: boolean;
}

/**
 * Bytes that are not a frame (garbage before the next recognisable frame start, or a stream that cannot be
 * framed at all), passed through unparsed. `first` marks the first piece of a run, so a session reports the run
 * once; `leading` marks bytes before the first frame of the stream (expected when a capture starts mid-way).
 */
export interface SkippedItem {
  kind: 'skipped';
  raw: Uint8Array;
  first: boolean;
  leading: boolean;
  /**
   * Why: the frame start did not match (`bad-magic`: the magic differs, or a framer's header check refused it)
   * or its length was impossible (`bad-length`).
   */
  reason: 'bad-magic' | 'bad-length';
}

/** A streaming framer for one direction of a connection. */
export interface Framer<Item extends FramerItemBase> {
  /** Appends a chunk. It is kept as a view (not copied); do not modify it afterwards. */
  push(chunk: Uint8Array): void;
  /** The next item, or undefined until more input is pushed. Call until undefined after each push. */
  next(): Item | undefined;
  /**
   * The stream ended (or changes protocol, e.g. to TLS): every byte held and not yet handed out, as one buffer
   * (undefined when none). The framer starts afresh.
   */
  end(): Uint8Array | undefined;
  /** Bytes held and not yet handed out (an incomplete frame). */
  readonly buffered: number;
}
