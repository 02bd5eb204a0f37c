import { z } from 'zod';
import { Timestamp } from './common.js';

export interface EventSpec<D extends z.ZodType = z.ZodType> {
  data: D;
  doc: string;
}

function event<D extends z.ZodType>(spec: EventSpec<D>): EventSpec<D> {
  return spec;
}

export const events = {
  'server.notice': event({
    doc: 'An operator\'s message to players (maintenance, news), sent through the admin API to everyone or to one user.',
    data: z.object({ text: z.string(), at: Timestamp }),
  }),
} as const satisfies Record<string, EventSpec>;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventData<E extends EventName> = z.output<Events[E]['data']>;
