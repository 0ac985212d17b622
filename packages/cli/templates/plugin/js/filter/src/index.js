import { definePlugin, Type } from '@imspect/sdk';

export default definePlugin({
  name: '__PLUGIN_NAME__',
  kind: 'filter',
  options: Type.Object({
    words: Type.Array(Type.String({ minLength: 1 }), { default: ['confidential'], description: 'Messages containing one of these words are blocked' }),
    reply: Type.String({ default: 'Your message was not sent: it names a blocked word.', description: 'What the sender is told' }),
  }),
  setup({ options }) {
    const words = options.words.map((word) => word.toLowerCase());
    return {
      check(event) {
        if (event.type !== 'message' || event.text === undefined) return { action: 'pass' };
        const text = event.text.toLowerCase();
        const found = words.find((word) => text.includes(word));
        if (found === undefined) return { action: 'pass' };
        return { action: 'block', categories: ['__PLUGIN_NAME__'], reason: `names "${found}"`, respond: options.reply };
      },
    };
  },
});
