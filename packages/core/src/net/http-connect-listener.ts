import type net from 'node:net';
import type { HttpConnectListenerConfig } from '../config/schema.js';
import { describeError } from '@imspect/sdk';
import { HttpConnectRequest, httpResponse, statusForError } from './http-connect.js';
import { HttpProxyUpstream } from './http-proxy-upstream.js';
import type { HandlerDeps } from './listeners.js';
import { connectAllowed, handOver } from './upstream.js';

/** Longest a client may take to send its CONNECT request. */
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * The `http-connect` listener: an explicit HTTP proxy for the clients it allows. `CONNECT` tunnels; a plain
 * request with an absolute URI (unless `plainRequests: false`) makes the connection a relay of requests
 * (`HttpProxyUpstream`), each to the server its URI names, through the destination policy.
 */
export function handleHttpConnect(config: HttpConnectListenerConfig, deps: HandlerDeps) {
  const name = `http-connect ${config.host}:${config.port}`;
  return (socket: net.Socket, clientAddress: { ip: string; port: number }) => {
    const who = `${clientAddress.ip}:${clientAddress.port}`;
    const request = new HttpConnectRequest(config.users, config.plainRequests !== false);
    const timer = setTimeout(() => {
      deps.log.warn({ listener: name, client: who }, 'HTTP CONNECT request timed out');
      socket.end(httpResponse(408, {}, 'request timed out'));
      setTimeout(() => socket.destroy(), 1000).unref();
    }, deps.handshakeTimeoutMs ?? REQUEST_TIMEOUT_MS);
    socket.once('close', () => clearTimeout(timer));
    // The server socket allows half-open connections (for the relay): a client that gives up before its
    // request is complete is closed here.
    const onEnd = () => socket.destroy();
    socket.once('end', onEnd);
    const onData = (chunk: Buffer) => {
      const step = request.push(chunk);
      if (step.kind === 'more') return;
      clearTimeout(timer);
      socket.off('data', onData);
      if (step.kind === 'reject') {
        deps.log.warn({ listener: name, client: who, status: step.status }, `HTTP CONNECT request refused: ${step.reason}`);
        socket.end(httpResponse(step.status, step.headers, step.reason));
        // A client that keeps its side open after the refusal is cut shortly after.
        setTimeout(() => socket.destroy(), 1000).unref();
        return;
      }
      socket.off('end', onEnd);
      socket.pause();
      if (step.kind === 'forward') {
        // No tunnel: the requests are relayed one by one, each where its URI says (checked per request).
        const upstream = new HttpProxyUpstream({
          client: socket,
          clientIp: clientAddress.ip,
          destinations: deps.destinations,
          connectTimeoutMs: deps.connectTimeoutMs,
          users: config.users,
          log: deps.log,
          context: { listener: name, client: who },
        });
        deps.onConnection({
          client: socket,
          upstream,
          clientAddress,
          destination: { host: step.host, port: step.port },
          initialClientData: step.data,
          listener: name,
          via: 'http-proxy',
        });
        socket.resume();
        return;
      }
      const target = `${step.host}:${step.port}`;
      handOver(
        socket,
        connectAllowed(deps.destinations, step.host, step.port, clientAddress.ip, deps.connectTimeoutMs),
        deps.log,
        { listener: name, client: who, server: target },
        (upstream) => {
          socket.write(httpResponse(200));
          deps.onConnection({
            client: socket,
            upstream,
            clientAddress,
            destination: { host: step.host, port: step.port },
            via: 'http-connect',
            ...(step.rest.length > 0 ? { initialClientData: step.rest } : {}),
            listener: name,
          });
        },
        (error) => {
          const why = error.code === 'DESTINATION_REFUSED' ? 'not allowed by the gateway' : (error.code ?? describeError(error));
          socket.end(httpResponse(statusForError(error), {}, `cannot connect to ${target}: ${why}`));
          socket.once('end', onEnd);
          socket.resume();
          setTimeout(() => socket.destroy(), 1000).unref();
        },
      );
    };
    socket.on('data', onData);
    socket.resume();
  };
}
