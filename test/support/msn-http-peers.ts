/**
 * The MSN peers of the transparent-gateway test, run as processes inside its network namespaces
 * (`node --experimental-transform-types --import ./ts-run.mjs msn-http-peers.ts ROLE ...`):
 *
 * - `server HOST`: the scripted MSN service on HOST (random ports) and the scripted HTTP gateway on HOST:80; prints
 *   `ready <dispatch port>`, then every request the gateway gets as a JSON line (`request {...}`).
 * - `client HOST DISPATCH_PORT`: bob signs in over TCP, alice over the HTTP gateway at HOST:80 (the gateway's
 *   firewall redirects her to imspect), and they hold the conversation of msn-conversation.ts; prints
 *   `result {...}` and exits 0, or the error and exits 1.
 */
import { converse, httpTransport, login, tcpTransport } from './msn-conversation.js';
import { startMsnHttpGateway } from './msn-http.js';
import { startMsnService } from './msn-servers.js';

export const ALICE = 'alice@example.com';
export const BOB = 'bob@example.com';

const [role, host, dispatchPort] = process.argv.slice(2);

if (role === 'server') {
  const service = await startMsnService({ host: host! });
  const gateway = await startMsnHttpGateway({ host: host!, port: 80, gatewayIp: host! });
  let reported = 0;
  setInterval(() => {
    for (const request of gateway.requests.slice(reported)) {
      console.log(`request ${JSON.stringify({ url: request.url, headers: request.headers, body: request.body.toString('latin1') })}`);
    }
    reported = gateway.requests.length;
  }, 20);
  console.log(`ready ${service.dispatchPort}`);
} else if (role === 'client') {
  try {
    const dispatch = { host: host!, port: Number(dispatchPort) };
    const direct = tcpTransport();
    const overHttp = httpTransport({ kind: 'direct' }, { host: host!, port: 80 });
    const bobNs = await login(BOB, '8.5.1302', direct, dispatch);
    const aliceNs = await login(ALICE, '8.5.1302', overHttp, dispatch);
    const result = await converse(ALICE, aliceNs, overHttp, BOB, bobNs, direct, 'there');
    aliceNs.sendRaw('OUT\r\n');
    await aliceNs.closed;
    bobNs.sendRaw('OUT\r\n');
    await bobNs.closed;
    console.log(`result ${JSON.stringify(result)}`);
    process.exit(0);
  } catch (error) {
    console.log(`error ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  }
} else {
  console.error(`unknown role ${role}`);
  process.exit(2);
}
