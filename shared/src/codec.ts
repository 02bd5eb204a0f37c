import type { ErrorBody } from './errors.js';

/**
 * The wire encoding, kept behind one interface so a binary codec can be
 * negotiated later without touching the gateway or the SDK.
 */
export interface Codec {
  decode(text: string): unknown;
  encode(frame: unknown): string;
  /**
   * An event frame from data already encoded once: fan-out to many sessions
   * encodes `data` once and only splices in each session's `seq`.
   */
  eventFrame(ev: string, seq: number, encodedData: string): string;
  okReply(re: number, data: unknown): string;
  errorReply(re: number | null, error: ErrorBody): string;
}

export const jsonCodec: Codec = {
  decode: (text) => JSON.parse(text),
  encode: (frame) => JSON.stringify(frame),
  eventFrame: (ev, seq, encodedData) => `{"ev":${JSON.stringify(ev)},"seq":${seq},"data":${encodedData}}`,
  okReply: (re, data) => JSON.stringify({ re, ok: true, data: data ?? null }),
  errorReply: (re, error) => JSON.stringify({ re, ok: false, error }),
};
