/**
 * @imspect/filter-badwords: masks the words of a word list in every message (case-insensitive, any script)
 * and blocks a message that contains `blockCount` of them or more. The event keeps what the user typed; the
 * masked text is what reaches the other side (`deliveredText`). Categories: `<n> badwords`.
 */
import path from 'node:path';
import { definePlugin, RulesFile, Type, type FilterHooks, type ImEvent, type Verdict } from '@imspect/sdk';
import { WordMatcher, type MatchMode } from './matcher.js';
import { parseWordList } from './word-list.js';

export { WordMatcher, fold, type MatchMode, type Occurrence, type ScanResult } from './matcher.js';
export { parseWordList } from './word-list.js';

export const BadwordsOptions = Type.Object(
  {
    file: Type.Optional(Type.String({ description: 'Word list: one word or phrase per line, # comments; relative to the config file. Without it the filter does nothing' })),
    replaceCharacter: Type.String({ minLength: 1, maxLength: 8, default: '*', description: 'Each character of a bad word is replaced by this' }),
    blockCount: Type.Integer({ minimum: 0, default: 0, description: 'Block the whole message when it has this many bad words or more; 0 = never block, only mask' }),
    match: Type.Union([Type.Literal('word'), Type.Literal('substring')], {
      default: 'word',
      description: 'word: only whole words (no letter of a space-separated script right before or after; scripts without spaces such as Chinese always match); substring: anywhere',
    }),
    watch: Type.Boolean({ default: true, description: 'Reload the word list when the file changes (SIGHUP reloads it too)' }),
    respond: Type.Optional(Type.String({ description: 'Reply to the sender of a blocked message instead of the configured responses.blocked.text' })),
  },
  { additionalProperties: false },
);

/** Events whose text is checked: messages, and what else carries typed text. */
const CHECKED_TYPES = new Set<ImEvent['type']>(['message']);

export function badwordsVerdict(matcher: WordMatcher, event: Readonly<ImEvent>, options: { replaceCharacter: string; blockCount: number; respond?: string | undefined }): Verdict {
  if (!CHECKED_TYPES.has(event.type) || event.text === undefined || event.text.length === 0) return PASS;
  const result = matcher.mask(event.text, options.replaceCharacter);
  if (result.count === 0) return PASS;
  const categories = [`${result.count} badwords`];
  if (options.blockCount > 0 && result.count >= options.blockCount) {
    const verdict: Verdict = { action: 'block', categories, reason: `${result.count} bad words (blocking from ${options.blockCount})` };
    if (options.respond !== undefined) verdict.respond = options.respond;
    return verdict;
  }
  return { action: 'pass', categories, text: result.text };
}

const PASS: Verdict = Object.freeze({ action: 'pass' }) as Verdict;

export default definePlugin({
  name: 'filter-badwords',
  kind: 'filter',
  options: BadwordsOptions,
  async setup({ options, configDir, logger }): Promise<FilterHooks> {
    if (options.file === undefined) {
      logger.debug('no word list configured (options.file): nothing is masked');
      return { check: () => PASS, judges: new Set() };
    }
    const mode = options.match as MatchMode;
    const rules = await RulesFile.open({
      file: path.resolve(configDir, options.file),
      what: 'word list',
      logger,
      watch: options.watch,
      parse: (text) => new WordMatcher(parseWordList(text), mode),
      onReload: (next) => logger.info({ words: next.size }, 'word list in force'),
    });
    logger.info({ file: rules.file, words: rules.current.size, blockCount: options.blockCount }, 'word list loaded');
    const settings = { replaceCharacter: options.replaceCharacter, blockCount: options.blockCount, respond: options.respond };
    return {
      check: (event) => badwordsVerdict(rules.current, event, settings),
      judges: CHECKED_TYPES,
      reload: () => rules.reloadOrThrow(),
      close: () => rules.close(),
    };
  },
});
