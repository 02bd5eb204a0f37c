import type { PlayerView } from '@foyer/shared';
import type { Member } from '../kit.js';
import { bySlot, teamCount, type PlayerProfile } from './state.js';

/** Where a player sits: slot and team for a newcomer, and again for those a smaller game no longer has room for. */

export function newPlayer(by: Member, profile: PlayerProfile, slot: number, teamIndex: number, now: number): PlayerView {
  return {
    userId: by.userId,
    name: by.name,
    slot,
    teamIndex,
    level: profile.level,
    ...(profile.school !== undefined && { school: profile.school }),
    rating: profile.rating,
    ready: false,
    connected: true,
    confirmed: false,
    joinedAt: now,
  };
}

export function lowestFreeSlot(players: Pick<PlayerView, 'slot'>[], maxPlayers: number): number {
  const taken = new Set(players.map((p) => p.slot));
  let slot = 1;
  while (taken.has(slot) && slot < maxPlayers) slot++; // callers ensure a free one exists
  return slot;
}

/** The team with the fewest players, lowest index on ties. */
export function emptiestTeam(players: Pick<PlayerView, 'teamIndex'>[], teams: number): number {
  const counts = Array.from({ length: teams }, (_, i) => players.filter((p) => p.teamIndex === i).length);
  return counts.indexOf(Math.min(...counts));
}

/**
 * After maxPlayers shrinks: players whose slot or team no longer exists move
 * to the lowest free slot and the emptiest team; everyone else stays put.
 */
export function reseat(players: PlayerView[], maxPlayers: number, teamSize: number): PlayerView[] {
  const teams = teamCount({ maxPlayers, teamSize });
  const seated: Pick<PlayerView, 'slot'>[] = players.filter((p) => p.slot <= maxPlayers);
  const teamed: Pick<PlayerView, 'teamIndex'>[] = players.filter((p) => p.teamIndex < teams);
  return players
    .map((p) => {
      if (p.slot <= maxPlayers && p.teamIndex < teams) return p;
      const slot = p.slot <= maxPlayers ? p.slot : lowestFreeSlot(seated, maxPlayers);
      const teamIndex = p.teamIndex < teams ? p.teamIndex : emptiestTeam(teamed, teams);
      if (slot !== p.slot) seated.push({ slot });
      if (teamIndex !== p.teamIndex) teamed.push({ teamIndex });
      return { ...p, slot, teamIndex };
    })
    .sort(bySlot);
}
