// One side of a short IRC conversation, run as its own process (inside a network namespace) by the gateway
// tests. Usage: node irc-chat.cjs '{"role":"alice"|"bob","host":...,"port":...,"label":...}'
// bob joins #gateway and prints "ready"; alice joins, says `hello <label>` in the channel and `private <label>`
// to bob; bob answers `reply <label>` to alice; alice prints "done" once she has it and quits; bob prints "done"
// when alice has left. Any failure or a 20 s stall exits with code 1 and a message.
const IRC = require('irc-framework');

const options = JSON.parse(process.argv[2]);
const channel = '#gateway';
const client = new IRC.Client();
const say = (line) => process.stdout.write(`${line}\n`);
const fail = (why) => {
  process.stderr.write(`${options.role}: ${why}\n`);
  process.exit(1);
};
setTimeout(() => fail('timed out'), 20000).unref();

client.on('close', () => {
  if (!finished) fail('connection closed before the conversation ended');
});
let finished = false;

client.on('registered', () => {
  say('registered');
  client.join(channel);
});

client.on('join', (event) => {
  if (options.role === 'bob' && event.nick === 'bob') say('ready');
  if (options.role === 'alice' && event.nick === 'alice') {
    client.say(channel, `hello ${options.label}`);
    client.say('bob', `private ${options.label}`);
  }
});

client.on('privmsg', (event) => {
  if (options.role === 'bob' && event.nick === 'alice' && event.target === 'bob' && event.message === `private ${options.label}`) {
    client.say('alice', `reply ${options.label}`);
  }
  if (options.role === 'alice' && event.nick === 'bob' && event.message === `reply ${options.label}`) {
    finished = true;
    say('done');
    client.quit('bye');
    setTimeout(() => process.exit(0), 300);
  }
});

client.on('quit', (event) => {
  if (options.role === 'bob' && event.nick === 'alice') {
    finished = true;
    say('done');
    client.quit('bye');
    setTimeout(() => process.exit(0), 300);
  }
});

client.connect({ host: options.host, port: options.port, nick: options.role, username: options.role, gecos: options.role, auto_reconnect: false, ping_interval: 0 });
