/** irc-framework (CommonJS, no types) for the IRC end-to-end tests: the client type and a wait for its events. */
import { createRequire } from 'node:module';

export interface IrcClient {
  connect(options: Record<string, unknown>): void;
  on(event: string, listener: (event: Record<string, unknown>) => void): void;
  once(event: string, listener: (event: Record<string, unknown>) => void): void;
  off(event: string, listener: (event: Record<string, unknown>) => void): void;
  join(channel: string): void;
  say(target: string, text: string): void;
  raw(line: string): void;
  notice(target: string, text: string): void;
  action(target: string, text: string): void;
  ctcpRequest(target: string, type: string, ...params: string[]): void;
  changeNick(nick: string): void;
  quit(message?: string): void;
  connection: { end(): void };
}

const require = createRequire(import.meta.url);
export const IRC = require('irc-framework') as { Client: new () => IrcClient };

/** The first `event` the client emits that `match` accepts; rejects naming `what` after `ms`. */
export function waitFor(client: IrcClient, event: string, match: (e: Record<string, unknown>) => boolean, what: string, ms = 10_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off(event, listener);
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    const listener = (e: Record<string, unknown>) => {
      if (!match(e)) return;
      clearTimeout(timer);
      client.off(event, listener);
      resolve(e);
    };
    client.on(event, listener);
  });
}
