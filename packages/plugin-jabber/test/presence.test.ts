/**
 * Presence (RFC 6121 4): the user's broadcast presence, contacts' available and unavailable presence with
 * <show/> and <status/>, cut at every byte offset and in random chunks. Room occupants, subscriptions and the
 * user's own other devices are not contact presence.
 */
import { describe, expect, it } from 'vitest';
import { script } from './helpers.js';
import { expectSplitInvariant } from './invariance.js';
import { AFTER_LOGIN, juliet, login, romeo } from './transcripts.js';

const intercept = { onUpgrade: (s: { tlsIntercepted(): void }) => s.tlsIntercepted() };
const SERVER = 'montague.example';

function presenceAfterLogin(...lines: Array<['>' | '<', string]>) {
  const result = expectSplitInvariant([...login(), ...script(...lines)], intercept);
  expect(result.frames.filter((f) => f.error)).toEqual([]);
  return result.events.slice(AFTER_LOGIN).map((e) => [e.direction, e.type, e.subtype, e.localId, e.remoteId, e.data, e.text]);
}

describe('XMPP presence', () => {
  it('the user: show values, status text, going unavailable', () => {
    expect(
      presenceAfterLogin(
        ['>', '<presence><show>dnd</show><status>In a meeting</status><priority>5</priority></presence>'],
        ['>', '<presence><show>xa</show></presence>'],
        ['>', '<presence><show>chat</show></presence>'],
        ['>', '<presence><show>sleeping</show></presence>'],
        ['>', "<presence type='unavailable'><status>gone home</status></presence>"],
      ),
    ).toEqual([
      ['outgoing', 'other', 'status', romeo, SERVER, { status: 'busy', 'protocol-status': 'dnd', description: 'In a meeting' }, undefined],
      ['outgoing', 'other', 'status', romeo, SERVER, { status: 'away', 'protocol-status': 'xa' }, undefined],
      ['outgoing', 'other', 'status', romeo, SERVER, { status: 'free-for-chat', 'protocol-status': 'chat' }, undefined],
      ['outgoing', 'other', 'status', romeo, SERVER, { status: 'unknown', 'protocol-status': 'sleeping' }, undefined],
      ['outgoing', 'other', 'status', romeo, SERVER, { status: 'offline', 'protocol-status': 'unavailable', description: 'gone home' }, undefined],
    ]);
  });

  it('contacts: available, away with hostile text (entities decoded, kept as text), unavailable; by bare JID', () => {
    const hostile = '&lt;img src=x onerror=alert(1)&gt; \u202Egnp.exe';
    expect(
      presenceAfterLogin(
        ['<', `<presence from='${juliet}/balcony' to='${romeo}/home'/>`],
        ['<', `<presence from='${juliet}/balcony' to='${romeo}/home'><show>away</show><status>${hostile}</status></presence>`],
        ['<', `<presence from='${juliet}/balcony' to='${romeo}/home' type='unavailable'/>`],
      ),
    ).toEqual([
      ['incoming', 'contact', 'status', romeo, juliet, { status: 'online', 'protocol-status': 'available' }, undefined],
      ['incoming', 'contact', 'status', romeo, juliet, { status: 'away', 'protocol-status': 'away', description: '<img src=x onerror=alert(1)> \u202Egnp.exe' }, undefined],
      ['incoming', 'contact', 'status', romeo, juliet, { status: 'offline', 'protocol-status': 'unavailable' }, undefined],
    ]);
  });

  it('not presence: probes, errors, subscriptions (contact events of their own), the user own devices, room occupants', () => {
    const events = presenceAfterLogin(
      ['<', `<presence from='${juliet}' to='${romeo}' type='probe'/>`],
      ['<', `<presence from='${juliet}' to='${romeo}' type='error'/>`],
      ['<', `<presence from='${romeo}/phone' to='${romeo}/home'><show>away</show></presence>`],
      [
        '<',
        `<presence from='room@chat.example/nurse' to='${romeo}/home'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/></x></presence>`,
      ],
      ['<', `<presence from='${juliet}' to='${romeo}' type='subscribe'/>`],
    );
    expect(events.map((e) => [e[1], e[2]])).toEqual([['contact', 'added-by']]);
  });
});
