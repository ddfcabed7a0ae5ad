/**
 * Error codes of failures where the request may well succeed if sent again: the connection
 * was refused, reset or timed out, the socket closed under us, DNS hiccuped.
 */
const RETRIABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * Whether a rejected fetch failed in the network (worth a retry) rather than in how it was
 * called (a malformed URL or header, which fails the same way every time). undici wraps the
 * socket error as the `cause` of a `TypeError('fetch failed')`.
 */
export function isRetriableNetworkError(error: unknown): boolean {
  return networkErrorCode(error) !== undefined;
}

/** The code that names a retriable network failure (`ECONNRESET`, `socket hang up`, ...), if it is one. */
export function networkErrorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && RETRIABLE_CODES.has(code)) return code;
    if (current.name === 'TimeoutError') return 'headers timeout';
    if (/socket hang up|other side closed/i.test(current.message)) return 'socket hang up';
    const nested: unknown =
      current.cause ?? (current instanceof AggregateError ? current.errors[0] : undefined);
    current = nested;
  }
  return undefined;
}

/**
 * Codes that mean the connection was never made, so not one byte of the request went out:
 * refused, the name did not resolve (yet), undici gave up connecting.
 */
const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Whether a failed fetch provably never reached the server, so even a POST is safe to send
 * again. Besides the codes above, Node marks every error of the connect() and DNS steps with
 * their syscall (an unreachable host at connect time, a connect ETIMEDOUT). A reset, a hang-up
 * or a headers timeout may come after the server received (and acted on) the request: no.
 */
export function neverReachedServer(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; depth++) {
    const { code, syscall } = current as { code?: unknown; syscall?: unknown };
    if (typeof code === 'string' && NEVER_SENT_CODES.has(code)) return true;
    if (syscall === 'connect' || syscall === 'getaddrinfo') return true;
    const nested: unknown =
      current.cause ?? (current instanceof AggregateError ? current.errors[0] : undefined);
    current = nested;
  }
  return false;
}

/**
 * For any failure of fetch itself (undici rejects with `TypeError('fetch failed')` and the real
 * error as its cause: a name that does not resolve, a TLS failure, a socket error), what went
 * wrong: the deepest cause's code (`ENOTFOUND`, `CERT_HAS_EXPIRED`), else the innermost
 * cause's message. Undefined for any other error, such as a TypeError for a malformed header,
 * which is a bug in the call rather than in the network.
 */
export function fetchFailureReason(error: unknown): string | undefined {
  if (!(error instanceof TypeError) || error.message !== 'fetch failed') return undefined;
  let innermost: Error = error;
  let code: string | undefined;
  for (let depth = 0; depth < 8; depth++) {
    const own = (innermost as { code?: unknown }).code;
    if (typeof own === 'string' && own !== '') code = own;
    const nested: unknown =
      innermost.cause ?? (innermost instanceof AggregateError ? innermost.errors[0] : undefined);
    if (!(nested instanceof Error)) break;
    innermost = nested;
  }
  return code ?? (innermost === error || innermost.message === '' ? 'fetch failed' : innermost.message);
}
