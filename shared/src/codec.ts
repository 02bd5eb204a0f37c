import type { ErrorBody } from './errors.js';

/**
 * The wire encoding, kept behind one interface so a binary codec can be
 * negotiated later without touching the gateway or the SDK.
 */
export interface Codec {
  decode(text: string): unknown;
  encode(frame: unknown): string;
  /** An event frame of one stream, built once for all its subscribers from data already encoded. */
  eventFrame(ev: string, stream: string, offset: number, epoch: string, encodedData: string): string;
  okReply(re: number, data: unknown): string;
  errorReply(re: number | null, error: ErrorBody): string;
}

export const jsonCodec: Codec = {
  decode: (text) => JSON.parse(text),
  encode: (frame) => JSON.stringify(frame),
  eventFrame: (ev, stream, offset, epoch, encodedData) => `{"ev":${JSON.stringify(ev)},"stream":${JSON.stringify(stream)},"offset":${offset},"epoch":${JSON.stringify(epoch)},"data":${encodedData}}`,
  okReply: (re, data) => JSON.stringify({ re, ok: true, data: data ?? null }),
  errorReply: (re, error) => JSON.stringify({ re, ok: false, error }),
};
