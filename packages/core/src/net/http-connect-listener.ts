import type net from 'node:net';
import type { HttpConnectListenerConfig } from '../config/schema.js';
import { describeError } from '@imspect/sdk';
import { HttpConnectRequest, httpResponse, statusForError } from './http-connect.js';
import type { HandlerDeps } from './listeners.js';
import { connectAllowed, handOver } from './upstream.js';

/** Longest a client may take to send its CONNECT request. */
const REQUEST_TIMEOUT_MS = 15_000;

/** The `http-connect` listener: an explicit HTTP proxy that only tunnels, for the clients it allows. */
export function handleHttpConnect(config: HttpConnectListenerConfig, deps: HandlerDeps) {
  const name = `http-connect ${config.host}:${config.port}`;
  return (socket: net.Socket, clientAddress: { ip: string; port: number }) => {
    const who = `${clientAddress.ip}:${clientAddress.port}`;
    const request = new HttpConnectRequest(config.users);
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
