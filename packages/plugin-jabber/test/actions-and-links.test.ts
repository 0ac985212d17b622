/**
 * `/me` actions (XEP-0245) and files shared as a bare link (XEP-0363 HTTP upload without an XEP-0066 element).
 */
import { describe, expect, it } from 'vitest';
import { script, utf8 } from './helpers.js';
import { expectSplitInvariant } from './invariance.js';
import { AFTER_LOGIN, juliet, login, romeo } from './transcripts.js';

const intercept = { onUpgrade: (s: { tlsIntercepted(): void }) => s.tlsIntercepted() };

function run(...lines: Array<['>' | '<', string]>) {
  return expectSplitInvariant([...login(), ...script(...lines)], intercept);
}

describe('/me (XEP-0245)', () => {
  it('is a message of subtype action with the text after "/me ", as a CTCP ACTION on IRC', () => {
    const result = run(
      ['>', `<message to='${juliet}' type='chat'><body>/me waves</body></message>`],
      ['<', `<message from='${juliet}/balcony' type='chat'><body>/me sighs &amp; smiles</body></message>`],
      ['>', `<message to='${juliet}' type='chat'><body>/me</body></message>`],
      ['>', `<message to='${juliet}' type='chat'><body>/mean words</body></message>`],
    );
    expect(result.events.slice(AFTER_LOGIN)).toEqual([
      { direction: 'outgoing', type: 'message', subtype: 'action', localId: romeo, remoteId: juliet, text: 'waves' },
      { direction: 'incoming', type: 'message', subtype: 'action', localId: romeo, remoteId: juliet, text: 'sighs & smiles' },
      // Not actions: "/me" alone, and a word that merely starts with "/me".
      { direction: 'outgoing', type: 'message', localId: romeo, remoteId: juliet, text: '/me' },
      { direction: 'outgoing', type: 'message', localId: romeo, remoteId: juliet, text: '/mean words' },
    ]);
  });

  it('a rewritten action stays an action', () => {
    const stanza = `<message to='${juliet}' type='chat'><body>/me curses darn</body></message>`;
    const frame = run(['>', stanza])
      .rawFrames.filter((f) => f.frame.events?.length)
      .at(-1)!.frame;
    expect(utf8(frame.rewrite!('curses ****'))).toBe(stanza.replace('/me curses darn', '/me curses ****'));
  });
});

describe('files shared as a link (XEP-0363 without XEP-0066)', () => {
  const get = 'https://upload.montague.example/4a77/tr%C3%A8s%20cool.jpg';
  const slot = [
    ['>', "<iq id='up1' to='upload.montague.example' type='get'><request xmlns='urn:xmpp:http:upload:0' filename='très cool.jpg' size='23456' content-type='image/jpeg'/></iq>"],
    ['<', `<iq from='upload.montague.example' id='up1' to='${romeo}/home' type='result'><slot xmlns='urn:xmpp:http:upload:0'><put url='${get}'/><get url='${get}'/></slot></iq>`],
  ] as Array<['>' | '<', string]>;

  it('the slot request is a file event; the get URL alone in a body is the upload, with the name and size of the request', () => {
    const events = run(...slot, ['>', `<message to='${juliet}' type='chat'><body>${get}</body></message>`]).events.slice(AFTER_LOGIN);
    expect(events).toEqual([
      { direction: 'outgoing', type: 'file', subtype: 'http-upload-request', localId: romeo, remoteId: 'upload.montague.example', file: { name: 'très cool.jpg', size: 23456 } },
      {
        direction: 'outgoing',
        type: 'file',
        subtype: 'http-upload',
        localId: romeo,
        remoteId: juliet,
        text: get,
        file: { name: 'très cool.jpg', size: 23456 },
        data: { url: get },
      },
    ]);
  });

  it("an https link to a file alone in a body is a file (the other side's upload); other links and text are messages", () => {
    const shared = 'https://share.capulet.example/upload/9f/rose%20garden.png';
    const events = run(
      ['<', `<message from='${juliet}/balcony' type='chat'><body> ${shared}\n</body></message>`],
      ['<', `<message from='${juliet}/balcony' type='chat'><body>https://capulet.example/</body></message>`],
      ['<', `<message from='${juliet}/balcony' type='chat'><body>http://insecure.example/a.png</body></message>`],
      ['<', `<message from='${juliet}/balcony' type='chat'><body>see ${shared}</body></message>`],
    ).events.slice(AFTER_LOGIN);
    expect(events).toEqual([
      {
        direction: 'incoming',
        type: 'file',
        subtype: 'link',
        localId: romeo,
        remoteId: juliet,
        text: ` ${shared}\n`,
        file: { name: 'rose garden.png' },
        data: { url: shared },
      },
      { direction: 'incoming', type: 'message', localId: romeo, remoteId: juliet, text: 'https://capulet.example/' },
      { direction: 'incoming', type: 'message', localId: romeo, remoteId: juliet, text: 'http://insecure.example/a.png' },
      { direction: 'incoming', type: 'message', localId: romeo, remoteId: juliet, text: `see ${shared}` },
    ]);
  });
});
