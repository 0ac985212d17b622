/**
 * Status numbers: the low byte says the state (with and without a description); 8.0 adds mask bits above it
 * (0x4000 description, 0x8000 friends only, 0x0100 graphic status).
 */
const NAMES = new Map<number, string>([
  [0x01, 'offline'],
  [0x15, 'offline'],
  [0x02, 'available'],
  [0x04, 'available'],
  [0x03, 'busy'],
  [0x05, 'busy'],
  [0x14, 'invisible'],
  [0x16, 'invisible'],
  [0x17, 'free-for-chat'],
  [0x18, 'free-for-chat'],
  [0x21, 'do-not-disturb'],
  [0x22, 'do-not-disturb'],
  [0x06, 'blocked'],
  [0x23, 'not-set'],
]);

export function statusName(status: number): string {
  return NAMES.get(status & 0xff) ?? `0x${(status & 0xff).toString(16)}`;
}

/** Offline with or without a description: the client is going away. */
export function isOffline(status: number): boolean {
  const base = status & 0xff;
  return base === 0x01 || base === 0x15;
}
