/**
 * Finds the words of a list in a text, in one pass over the text whatever the list's size (an Aho-Corasick
 * automaton over UTF-16 code units of case-folded text). Words are plain strings: no character in them has a
 * special meaning. Time is linear in the text plus the matches reported (at most one per text position), so a
 * 1 MB message against a 100,000-word list stays bounded.
 */

/** How a word must sit in the text to count. */
export type MatchMode = 'word' | 'substring';

/** A found word, in the original text's UTF-16 offsets: `[start, end)`. */
export interface Occurrence {
  start: number;
  end: number;
}

export interface ScanResult {
  /** Occurrences not inside a longer one (`bad` inside `badword` counts once, as `badword`). */
  count: number;
  /** Every range covered by some occurrence, merged, in text order: what masking replaces. */
  ranges: Occurrence[];
}

const ROOT = 0;
const DOTLESS_CAPITAL_I_WITH_DOT = 0x130; // İ: the only character whose lower case is longer than itself
const FINAL_SIGMA = /ς/g;

/**
 * Case folding used on both sides: locale-independent lower case, final sigma as sigma (lower case depends on
 * the position in a word, folding must not).
 */
export function fold(text: string): string {
  return text.toLowerCase().replace(FINAL_SIGMA, 'σ');
}

export class WordMatcher {
  /** Children of the root, by code unit (-1: none): the busiest node gets a direct table. */
  private readonly rootNext = new Int32Array(65536).fill(-1);
  /** Children of node n are `targets[offsets[n] .. offsets[n + 1])`, sorted by `chars`. */
  private readonly offsets: Int32Array;
  private readonly chars: Uint16Array;
  private readonly targets: Int32Array;
  private readonly fail: Int32Array;
  /** Length (code units) of the word ending at the node, 0 when none. */
  private readonly wordLength: Int32Array;
  /** The nearest node on the fail chain (excluding itself) where a word ends, -1 when none. */
  private readonly dictLink: Int32Array;
  readonly size: number;

  constructor(
    words: Iterable<string>,
    readonly mode: MatchMode = 'word',
  ) {
    // Sorted words build the trie without lookups: each word shares a prefix path with the one before it,
    // and every node's children appear in code unit order.
    const sorted = [...new Set(Array.from(words, (w) => fold(w.normalize('NFC'))))].filter((w) => w.length > 0).sort();
    this.size = sorted.length;
    const parent: number[] = [-1];
    const unit: number[] = [0];
    const lengths: number[] = [0];
    const path: number[] = [0];
    let previous = '';
    for (const word of sorted) {
      let common = 0;
      const max = Math.min(word.length, previous.length);
      while (common < max && word.charCodeAt(common) === previous.charCodeAt(common)) common++;
      path.length = common + 1;
      for (let i = common; i < word.length; i++) {
        const node = lengths.length;
        parent.push(path[i]!);
        unit.push(word.charCodeAt(i));
        lengths.push(0);
        path.push(node);
      }
      lengths[path[word.length]!] = word.length;
      previous = word;
    }
    const nodes = lengths.length;
    this.wordLength = Int32Array.from(lengths);
    // Children in compressed rows, in creation order (which is code unit order per parent).
    this.offsets = new Int32Array(nodes + 1);
    for (let n = 1; n < nodes; n++) this.offsets[parent[n]! + 1]!++;
    for (let n = 0; n < nodes; n++) this.offsets[n + 1]! += this.offsets[n]!;
    this.chars = new Uint16Array(Math.max(nodes - 1, 0));
    this.targets = new Int32Array(Math.max(nodes - 1, 0));
    const fill = this.offsets.slice(0, nodes);
    for (let n = 1; n < nodes; n++) {
      const at = fill[parent[n]!]!++;
      this.chars[at] = unit[n]!;
      this.targets[at] = n;
      if (parent[n] === ROOT) this.rootNext[unit[n]!] = n;
    }
    this.fail = new Int32Array(nodes);
    this.dictLink = new Int32Array(nodes).fill(-1);
    // Breadth first: a node's fail link is known before its children's.
    const queue = new Int32Array(nodes);
    let head = 0;
    let tail = 0;
    for (let i = this.offsets[ROOT]!; i < this.offsets[ROOT + 1]!; i++) queue[tail++] = this.targets[i]!;
    while (head < tail) {
      const node = queue[head++]!;
      for (let i = this.offsets[node]!; i < this.offsets[node + 1]!; i++) {
        const child = this.targets[i]!;
        const c = this.chars[i]!;
        let f = this.fail[node]!;
        let target = this.step(f, c);
        while (target < 0 && f !== ROOT) {
          f = this.fail[f]!;
          target = this.step(f, c);
        }
        const failTo = target >= 0 ? target : ROOT;
        this.fail[child] = failTo;
        this.dictLink[child] = this.wordLength[failTo]! > 0 ? failTo : this.dictLink[failTo]!;
        queue[tail++] = child;
      }
    }
  }

  /** The child of `node` by code unit `c`, or -1. */
  private step(node: number, c: number): number {
    if (node === ROOT) return this.rootNext[c]!;
    let lo = this.offsets[node]!;
    let hi = this.offsets[node + 1]! - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.chars[mid]!;
      if (at === c) return this.targets[mid]!;
      if (at < c) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Occurrences of the list's words in `text`: their count and the merged ranges they cover. */
  scan(text: string): ScanResult {
    if (this.size === 0 || text.length === 0) return { count: 0, ranges: [] };
    const { folded, startOf, endOf } = foldWithMap(text);
    const n = folded.length;
    // starts[e] = start of the occurrence reported ending at e (the longest one that qualifies), or -1.
    let starts: Int32Array | undefined;
    let state = ROOT;
    for (let i = 0; i < n; i++) {
      const c = folded.charCodeAt(i);
      let target = this.step(state, c);
      while (target < 0 && state !== ROOT) {
        state = this.fail[state]!;
        target = this.step(state, c);
      }
      state = target < 0 ? ROOT : target;
      let node = this.wordLength[state]! > 0 ? state : this.dictLink[state]!;
      if (node < 0) continue;
      if (this.mode === 'word' && !boundaryAfter(folded, i)) continue;
      while (node >= 0) {
        const start = i + 1 - this.wordLength[node]!;
        if (this.mode === 'substring' || boundaryBefore(folded, start)) {
          starts ??= new Int32Array(n).fill(-1);
          starts[i] = start;
          break;
        }
        node = this.dictLink[node]!;
      }
    }
    if (!starts) return { count: 0, ranges: [] };
    return summarise(starts, startOf, endOf);
  }

  /** `text` with every character of every occurrence replaced by `replacement`; and the scan. */
  mask(text: string, replacement: string): ScanResult & { text: string } {
    const result = this.scan(text);
    if (result.ranges.length === 0) return { ...result, text };
    const parts: string[] = [];
    let at = 0;
    for (const range of result.ranges) {
      parts.push(text.slice(at, range.start));
      let characters = 0;
      for (let i = range.start; i < range.end; i++) {
        const unit = text.charCodeAt(i);
        // A surrogate pair is one character: one replacement.
        if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < range.end) i++;
        characters++;
      }
      parts.push(replacement.repeat(characters));
      at = range.end;
    }
    parts.push(text.slice(at));
    return { ...result, text: parts.join('') };
  }
}

interface FoldedText {
  folded: string;
  /** Original offset of each folded code unit's character start; undefined when folding kept offsets. */
  startOf?: Int32Array;
  /** Original offset just after each folded code unit's character; undefined when folding kept offsets. */
  endOf?: Int32Array;
}

function foldWithMap(text: string): FoldedText {
  if (text.indexOf(String.fromCharCode(DOTLESS_CAPITAL_I_WITH_DOT)) < 0) return { folded: fold(text) };
  // Lower case grows this text: fold character by character, remembering where each piece came from.
  const pieces: string[] = [];
  const startOf: number[] = [];
  const endOf: number[] = [];
  let offset = 0;
  for (const ch of text) {
    const lower = fold(ch);
    pieces.push(lower);
    for (let k = 0; k < lower.length; k++) {
      startOf.push(offset);
      endOf.push(offset + ch.length);
    }
    offset += ch.length;
  }
  return { folded: pieces.join(''), startOf: Int32Array.from(startOf), endOf: Int32Array.from(endOf) };
}

/**
 * Counts occurrences that no later-ending occurrence contains (scanning from the end, an occurrence is
 * contained exactly when some later one starts at or before it), and merges all of them into ranges.
 */
function summarise(starts: Int32Array, startOf: Int32Array | undefined, endOf: Int32Array | undefined): ScanResult {
  let count = 0;
  let minStart = Number.POSITIVE_INFINITY;
  for (let e = starts.length - 1; e >= 0; e--) {
    const s = starts[e]!;
    if (s < 0) continue;
    if (s < minStart) {
      count++;
      minStart = s;
    }
  }
  // Coverage by a difference array: +1 where an occurrence starts, -1 after it ends; covered where the sum > 0.
  const n = starts.length;
  const delta = new Int32Array(n + 1);
  for (let e = 0; e < n; e++) {
    const s = starts[e]!;
    if (s < 0) continue;
    delta[s]!++;
    delta[e + 1]!--;
  }
  const ranges: Occurrence[] = [];
  let depth = 0;
  let open = -1;
  for (let i = 0; i <= n; i++) {
    depth += delta[i]!;
    if (depth > 0 && open < 0) open = i;
    else if (depth === 0 && open >= 0) {
      ranges.push(toOriginal(open, i, startOf, endOf));
      open = -1;
    }
  }
  return { count, ranges };
}

function toOriginal(start: number, end: number, startOf: Int32Array | undefined, endOf: Int32Array | undefined): Occurrence {
  if (!startOf || !endOf) return { start, end };
  return { start: startOf[start]!, end: endOf[end - 1]! };
}

// --- word boundaries ---------------------------------------------------------------------------------------

const ASCII_WORD = /[A-Za-z0-9_]/;
const WORD_CHARACTER = /[\p{L}\p{N}\p{M}_]/u;
/** Scripts written without spaces between words: every position is a possible word boundary. */
const UNSPACED_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}\p{Script=Tibetan}]/u;

function spacedWordCharacter(ch: string): boolean {
  if (ch.length === 1 && ch.charCodeAt(0) < 0x80) return ASCII_WORD.test(ch);
  return WORD_CHARACTER.test(ch) && !UNSPACED_SCRIPT.test(ch);
}

function characterAt(text: string, i: number): string {
  const cp = text.codePointAt(i);
  return cp === undefined ? '' : String.fromCodePoint(cp);
}

function characterBefore(text: string, i: number): string {
  if (i <= 0) return '';
  const low = text.charCodeAt(i - 1);
  if (low >= 0xdc00 && low <= 0xdfff && i >= 2) return characterAt(text, i - 2);
  return characterAt(text, i - 1);
}

/** No word continues across this edge: one side is not a letter of a space-separated script. */
function isBoundary(outside: string, inside: string): boolean {
  return outside === '' || !spacedWordCharacter(outside) || !spacedWordCharacter(inside);
}

function boundaryBefore(text: string, start: number): boolean {
  return isBoundary(characterBefore(text, start), characterAt(text, start));
}

/** `last` is the offset of the occurrence's last code unit. */
function boundaryAfter(text: string, last: number): boolean {
  return isBoundary(characterAt(text, last + 1), characterBefore(text, last + 1));
}
