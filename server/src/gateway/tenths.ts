/**
 * Times a node keeps per connection and session, in tenths of a second
 * since this process started. Small integers: V8 keeps them in the field
 * itself for the first 6.8 years, where a millisecond timestamp (Date.now())
 * is a 16-byte heap number per field, 64 bytes a session. A tenth is the
 * gateway's sweep tick at the default heartbeat interval: the heartbeat and
 * the deadlines are checked no less exactly than before.
 */
const START = Date.now();

/** `ms` (a Date.now() time) in tenths, rounded down: for when something happened. */
export const tenths = (ms: number): number => Math.floor((ms - START) / 100);

/** `ms` in tenths, rounded up: for a deadline, which is then never early. */
export const tenthsUntil = (ms: number): number => Math.ceil((ms - START) / 100);

/** A time in tenths back in milliseconds (Date.now() terms). */
export const msOf = (t: number): number => START + t * 100;
