/** The email domain's public API: rendering transactional emails, the provider that sends them, the dev mailbox. */
export { devMailboxRoutes } from "./dev-routes";
export { emailProvider, httpEmailProvider } from "./provider";
export type { EmailProvider } from "./provider";
export {
  verifyEmailMessage,
  passwordResetMessage,
  signupAttemptMessage,
  orderConfirmationMessage,
  paymentFailedMessage,
  orderRefundedMessage,
  outOfStockAfterPaymentMessage,
  money,
} from "./templates";
export type { RenderedEmail, OrderEmailData } from "./templates";
