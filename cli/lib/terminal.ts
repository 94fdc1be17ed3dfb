// Text from outside the CLI (a runner's error message or current benchmark, a results folder's name,
// an assembly error) goes to a terminal, where an escape sequence would recolour, move the cursor
// or retitle the window, and a line break would break the layout of a one-line entry.
/** One line of `text`, its line breaks as " / " and every other control character as "?". */
export function forTerminal(text: string): string {
  return text.replace(/\r?\n/g, ' / ').replace(/\p{Cc}/gu, (c) => (c === '\t' ? ' ' : '?'));
}
