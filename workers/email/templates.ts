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

/** The email-verification message with its one-time link. */
export function verifyEmailMessage(to: string, name: string | null, link: string): RenderedEmail {
  const hello = name ? `Hello ${name},` : "Hello,";
  return {
    to,
    subject: "Confirm your email address",
    html: layout("Confirm your email address", `<p>${escapeHtml(hello)}</p><p>Confirm this address for your NexusBooks account:</p>
<p><a href="${escapeHtml(link)}">Confirm my email</a></p><p>The link works once and expires in 24 hours.</p>`),
    text: `${hello}\n\nConfirm this address for your NexusBooks account:\n${link}\n\nThe link works once and expires in 24 hours.\n`,
  };
}

/** The password-reset message with its one-time link. */
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
