import { z } from 'zod';

/** Opaque user id, assigned by the server (or the external issuer's subject). */
export const UserId = z.string().min(1).max(128);

/** A name people see: trimmed, 1–32 characters, no control characters. */
export const DisplayName = z
  .string()
  .trim()
  .min(1)
  .max(32)
  .regex(/^[^\p{Cc}\p{Cf}]+$/u, 'must not contain control or format characters');

/** Milliseconds since the Unix epoch. */
export const Timestamp = z.number().int().nonnegative();

/** A token as sent by clients; the bound keeps absurd frames cheap to reject. */
export const Token = z.string().min(1).max(8192);

/** A user as others see them. */
export const UserRef = z.object({ userId: UserId, name: z.string() }).meta({ id: 'UserRef', description: 'A user as others see them: id and display name.' });
