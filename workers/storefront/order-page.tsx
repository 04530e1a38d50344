/** A guest's order link: the order's status (refreshed by order-status.js until it settles), lines and totals. */
import type { CategoryNode } from "../catalog";
import type { OrderDetail } from "../orders";
import { ASSETS_PATH, Layout } from "./layout";
import { OrderSummary } from "./checkout-page";

export interface OrderPageData {
  order: OrderDetail;
  /** Just paid from the payment page: show the confirmation. */
  placed: boolean;
  nav: readonly CategoryNode[];
}

const STATUS_NAMES: Record<string, string> = {
  pending_payment: "Awaiting payment",
  paid: "Paid",
  fulfilled: "Being prepared",
  shipped: "Shipped",
  delivered: "Delivered",
  cancelled: "Cancelled",
  refunded: "Refunded",
  expired: "Expired",
};

/** The order page. */
export function OrderPage({ data }: { data: OrderPageData }) {
  const { order } = data;
  const pending = order.status === "pending_payment";
  return (
    <Layout title={`Order ${order.number}`} nav={data.nav}>
      <h1>Order {order.number}</h1>
      {data.placed ? (
        <p class="notice confirmation" role="status">
          Thank you! Your order {order.number} is placed; a confirmation is on its way to {order.email}.
        </p>
      ) : null}
      <p id="order-status" class={`order-status status-${order.status}`} aria-live="polite" data-pending={pending ? "true" : undefined}>
        Status: <strong>{STATUS_NAMES[order.status] ?? order.status}</strong>
      </p>
      {pending ? <p class="muted">This page updates itself when the payment is confirmed.</p> : null}
      <OrderSummary order={order} />
      {pending ? <script src={`${ASSETS_PATH}/order-status.js`} defer></script> : null}
    </Layout>
  );
}
