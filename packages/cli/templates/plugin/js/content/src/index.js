import { definePlugin, Type } from '@imspect/sdk';

export default definePlugin({
  name: '__PLUGIN_NAME__',
  kind: 'content',
  options: Type.Object({
    shortcuts: Type.Record(Type.String(), Type.String(), {
      default: { brb: 'be right back' },
      description: 'Words replaced in messages before they reach the other side',
    }),
  }),
  setup({ options }) {
    const entries = Object.entries(options.shortcuts);
    const escapeRegExp = (word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const pattern = entries.length === 0 ? undefined : new RegExp(`\\b(${entries.map(([word]) => escapeRegExp(word)).join('|')})\\b`, 'g');
    return {
      transform(event) {
        if (pattern === undefined || event.type !== 'message' || event.text === undefined) return undefined;
        const text = event.text.replace(pattern, (word) => options.shortcuts[word]);
        // undefined: leave the message as it is.
        return text === event.text ? undefined : text;
      },
    };
  },
});
