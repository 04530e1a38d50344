/** Input schemas of the accounts routes: strict (unknown fields such as `role` are rejected), bounded. */
import { z } from "zod";

const email = z.email("must be an email address").max(254);

export const signupSchema = z.strictObject({
  email,
  // Length is enforced by the policy check with its own codes; this only bounds the input.
  password: z.string().min(1).max(1024),
  name: z.string().trim().min(1).max(120).optional(),
});

export const loginSchema = z.strictObject({
  email: z.string().trim().min(1).max(254),
  password: z.string().min(1).max(1024),
});

export const emptyBodySchema = z.strictObject({});
