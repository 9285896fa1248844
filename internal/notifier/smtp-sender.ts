import { createTransport, type Transporter } from 'nodemailer';
import type { EmailMessage } from './email-message.js';
import type { SendOutcome } from './send-outcome.js';

/** SMTP settings (TASKD_SMTP_URL, TASKD_SMTP_FROM). */
export interface SmtpSettings {
  /** e.g. smtp://user:pass@mail.example.com:587, smtps://…:465; nodemailer's query options apply (?ignoreTLS=true). */
  url: string;
  from: string;
  /** Connection, greeting and socket timeout of each send. */
  timeoutMs: number;
}

/** Sends one email; never throws (see {@link SmtpSender.send}). */
export interface EmailSender {
  send(to: string, m: EmailMessage): Promise<SendOutcome>;
  close(): void;
}

/**
 * Sends email through one SMTP server with nodemailer. A 5xx answer (mailbox unknown,
 * relay refused, message refused) is permanent; 4xx answers, connection failures and
 * timeouts are retried.
 */
export class SmtpSender implements EmailSender {
  private readonly transport: Transporter;

  constructor(private readonly settings: SmtpSettings) {
    if (!/^smtps?:\/\//.test(settings.url)) throw new Error('SmtpSender: url must start with smtp:// or smtps://');
    this.transport = createTransport({
      url: settings.url, connectionTimeout: settings.timeoutMs, greetingTimeout: settings.timeoutMs, socketTimeout: settings.timeoutMs,
    });
  }

  /** Sends `m` to `to` from the configured sender. */
  async send(to: string, m: EmailMessage): Promise<SendOutcome> {
    try {
      await this.transport.sendMail({ from: this.settings.from, to, subject: m.subject, text: m.text });
      return { ok: true };
    } catch (e) {
      const err = e as { responseCode?: number; code?: string; response?: string; message?: string };
      const error = `SMTP ${err.responseCode ?? err.code ?? 'error'}: ${err.response ?? err.message ?? String(e)}`;
      return { ok: false, permanent: err.responseCode !== undefined && err.responseCode >= 500, error };
    }
  }

  close(): void {
    this.transport.close();
  }
}
