/**
 * Passwords for `imspect console user add|passwd`: typed at a prompt that does not echo them (asked twice), or
 * read from standard input's first line with --password-stdin (scripts, configuration management). Never a flag
 * value: those end up in shell history and process lists.
 */
import { createInterface } from 'node:readline';
import { Flags } from '@oclif/core';

export const passwordStdinFlag = Flags.boolean({ description: "read the password from standard input's first line instead of a prompt" });

async function readLineFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buffer = chunk as Buffer;
    chunks.push(buffer);
    size += buffer.length;
    if (buffer.includes(0x0a) || size > 4096) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const end = text.indexOf('\n');
  return (end >= 0 ? text.slice(0, end) : text).replace(/\r$/, '');
}

function askHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    // Echo nothing of what is typed: the question is written once, then output is muted until Enter.
    const output = rl as unknown as { _writeToOutput?: (text: string) => void };
    let muted = false;
    output._writeToOutput = (text: string) => {
      if (!muted || text.includes('\n')) process.stderr.write(muted ? '\n' : text);
    };
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    });
    muted = true;
    rl.on('SIGINT', () => {
      rl.close();
      reject(new Error('cancelled'));
    });
  });
}

/** The new password: from standard input, or typed twice at a prompt. Throws with a message for people. */
export async function newPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) return readLineFromStdin();
  if (!process.stdin.isTTY) throw new Error('no terminal to ask for the password: pass it on standard input with --password-stdin');
  const first = await askHidden('Password: ');
  const second = await askHidden('Password again: ');
  if (first !== second) throw new Error('the two passwords differ');
  return first;
}
