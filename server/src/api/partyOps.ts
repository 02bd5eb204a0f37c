import type { OpRegistry } from '../gateway/registry.js';
import type { PartyService } from '../services/partyService.js';
import { memberOf } from './gameOps.js';

/** party.*: protocol ops → the party service. */
export function registerPartyOps(registry: OpRegistry, parties: PartyService): void {
  registry.register('party.invite', async (data, { session }) => ({ party: await parties.invite(memberOf(session), data.userId) }));
  registry.register('party.accept', async (data, { session }) => ({ party: await parties.accept(memberOf(session), data.partyId) }));
  registry.register('party.decline', async (data, { session }) => {
    await parties.decline(memberOf(session), data.partyId);
    return {};
  });
  registry.register('party.leave', async (_data, { session }) => {
    await parties.inMine(session.userId, { type: 'leave', userId: session.userId, reason: 'left' });
    return {};
  });
  registry.register('party.kick', async (data, { session }) => {
    await parties.inMine(session.userId, { type: 'kick', by: memberOf(session), userId: data.userId });
    return {};
  });
  registry.register('party.promote', async (data, { session }) => {
    await parties.inMine(session.userId, { type: 'promote', by: memberOf(session), userId: data.userId });
    return {};
  });
  registry.register('party.setAttributes', async (data, { session }) => ({
    party: (await parties.inMine(session.userId, { type: 'setAttributes', by: memberOf(session), attributes: data.attributes }))!,
  }));
  registry.register('party.go', (data, { session }) => parties.go(memberOf(session), data.queue, data.profile));
  registry.register('party.current', (_data, { session }) => parties.current(session.userId));
}
