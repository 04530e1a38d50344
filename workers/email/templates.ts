/** Transactional email bodies, HTML and plain text, with every interpolated value escaped. */

export interface RenderedEmail {
  to: string;
  subject: string;
  html: string;
  text: string;
}

const escapeHtml = (s: string): string =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&#39;");

function layout(title: string, bodyHtml: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:560px;margin:auto;padding:24px;color:#222">
<h1 style="font-size:20px">${escapeHtml(title)}</h1>${bodyHtml}
<p style="color:#777;font-size:12px">NexusBooks · you receive this because of an action on your account.</p></body></html>`;
}

/**
 * The email-verification message with its one-time link. It goes to an address nobody has proved yet, so it
 * carries no text anyone could choose at sign-up (not even the name): it cannot be used to mail arbitrary words
 * from our domain to a stranger.
 */
export function verifyEmailMessage(to: string, link: string): RenderedEmail {
  return {
    to,
    subject: "Confirm your email address",
    html: layout("Confirm your email address", `<p>Hello,</p><p>Confirm this address for your NexusBooks account:</p>
<p><a href="${escapeHtml(link)}">Confirm my email</a></p><p>The link works once and expires in 24 hours. If you did not sign up, ignore this email.</p>`),
    text: `Hello,\n\nConfirm this address for your NexusBooks account:\n${link}\n\nThe link works once and expires in 24 hours. If you did not sign up, ignore this email.\n`,
  };
}

/** The password-reset message with its one-time link; `name` only when the address is verified (else null). */
export function passwordResetMessage(to: string, name: string | null, link: string): RenderedEmail {
  const hello = name ? `Hello ${name},` : "Hello,";
  return {
    to,
    subject: "Reset your password",
    html: layout("Reset your password", `<p>${escapeHtml(hello)}</p><p>Someone asked to reset the password of your NexusBooks account.</p>
<p><a href="${escapeHtml(link)}">Choose a new password</a></p><p>The link works once and expires in 30 minutes. If it was not you, ignore this email: your password stays as it is.</p>`),
    text: `${hello}\n\nSomeone asked to reset the password of your NexusBooks account.\nChoose a new password: ${link}\n\nThe link works once and expires in 30 minutes. If it was not you, ignore this email.\n`,
  };
}

/** "Someone tried to sign up with your address": sign-up answers the same either way, so the owner hears it here. */
export function signupAttemptMessage(to: string, loginLink: string, resetLink: string): RenderedEmail {
  return {
    to,
    subject: "Someone tried to sign up with your address",
    html: layout("Someone tried to sign up with your address", `<p>Hello,</p><p>Someone tried to create a NexusBooks account with this address, which already has one. Nothing was changed.</p>
<p>If it was you: <a href="${escapeHtml(loginLink)}">sign in</a>, or <a href="${escapeHtml(resetLink)}">reset your password</a> if you forgot it. If it was not you, you can ignore this email.</p>`),
    text: `Hello,\n\nSomeone tried to create a NexusBooks account with this address, which already has one. Nothing was changed.\nIf it was you, sign in: ${loginLink}\nForgot your password? ${resetLink}\nIf it was not you, you can ignore this email.\n`,
  };
}

/** What the order emails show. */
export interface OrderEmailData {
  email: string;
  number: string;
  currency: string;
  lines: { title: string; format: string; quantity: number; line_total: number }[];
  subtotal: number;
  tax_total: number;
  shipping_total: number;
  grand_total: number;
  link: string;
}

/** Minor units → "USD 12.99". */
export function money(amount: number, currency: string): string {
  return `${currency} ${(amount / 100).toFixed(2)}`;
}

function orderTable(o: OrderEmailData): { html: string; text: string } {
  const rows = o.lines
    .map((l) => `<tr><td>${escapeHtml(l.title)} (${escapeHtml(l.format)}) × ${l.quantity}</td><td style="text-align:right">${escapeHtml(money(l.line_total, o.currency))}</td></tr>`)
    .join("");
  const sums = [
    ["Subtotal", o.subtotal],
    ["Tax", o.tax_total],
    ["Shipping", o.shipping_total],
    ["Total", o.grand_total],
  ] as const;
  const html = `<table style="width:100%;border-collapse:collapse">${rows}${sums.map(([k, v]) => `<tr><td>${k}</td><td style="text-align:right">${escapeHtml(money(v, o.currency))}</td></tr>`).join("")}</table>`;
  const text = `${o.lines.map((l) => `- ${l.title} (${l.format}) x ${l.quantity}: ${money(l.line_total, o.currency)}`).join("\n")}\n${sums.map(([k, v]) => `${k}: ${money(v, o.currency)}`).join("\n")}`;
  return { html, text };
}

/** "Thank you, your order is confirmed" — sent once, when the payment succeeded and the stock was committed. */
export function orderConfirmationMessage(o: OrderEmailData): RenderedEmail {
  const t = orderTable(o);
  return {
    to: o.email,
    subject: `Your NexusBooks order ${o.number} is confirmed`,
    html: layout(`Order ${o.number} confirmed`, `<p>Thank you! We received your payment and are preparing your books.</p>${t.html}<p><a href="${escapeHtml(o.link)}">View your order</a></p>`),
    text: `Thank you! We received your payment for order ${o.number} and are preparing your books.\n\n${t.text}\n\nView your order: ${o.link}\n`,
  };
}

/** The card was declined: the order waits, the shopper can pay again. */
export function paymentFailedMessage(o: OrderEmailData): RenderedEmail {
  return {
    to: o.email,
    subject: `Payment for NexusBooks order ${o.number} did not go through`,
    html: layout("Your payment did not go through", `<p>The payment of ${escapeHtml(money(o.grand_total, o.currency))} for order ${escapeHtml(o.number)} was declined. No money was taken.</p><p><a href="${escapeHtml(o.link)}">Try another payment method</a></p>`),
    text: `The payment of ${money(o.grand_total, o.currency)} for order ${o.number} was declined. No money was taken.\nTry another payment method: ${o.link}\n`,
  };
}

/** A refund was issued (full or partial). */
export function orderRefundedMessage(o: OrderEmailData, amountRefunded: number): RenderedEmail {
  return {
    to: o.email,
    subject: `Refund for NexusBooks order ${o.number}`,
    html: layout("Your refund is on its way", `<p>We refunded ${escapeHtml(money(amountRefunded, o.currency))} for order ${escapeHtml(o.number)}. It reaches your card in 5–10 business days.</p>`),
    text: `We refunded ${money(amountRefunded, o.currency)} for order ${o.number}. It reaches your card in 5-10 business days.\n`,
  };
}

/** Paid after the reservation lapsed and the books sold out meanwhile: refunded in full, with an apology. */
export function outOfStockAfterPaymentMessage(o: OrderEmailData): RenderedEmail {
  return {
    to: o.email,
    subject: `Sorry — order ${o.number} could not be fulfilled`,
    html: layout("We could not fulfil your order", `<p>Your payment for order ${escapeHtml(o.number)} arrived after your reservation expired, and some books sold out in the meantime.</p><p>We refunded the full ${escapeHtml(money(o.grand_total, o.currency))}; it reaches your card in 5–10 business days.</p>`),
    text: `Your payment for order ${o.number} arrived after your reservation expired, and some books sold out in the meantime.\nWe refunded the full ${money(o.grand_total, o.currency)}; it reaches your card in 5-10 business days.\n`,
  };
}
