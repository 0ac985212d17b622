/** RFC 4180 fields and rows. Records end in LF, as IMSpector's did; CR inside a field is quoted. */

const NEEDS_QUOTES = /[",\r\n]/;

/** A field, quoted when it holds a comma, a double quote, CR or LF; quotes inside are doubled. */
export function csvField(value: string): string {
  // One regex test for the common case (nothing to quote); the replace only when a quote is there.
  if (value.length === 0 || !NEEDS_QUOTES.test(value)) return value;
  return value.includes('"') ? `"${value.replaceAll('"', '""')}"` : `"${value}"`;
}

/** One record, with its line feed. */
export function csvRow(fields: readonly string[]): string {
  let row = fields.length > 0 ? csvField(fields[0]!) : '';
  for (let i = 1; i < fields.length; i++) row += ',' + csvField(fields[i]!);
  return row + '\n';
}

const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Defuses spreadsheet formula injection (a chat line `=HYPERLINK(...)` opened in Excel): a field that starts
 * with `= + - @`, TAB or CR gets a leading `'`. Changes the logged text, so it is an option.
 */
export function defuseFormula(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}
