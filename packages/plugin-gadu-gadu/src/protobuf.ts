/**
 * The little of Protocol Buffers the Gadu-Gadu 10.5+ packets need: a wire-format reader that keeps each field's
 * byte range (so one field can be replaced and the rest kept as it was) and a writer for the fields imspect
 * builds. Errors are values: a truncated or malformed message yields the fields read so far and a reason.
 */
export const WireType = { VARINT: 0, FIXED64: 1, BYTES: 2, FIXED32: 5 } as const;

export interface PbField {
  number: number;
  wire: number;
  /** Varint and fixed32 values (fixed64 and values over 2^53 are approximate). */
  value: number;
  /** Where the field starts (its key) and ends, and for BYTES where its value starts. */
  start: number;
  end: number;
  valueStart: number;
}

export interface PbMessage {
  fields: PbField[];
  error?: string;
}

function varint(bytes: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
  }
  return undefined;
}

export function decodeProtobuf(bytes: Uint8Array): PbMessage {
  const fields: PbField[] = [];
  let at = 0;
  while (at < bytes.length) {
    const key = varint(bytes, at);
    if (key === undefined) return { fields, error: `bad field key at ${at}` };
    const number = Math.floor(key.value / 8);
    const wire = key.value % 8;
    let next = key.next;
    let value = 0;
    let valueStart = next;
    switch (wire) {
      case WireType.VARINT: {
        const v = varint(bytes, next);
        if (v === undefined) return { fields, error: `bad varint in field ${number}` };
        value = v.value;
        next = v.next;
        break;
      }
      case WireType.FIXED64:
        if (next + 8 > bytes.length) return { fields, error: `truncated field ${number}` };
        value = (bytes[next]! | (bytes[next + 1]! << 8) | (bytes[next + 2]! << 16) | (bytes[next + 3]! << 24)) >>> 0;
        value += ((bytes[next + 4]! | (bytes[next + 5]! << 8) | (bytes[next + 6]! << 16) | (bytes[next + 7]! << 24)) >>> 0) * 2 ** 32;
        next += 8;
        break;
      case WireType.BYTES: {
        const n = varint(bytes, next);
        if (n === undefined || n.next + n.value > bytes.length) return { fields, error: `truncated field ${number}` };
        valueStart = n.next;
        value = n.value;
        next = n.next + n.value;
        break;
      }
      case WireType.FIXED32:
        if (next + 4 > bytes.length) return { fields, error: `truncated field ${number}` };
        value = (bytes[next]! | (bytes[next + 1]! << 8) | (bytes[next + 2]! << 16) | (bytes[next + 3]! << 24)) >>> 0;
        next += 4;
        break;
      default:
        return { fields, error: `unsupported wire type ${wire} in field ${number}` };
    }
    fields.push({ number, wire, value, start: at, end: next, valueStart });
    at = next;
  }
  return { fields };
}

/** The value bytes of the first BYTES field `number`. */
export function pbBytes(bytes: Uint8Array, message: PbMessage, number: number): Uint8Array | undefined {
  const field = message.fields.find((f) => f.number === number && f.wire === WireType.BYTES);
  return field === undefined ? undefined : bytes.subarray(field.valueStart, field.end);
}

export function pbNumber(message: PbMessage, number: number): number | undefined {
  return message.fields.find((f) => f.number === number && f.wire !== WireType.BYTES)?.value;
}

function varintBytes(value: number): number[] {
  const out: number[] = [];
  let v = Math.max(0, Math.floor(value));
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** One encoded field. */
export function pbField(number: number, value: number | Uint8Array, wire?: number): Uint8Array {
  if (value instanceof Uint8Array) return Uint8Array.from([...varintBytes(number * 8 + WireType.BYTES), ...varintBytes(value.length), ...value]);
  if (wire === WireType.FIXED32) {
    const v = value >>> 0;
    return Uint8Array.from([...varintBytes(number * 8 + WireType.FIXED32), v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);
  }
  return Uint8Array.from([...varintBytes(number * 8 + WireType.VARINT), ...varintBytes(value)]);
}

/**
 * A GG uin as protocol buffers carry it: a magic byte (0 or 1), the length, the decimal digits. Undefined when
 * it is not that shape.
 */
export function readPbUin(bytes: Uint8Array | undefined): string | undefined {
  if (bytes === undefined || bytes.length < 3 || bytes[1] !== bytes.length - 2 || bytes.length - 2 > 10) return undefined;
  let uin = '';
  for (const byte of bytes.subarray(2)) {
    if (byte < 0x30 || byte > 0x39) return undefined;
    uin += String.fromCharCode(byte);
  }
  return uin;
}

export function pbUin(uin: string): Uint8Array {
  const digits = uin.replace(/\D/g, '').slice(0, 10) || '0';
  return Uint8Array.from([0x00, digits.length, ...[...digits].map((c) => c.charCodeAt(0))]);
}
