import { fileURLToPath } from 'node:url';

/**
 * Captures the project recorded itself (loopback, against its own end-to-end servers): kept in the repository, so
 * the tests that need one real conversation run in a fresh clone too.
 */
export const OWN_CAPTURES = fileURLToPath(new URL('../captures/', import.meta.url));

/** ngircd-irc.pcap: two IRC clients on ngircd (port 16667): channel and private PRIVMSG, CTCP ACTION, a DCC SEND offer. */
export const NGIRCD_CAPTURE = fileURLToPath(new URL('../captures/ngircd-irc.pcap', import.meta.url));
