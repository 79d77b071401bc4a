import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";

export type { Logger };

// Query parameters that carry credentials (OAuth's access_token/code, stream tickets, API keys...),
// matched by name in any letter case; names containing token, secret, password or key as well.
const SECRET_PARAMS = new Set([
  "access_token",
  "refresh_token",
  "id_token",
  "token",
  "ticket",
  "code",
  "client_secret",
  "secret",
  "password",
  "api_key",
  "apikey",
  "key",
  "sig",
  "signature",
  "session",
  "auth",
  "authorization",
  "jwt",
  "assertion",
  "client_assertion",
]);
const SECRET_PARAM_PART = /token|secret|passw|api[-_]?key|credential|signature/;

function isSecretParam(rawName: string): boolean {
  let name = rawName;
  try {
    name = decodeURIComponent(rawName.replace(/\+/g, " "));
  } catch {
    // A malformed escape is judged as written.
  }
  name = name.trim().toLowerCase();
  return SECRET_PARAMS.has(name) || SECRET_PARAM_PART.test(name);
}

/**
 * The URL with the value of every credential-like query parameter replaced by [redacted]
 * (any path, any letter case, repeated parameters too); the rest of the URL as it was sent.
 */
export function redactUrl(url: string): string {
  const question = url.indexOf("?");
  if (question === -1) return url;
  const hash = url.indexOf("#", question);
  const query = url.slice(question + 1, hash === -1 ? undefined : hash);
  const redacted = query
    .split("&")
    .map((part) => {
      const equals = part.indexOf("=");
      const name = equals === -1 ? part : part.slice(0, equals);
      return equals !== -1 && isSecretParam(name) ? `${name}=[redacted]` : part;
    })
    .join("&");
  return `${url.slice(0, question)}?${redacted}`;
}

/** JSON logs, one line per event, tagged with the service name. */
export function createLogger(options: {
  service: string;
  level?: string;
  /** Where the lines go (default stdout); tests capture them. */
  destination?: DestinationStream;
}): Logger {
  const settings: LoggerOptions = {
    level: options.level ?? "info",
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // A URL logged under `url` (outbound calls, webhook targets) loses its credentials too.
    serializers: { url: (url: unknown) => (typeof url === "string" ? redactUrl(url) : url) },
    redact: {
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        'req.headers["dapr-api-token"]',
        'res.headers["set-cookie"]',
        'res.headers["set-auth-token"]',
      ],
      censor: "[redacted]",
    },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
