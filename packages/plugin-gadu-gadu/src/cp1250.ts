/**
 * Windows-1250 (Central European), the code page of Gadu-Gadu's plain text before 8.0 and of the plain part of
 * 8.0 messages. Decoding uses the platform's decoder; encoding uses the table it implies, and writes `?` for a
 * character the code page does not have.
 */
const decoder = new TextDecoder('windows-1250');

/** Unicode code point -> byte, for the bytes 0x80..0xFF. */
const ENCODE = new Map<number, number>();
for (let byte = 0x80; byte <= 0xff; byte++) {
  const char = decoder.decode(Uint8Array.of(byte));
  const code = char.codePointAt(0)!;
  if (char !== '\ufffd' && !ENCODE.has(code)) ENCODE.set(code, byte);
}

export function decodeCp1250(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** The text in Windows-1250; characters outside it become `?`, and NUL (a terminator on the wire) a space. */
export function encodeCp1250(text: string): Uint8Array {
  const out: number[] = [];
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code === 0) out.push(0x20);
    else if (code < 0x80) out.push(code);
    else out.push(ENCODE.get(code) ?? 0x3f);
  }
  return Uint8Array.from(out);
}
