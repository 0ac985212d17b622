/**
 * The minimal Node relay baseline: every connection to 127.0.0.1:<port> piped to 127.0.0.1:<upstream>, nothing
 * read. `node bench/messages/relay.js <upstream>` prints `listening <port>`.
 */
import net from 'node:net';

const upstream = Number(process.argv[2]);
const sockets = new Set();
const keep = (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
  s.on('error', () => s.destroy());
};
const server = net.createServer({ noDelay: true }, (client) => {
  const server = net.connect({ host: '127.0.0.1', port: upstream, noDelay: true });
  keep(client);
  keep(server);
  client.pipe(server).pipe(client);
  client.on('close', () => server.destroy());
  server.on('close', () => client.destroy());
});
server.maxConnections = 20000;
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => process.stdout.write(`listening ${server.address().port}\n`));
const stop = () => {
  for (const s of sockets) s.destroy();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
