/**
 * The accounts domain's public API: sign-up/login/profile routes and the authentication middleware. Other domains
 * learn who is signed in from `c.get("userId")` / platform's currentPrincipal, not from accounts' tables or tokens.
 */
export { authRoutes } from "./routes";
export { authenticate, requireAuth, requireRole, currentClaims } from "./middleware";
export type { AccessClaims } from "./jwt";
export type { Role } from "./tables";
export { accountSettings } from "./settings";
export { accountEmailFor, isAccountEmailTask, DEFAULT_MAILS_PER_ADDRESS_PER_HOUR, VERIFY_TOKEN_TTL_SECONDS, RESET_TOKEN_TTL_SECONDS } from "./account-email";
export type { AccountEmail, AccountEmailTask } from "./account-email";
