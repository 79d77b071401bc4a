import { pino, type Logger } from "pino";

export type { Logger };

/** JSON logs, one line per event, tagged with the service name. */
export function createLogger(options: { service: string; level?: string }): Logger {
  return pino({
    level: options.level ?? "info",
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
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
  });
}
