/** The cart page: lines with quantity and remove forms, the server's subtotal, the coupon slot, the way to checkout. */
import type { CartView } from "../cart";
import type { CategoryNode } from "../catalog";
import { Layout } from "./layout";
import { formatMoney, formatName } from "./links";
import { CSRF_FIELD } from "./web-session";

export interface CartPageData {
  /** Null: the browser has no cart yet. */
  cart: CartView | null;
  csrf: string;
  /** A message about the last change (from a fixed table: never text from the request). */
  notice: string | null;
  maxLineQty: number;
  nav: readonly CategoryNode[];
}

/** The hidden CSRF field of every state-changing form. */
export const CsrfField = ({ token }: { token: string }) => <input type="hidden" name={CSRF_FIELD} value={token} />;

/** The cart page. */
export function CartPage({ data }: { data: CartPageData }) {
  const cart = data.cart;
  const lines = cart?.lines ?? [];
  return (
    <Layout title="Your cart" nav={data.nav}>
      <h1>Your cart</h1>
      {data.notice ? (
        <p class="notice" role="alert">
          {data.notice}
        </p>
      ) : null}
      {lines.length === 0 || !cart ? (
        <section class="empty-cart">
          <p>Your cart is empty.</p>
          <p>
            <a href="/search">Browse all books</a>
          </p>
        </section>
      ) : (
        <>
          <table class="cart-lines">
            <caption class="visually-hidden">Books in your cart</caption>
            <thead>
              <tr>
                <th scope="col">Book</th>
                <th scope="col">Format</th>
                <th scope="col">Price</th>
                <th scope="col">Quantity</th>
                <th scope="col">Total</th>
                <th scope="col">
                  <span class="visually-hidden">Remove</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {lines.map((l) => {
                const id = `qty-${l.sku}`;
                const format = formatName(l.format);
                return (
                  <tr class="cart-line" data-sku={l.sku}>
                    <th scope="row">
                      <a href={`/books/${encodeURIComponent(l.slug)}`}>{l.title}</a>
                      {l.in_stock ? null : <span class="muted"> (not available in this quantity)</span>}
                    </th>
                    <td>{format}</td>
                    <td class="price">{formatMoney(l.unit_price, l.currency)}</td>
                    <td>
                      <form class="qty-form" method="post" action={`/cart/items/${encodeURIComponent(l.sku)}`}>
                        <CsrfField token={data.csrf} />
                        <label class="visually-hidden" for={id}>
                          Quantity of {l.title} ({format})
                        </label>
                        <input id={id} name="quantity" type="number" inputmode="numeric" min={1} max={data.maxLineQty} step={1} value={String(l.quantity)} required />
                        <button type="submit">Update</button>
                      </form>
                    </td>
                    <td class="price">{formatMoney(l.line_total, l.currency)}</td>
                    <td>
                      <form method="post" action={`/cart/items/${encodeURIComponent(l.sku)}/remove`}>
                        <CsrfField token={data.csrf} />
                        <button type="submit" aria-label={`Remove ${l.title} (${format})`}>
                          Remove
                        </button>
                      </form>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <dl class="totals">
            <dt>Items</dt>
            <dd>{cart.item_count}</dd>
            <dt>Subtotal</dt>
            <dd class="subtotal">{formatMoney(cart.subtotal, cart.currency)}</dd>
          </dl>
          <p class="muted">Tax, shipping and any coupon discount are calculated at checkout.</p>
          <form class="coupon-form" method="post" action="/cart/coupon">
            <CsrfField token={data.csrf} />
            <label for="coupon-code">Coupon code</label>
            <input id="coupon-code" name="code" type="text" value={cart.coupon ?? ""} maxlength={32} autocomplete="off" />
            <button type="submit">{cart.coupon ? "Change coupon" : "Apply coupon"}</button>
          </form>
          <p>
            <a class="button" href="/checkout">
              Check out
            </a>
          </p>
        </>
      )}
    </Layout>
  );
}
