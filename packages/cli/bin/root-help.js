// `imspect`, `imspect --help` and `imspect help` print the root help: a list that changes only with the build. The
// build stores what oclif would list (scripts/manifest.js writes dist/root-help.json from oclif's own Help class),
// and this file lays it out with the very modules oclif's help formatter uses (wrap-ansi, indent-string,
// widest-line, string-width, ansis, supports-color, resolved from the installed @oclif/core), so the text is
// oclif's to the byte at every terminal width, colour included, without loading oclif and its configuration (most
// of the command's time).
// Whenever the stored list may be out of date (commands compiled after it, another @oclif/core, a user theme) it
// returns false and oclif prints the help itself.
import { existsSync, readFileSync } from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandCompiledAfter } from './compiled-after.js';

const CLI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const INDENT = 2;

/**
 * Why the stored list in `cliDir` may not be used (written before a command was compiled, or with another
 * @oclif/core than `oclifVersion`), or undefined when it may.
 */
export function staleRootHelp(cliDir, oclifVersion) {
  const file = path.join(cliDir, 'dist/root-help.json');
  if (!existsSync(file)) return `${file} is missing (run pnpm build)`;
  const newer = commandCompiledAfter(cliDir, file);
  if (newer !== undefined) return `dist/commands/${newer} was compiled after ${file}`;
  const stored = JSON.parse(readFileSync(file, 'utf8'));
  if (stored.oclifVersion !== oclifVersion) return `${file} was made with @oclif/core ${stored.oclifVersion}, not ${oclifVersion}`;
  return undefined;
}

/** oclif's configDir: a theme.json there restyles the help, which only oclif knows how to apply. */
export function userThemeFile() {
  const scoped = process.env.IMSPECT_CONFIG_DIR;
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(scoped || path.join(base, 'imspect'), 'theme.json');
}

/** oclif's screen width: OCLIF_COLUMNS, else the terminal's (40 at least), else 80 when not a terminal. */
function screenWidth() {
  const columns = Number.parseInt(process.env.OCLIF_COLUMNS ?? '', 10);
  if (columns) return columns;
  if (!process.stdout.isTTY) return 80;
  const width = process.stdout.getWindowSize()[0];
  if (width < 1) return 80;
  return Math.max(width, 40);
}

/** Prints the root help as oclif would and returns true; returns false (printing nothing) when it may not. */
export function printRootHelp() {
  if (process.env.IMSPECT_NO_FAST_HELP !== undefined) return false;
  let lib;
  let stored;
  try {
    if (existsSync(userThemeFile())) return false;
    const requireFromOclif = module.createRequire(module.createRequire(path.join(CLI_DIR, 'package.json')).resolve('@oclif/core/package.json'));
    if (staleRootHelp(CLI_DIR, requireFromOclif('./package.json').version) !== undefined) return false;
    stored = JSON.parse(readFileSync(path.join(CLI_DIR, 'dist/root-help.json'), 'utf8'));
    lib = {
      ansis: requireFromOclif('ansis'),
      wrapAnsi: requireFromOclif('wrap-ansi'),
      indentString: requireFromOclif('indent-string'),
      widestLine: requireFromOclif('widest-line'),
      stringWidth: requireFromOclif('string-width'),
      supportsColor: requireFromOclif('supports-color'),
    };
  } catch {
    return false;
  }
  process.stdout.write(renderRootHelp(stored, screenWidth(), lib));
  return true;
}

/** The root help text for `stored` at `maxWidth` columns (oclif's Help.showRootHelp, section by section). */
export function renderRootHelp(stored, maxWidth, { ansis, wrapAnsi, indentString, widestLine, stringWidth, supportsColor }) {
  // oclif's theme colorize(): styled only when both standard output and standard error take colour.
  const bold = (text) => (supportsColor.stdout && supportsColor.stderr ? ansis.bold(text) : text);
  const wrap = (body, spacing = INDENT) => wrapAnsi(body, maxWidth - spacing, { hard: true });
  const indent = (body, spacing = INDENT) => indentString(body, spacing);
  const section = (header, body) => [bold(header), indent(Array.isArray(body) ? renderList(body) : body)].join('\n');

  // oclif's HelpFormatter.renderList with a newline spacer and an indentation of 2.
  function renderList(items) {
    if (items.length === 0) return '';
    const renderMultiline = () => {
      let output = '';
      for (const [left, right] of items) {
        if (!left && !right) continue;
        if (left) output += wrap(left.trim(), INDENT);
        if (right) output += `\n${indent(wrap(right.trim(), INDENT + 2), 4)}`;
        output += '\n\n';
      }
      return output.trim();
    };
    const maxLength = widestLine(items.map((item) => item[0]).join('\n'));
    let output = '';
    let cur = '';
    for (const [left, summary] of items) {
      if (cur) output += `\n${cur}`;
      cur = left || '';
      if (!summary) {
        cur = cur.trim();
        continue;
      }
      const [first, ...lines] = wrap(summary.trim(), INDENT + maxLength + 2)
        .split('\n')
        .map((line) => line.trim());
      cur += ' '.repeat(maxLength - stringWidth(cur) + 2);
      cur += first;
      if (lines.length === 0) continue;
      if (lines.length > 4) return renderMultiline();
      cur += `\n${indent(lines.join('\n'), maxLength + 2)}`;
    }
    if (cur) output += `\n${cur}`;
    return output.trim();
  }

  const userAgent = `${stored.name}/${stored.version} ${process.platform}-${process.arch} node-${process.version}`;
  const [summary, ...rest] = stored.description.split('\n');
  const restOfDescription = rest.join('\n');
  const root = [
    summary,
    section('VERSION', wrap(userAgent)),
    section('USAGE', wrap(`$ ${stored.bin} [COMMAND]`)),
    restOfDescription ? section('DESCRIPTION', wrap(restOfDescription)) : '',
  ]
    .filter(Boolean)
    .join('\n\n');
  let text = '';
  if (stored.state) text += `${stored.state === 'deprecated' ? `${stored.bin} is deprecated` : `${stored.bin} is in ${stored.state}.\n`}\n`;
  text += `${root}\n\n`;
  if (stored.topics.length > 0) text += `${section('TOPICS', stored.topics)}\n\n`;
  if (stored.commands.length > 0)
    text += `${section(
      'COMMANDS',
      stored.commands.map(([id, summary]) => [id, summary && ansis.strip(summary)]),
    )}\n\n`;
  return text;
}
