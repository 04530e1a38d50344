/**
 * Highlights are HTML: the text is escaped first and only our own `<mark>` tags are raw. Engines mark matches with
 * two private-use characters (they pass through Postgres and Typesense untouched and never appear in the escaped
 * output), and `renderHighlight` turns them into balanced `<mark>…</mark>` around escaped text.
 */

/** Start and end of a match, as the engines are asked to emit them. */
export const MARK_START = "\uE000";
export const MARK_END = "\uE001";
/** Both markers, for stripping them from indexed text (a title holding one could only unbalance, never inject). */
export const MARKERS = MARK_START + MARK_END;

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch);
}

/** Removes the match markers from source text before an engine highlights it. */
export function stripMarkers(text: string): string {
  return text.replace(/[\uE000\uE001]/g, "");
}

/** True when an engine's output marks at least one match. */
export function hasMatch(raw: string | null | undefined): raw is string {
  return typeof raw === "string" && raw.includes(MARK_START);
}

/** Engine output with markers → escaped HTML whose only tags are balanced `<mark>` pairs. */
export function renderHighlight(raw: string): string {
  let out = "";
  let open = false;
  for (const part of raw.split(/([\uE000\uE001])/)) {
    if (part === MARK_START) {
      if (!open) out += "<mark>";
      open = true;
    } else if (part === MARK_END) {
      if (open) out += "</mark>";
      open = false;
    } else {
      out += escapeHtml(part);
    }
  }
  return open ? `${out}</mark>` : out;
}
