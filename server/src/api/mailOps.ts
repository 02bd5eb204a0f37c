import type { OpRegistry } from '../gateway/registry.js';
import type { MailService } from '../services/mailService.js';

/** mail.*: protocol ops → the mail service. */
export function registerMailOps(registry: OpRegistry, mail: MailService): void {
  registry.register('mail.send', (data, { session }) => mail.send(session, data));
  registry.register('mail.sendBatch', async (data, { session }) => ({ failed: await mail.sendBatch(session, data.messages) }));
  registry.register('mail.list', async (data, { session }) => ({ mail: await mail.list(session.userId, data.limit) }));
  registry.register('mail.ack', async (data, { session }) => ({ deleted: await mail.ack(session.userId, data.ids) }));
}
