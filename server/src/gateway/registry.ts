import { ops, type OpName, type OpParsed, type OpResult } from '@foyer/shared';
import type { Session } from './session.js';

export interface RequestContext {
  session: Session;
  now: number;
}

export type Handler<O extends OpName> = (data: OpParsed<O>, ctx: RequestContext) => OpResult<O> | Promise<OpResult<O>>;

/**
 * Op name → handler. The schemas live in shared/ (`ops`), so a handler only
 * ever sees data that already passed validation. Feature modules register
 * their ops here; the node refuses to start while any op of the protocol has
 * no handler.
 */
export class OpRegistry {
  private readonly handlers = new Map<OpName, Handler<OpName>>();

  register<O extends OpName>(op: O, handler: Handler<O>): void {
    if (this.handlers.has(op)) throw new Error(`op ${op} registered twice`);
    this.handlers.set(op, handler as unknown as Handler<OpName>);
  }

  get(op: OpName): Handler<OpName> | undefined {
    return this.handlers.get(op);
  }

  missing(): OpName[] {
    return (Object.keys(ops) as OpName[]).filter((op) => !this.handlers.has(op));
  }
}
