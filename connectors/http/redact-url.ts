/** Query parameters whose values are credentials: OAuth, pre-signed S3 / Azure SAS / CDN URLs. */
const SECRET_PARAMETER =
  /token|secret|password|passwd|assertion|signature|^sig$|^code$|^key$|api[-_]?key|credential|^x-amz-|^se$|^sp$|^sv$|^policy$|^key-pair-id$/i;

/**
 * The URL as it may appear in a message, a log or the database: values of query parameters
 * that carry credentials replaced by `redacted`, user info removed. Other parameters
 * (`_since`, `_type`) stay, since they are what a reader needs to act.
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(unparseable URL)';
  }
  parsed.username = '';
  parsed.password = '';
  for (const name of new Set(parsed.searchParams.keys())) {
    if (SECRET_PARAMETER.test(name)) parsed.searchParams.set(name, 'redacted');
  }
  return parsed.href;
}
