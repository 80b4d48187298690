/**
 * Text that reaches Slack: what a hunt finds (queries, command lines, names) is attacker-controlled,
 * so it is escaped (no `<!channel>`, no links, no mentions) and shown verbatim in code, and every
 * field is trimmed to Slack's limits with a visible marker rather than rejected by the API.
 */
export const SLACK_LIMITS = {
  blocksPerMessage: 50,
  sectionText: 3_000,
  headerText: 150,
  contextElements: 10,
} as const;

export const TRIM_MARKER = '… [trimmed]';

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Cuts `text` to at most `max` characters, ending with the marker when it had to cut. */
export function trimText(text: string, max: number, marker = TRIM_MARKER): string {
  if (text.length <= max) return text;
  if (max <= marker.length) return marker.slice(0, max);
  let cut = text.slice(0, max - marker.length);
  // Never leave half an escape sequence (`&am`) or half a surrogate pair behind.
  cut = cut.replace(/&[a-z]{0,3}$/, '');
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return cut + marker;
}

/**
 * Untrusted text as an inline or block code span. A backtick in the content would end the span and
 * let the rest render as markup, so backticks are shown as `ˋ` (U+02CB), and control characters
 * other than newline and tab as spaces: display only, never data (the report files keep the text).
 */
function codeSafe(text: string): string {
  return escapeMrkdwn(text.replace(/`/g, '\u02cb').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, ' '));
}

export function inlineCode(text: string, max = 300): string {
  const single = text.replace(/[\r\n]+/g, ' ');
  return `\`${trimText(codeSafe(single), max)}\``;
}

export function codeBlock(text: string, max = 1_000): string {
  return `\`\`\`${trimText(codeSafe(text), max)}\`\`\``;
}

/**
 * Untrusted prose (a reason, an error message) as mrkdwn text: escaped so it cannot mention, link
 * or address a channel. Names and anything an analyst may copy go in `inlineCode` instead.
 */
export function plain(text: string, max = 300): string {
  return trimText(escapeMrkdwn(text), max);
}
