import { definePlugin, Type } from '@imspect/sdk';
import { ChatSession } from './session.js';

export default definePlugin({
  name: '__PLUGIN_NAME__',
  kind: 'protocol',
  options: Type.Object({
    ports: Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { default: [7777], description: 'Server ports of the protocol' }),
    maxLineBytes: Type.Integer({ minimum: 64, default: 4096, description: 'Longest line the parser buffers' }),
  }),
  setup: ({ options }) => ({
    ports: options.ports,
    maxFrameSize: options.maxLineBytes,
    // Recognises the protocol on other ports from the client's first bytes.
    sniff: (bytes, direction) => direction === 'outgoing' && new TextDecoder().decode(bytes.subarray(0, 6)) === 'LOGIN ',
    createSession: (ctx) => new ChatSession(ctx),
  }),
});
