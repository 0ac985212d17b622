import { definePlugin, type ImEvent, Type } from '@imspect/sdk';

const escapeRegExp = (word: string) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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
    const pattern = entries.length === 0 ? undefined : new RegExp(`\\b(${entries.map(([word]) => escapeRegExp(word)).join('|')})\\b`, 'g');
    return {
      transform(event: Readonly<ImEvent>): string | undefined {
        if (pattern === undefined || event.type !== 'message' || event.text === undefined) return undefined;
        const text = event.text.replace(pattern, (word) => options.shortcuts[word] ?? word);
        // undefined: leave the message as it is.
        return text === event.text ? undefined : text;
      },
    };
  },
});
