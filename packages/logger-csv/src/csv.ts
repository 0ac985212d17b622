/** RFC 4180 fields and rows. Records end in LF, as IMSpector's did; CR inside a field is quoted. */

const NEEDS_QUOTES = /[",\r\n]/;

/** A field, quoted when it holds a comma, a double quote, CR or LF; quotes inside are doubled. */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One record, with its line feed. */
export function csvRow(fields: readonly string[]): string {
  return fields.map(csvField).join(',') + '\n';
}

const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Defuses spreadsheet formula injection (a chat line `=HYPERLINK(...)` opened in Excel): a field that starts
 * with `= + - @`, TAB or CR gets a leading `'`. Changes the logged text, so it is an option.
 */
export function defuseFormula(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}
