/**
 * Names people give things (goals, API keys, accounts, uploaded files). A name is shown in lists, logs,
 * CSV results and HTTP headers and is sent to Microsoft: a line break in one forges a log line or a
 * header, a NUL is refused by PostgreSQL (a 500, issue 8), and half of a UTF-16 surrogate pair cannot be
 * written as UTF-8 at all. None of them is ever part of a real name.
 */

/**
 * C0 and C1 control characters (NUL, tab, CR, LF, ESC, DEL…) and the Unicode line and paragraph
 * separators, which JavaScript and many log viewers treat as line breaks.
 */
const controlCharacter = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Half of a surrogate pair without its other half: JSON's "\ud800" decodes to one. */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What is wrong with `text` as a name, worded to follow the field's name; undefined when nothing is. */
export function nameProblem(text: string): string | undefined {
  const control = controlCharacter.exec(text);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `must not contain control characters such as line breaks, tabs or NUL (found U+${code} at position ${control.index + 1})`;
  }
  if (loneSurrogate.test(text)) return 'is not valid Unicode text (it holds half of a surrogate pair)';
  return undefined;
}

/** For zod's superRefine: the problem of `nameProblem` as an issue. */
export function refineName(
  text: string,
  ctx: { addIssue(issue: { code: 'custom'; message: string }): void },
) {
  const problem = nameProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}
