/** Microsoft click IDs are 32 hexadecimal characters; anything else never reaches a cookie or a form. */
export const CLICK_ID = /^[0-9a-f]{32}$/i;

/**
 * The first `msclkid` parameter of a URL whose value is exactly a click ID: in the query string, then in
 * the fragment (`#msclkid=…`, or a hash router's `#/page?msclkid=…`). The name is matched
 * case-insensitively; a value that is not exactly a click ID (`<script>…`, 33 characters) is skipped.
 */
export const URL_CLICK_ID = /[?#&]msclkid=([0-9a-f]{32})(?![^&#])/i;

export function isClickId(value: unknown): value is string {
  return typeof value === 'string' && CLICK_ID.test(value);
}
