/**
 * Conversations written from the examples of the XMPP specifications (RFC 6120/6121 and the XEPs named on
 * each), wrapped in a client stream that logs in as romeo@montague.example/home.
 */
import { script, type Step } from './helpers.js';

export const STREAM_NS = "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'";

/** RFC 6120 9.1: TLS, SASL PLAIN, restart, bind. `tls: false` skips STARTTLS (a server that allows plaintext). */
export function login(options: { tls?: boolean } = {}): Step[] {
  const steps: Step[] = [];
  const open = script(
    ['>', `<?xml version='1.0'?>\n<stream:stream to='montague.example' ${STREAM_NS}>`],
    ['<', `<?xml version='1.0'?><stream:stream from='montague.example' id='t7AMCin9zjMNwQKDnplntZPIDEI=' ${STREAM_NS}>`],
  );
  steps.push(...open);
  if (options.tls !== false) {
    steps.push(
      ...script(
        ['<', "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>"],
        ['>', "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"],
        ['<', "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"],
        // Inside TLS (core decrypts): the client opens a new stream.
        ['>', `<stream:stream to='montague.example' ${STREAM_NS}>`],
        ['<', `<?xml version='1.0'?><stream:stream from='montague.example' id='gPybzaOzBmaADgxKXu9UClbprp0=' ${STREAM_NS}>`],
      ),
    );
  }
  steps.push(
    ...script(
      ['<', "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms></stream:features>"],
      // base64("\0romeo\0secret")
      ['>', "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AHJvbWVvAHNlY3JldA==</auth>"],
      ['<', "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"],
      ['>', `<stream:stream to='montague.example' ${STREAM_NS}>`],
      ['<', `<stream:stream from='montague.example' id='DD9Ej3n9L7k=' ${STREAM_NS}><stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>`],
      ['>', "<iq id='tn281v37' type='set'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>home</resource></bind></iq>"],
      ['<', "<iq id='tn281v37' type='result'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>romeo@montague.example/home</jid></bind></iq>"],
      ['>', '<presence/>'],
    ),
  );
  return steps;
}

export const LOGIN_EVENT = {
  direction: 'incoming' as const,
  type: 'login' as const,
  localId: 'romeo@montague.example',
  remoteId: 'montague.example',
  data: { jid: 'romeo@montague.example/home' },
};

/** The `<presence/>` that ends the login: the user's own status, online. */
export const INITIAL_PRESENCE = {
  direction: 'outgoing' as const,
  type: 'other' as const,
  subtype: 'status',
  localId: 'romeo@montague.example',
  remoteId: 'montague.example',
  data: { status: 'online', 'protocol-status': 'available' },
};

/** What the login transcript gives: the login, then the user's initial presence. */
export const LOGIN_EVENTS = [LOGIN_EVENT, INITIAL_PRESENCE];
/** How many events the login transcript gives, for tests that look at what follows it. */
export const AFTER_LOGIN = LOGIN_EVENTS.length;

export const romeo = 'romeo@montague.example';
export const juliet = 'juliet@capulet.example';
