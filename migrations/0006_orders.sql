CREATE TABLE "dead_letters" (
	"message_id" text PRIMARY KEY NOT NULL,
	"queue" text NOT NULL,
	"task_name" text,
	"job_id" text,
	"body" jsonb NOT NULL,
	"attempts" integer NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"redriven_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "order_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"order_id" uuid NOT NULL,
	"from_status" text,
	"to_status" text NOT NULL,
	"reason" text NOT NULL,
	"actor" text NOT NULL,
	"ref" text,
	"details" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "order_lines" (
	"order_id" uuid NOT NULL,
	"line_no" integer NOT NULL,
	"variant_id" bigint NOT NULL,
	"product_id" bigint NOT NULL,
	"sku" text NOT NULL,
	"title" text NOT NULL,
	"format" text NOT NULL,
	"unit_price" integer NOT NULL,
	"quantity" integer NOT NULL,
	"line_total" integer NOT NULL,
	"hold_id" text NOT NULL,
	CONSTRAINT "order_lines_order_id_line_no_pk" PRIMARY KEY("order_id","line_no"),
	CONSTRAINT "order_lines_qty_ck" CHECK ("order_lines"."quantity" > 0),
	CONSTRAINT "order_lines_total_ck" CHECK ("order_lines"."line_total" = "order_lines"."unit_price" * "order_lines"."quantity")
);
--> statement-breakpoint
CREATE TABLE "orders" (
	"id" uuid PRIMARY KEY NOT NULL,
	"number" bigserial NOT NULL,
	"user_id" uuid,
	"cart_id" text NOT NULL,
	"checkout_key" text NOT NULL,
	"email" text NOT NULL,
	"status" text NOT NULL,
	"currency" char(3) NOT NULL,
	"subtotal" integer NOT NULL,
	"discount_total" integer DEFAULT 0 NOT NULL,
	"tax_total" integer NOT NULL,
	"shipping_total" integer NOT NULL,
	"grand_total" integer NOT NULL,
	"tax_rate_bps" integer NOT NULL,
	"shipping_region" text NOT NULL,
	"shipping_address_enc" text NOT NULL,
	"coupon_code" text,
	"payment_intent_id" text,
	"amount_paid" integer DEFAULT 0 NOT NULL,
	"amount_refunded" integer DEFAULT 0 NOT NULL,
	"holds_expire_at" timestamp with time zone NOT NULL,
	"paid_at" timestamp with time zone,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "orders_status_ck" CHECK ("orders"."status" in ('pending_payment','paid','fulfilled','shipped','delivered','cancelled','payment_failed','expired','refunded','partially_refunded')),
	CONSTRAINT "orders_totals_ck" CHECK ("orders"."subtotal" >= 0 and "orders"."discount_total" >= 0 and "orders"."tax_total" >= 0 and "orders"."shipping_total" >= 0 and "orders"."grand_total" = "orders"."subtotal" - "orders"."discount_total" + "orders"."tax_total" + "orders"."shipping_total"),
	CONSTRAINT "orders_refund_ck" CHECK ("orders"."amount_refunded" >= 0 and "orders"."amount_paid" >= 0 and "orders"."amount_refunded" <= greatest("orders"."amount_paid", "orders"."grand_total"))
);
--> statement-breakpoint
CREATE TABLE "shipping_rules" (
	"region" text PRIMARY KEY NOT NULL,
	"flat_fee" integer NOT NULL,
	"free_over" integer,
	"currency" char(3) DEFAULT 'USD' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tax_rates" (
	"region" text PRIMARY KEY NOT NULL,
	"rate_bps" integer NOT NULL,
	"name" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "payment_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"payment_intent_id" text,
	"order_id" text,
	"payload" jsonb NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"processed_at" timestamp with time zone,
	"outcome" text
);
--> statement-breakpoint
ALTER TABLE "order_history" ADD CONSTRAINT "order_history_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_lines" ADD CONSTRAINT "order_lines_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dead_letters_queue_idx" ON "dead_letters" USING btree ("queue","received_at");--> statement-breakpoint
CREATE INDEX "order_history_order_idx" ON "order_history" USING btree ("order_id","id");--> statement-breakpoint
CREATE INDEX "order_lines_sku_idx" ON "order_lines" USING btree ("sku");--> statement-breakpoint
CREATE UNIQUE INDEX "orders_number_uq" ON "orders" USING btree ("number");--> statement-breakpoint
CREATE UNIQUE INDEX "orders_payment_intent_uq" ON "orders" USING btree ("payment_intent_id");--> statement-breakpoint
CREATE UNIQUE INDEX "orders_cart_key_uq" ON "orders" USING btree ("cart_id","checkout_key");--> statement-breakpoint
CREATE INDEX "orders_user_idx" ON "orders" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "orders_status_idx" ON "orders" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "payment_events_pi_idx" ON "payment_events" USING btree ("payment_intent_id");--> statement-breakpoint
-- Reference data the checkout needs on a fresh database: tax by region and flat shipping rules (operators edit
-- these rows; orders keep the rate they were charged).
INSERT INTO "tax_rates" ("region", "rate_bps", "name") VALUES
  ('*', 0, 'No tax'), ('US', 0, 'US (no state tax)'), ('US-CA', 725, 'California sales tax'), ('US-NY', 400, 'New York sales tax'),
  ('US-TX', 625, 'Texas sales tax'), ('GB', 2000, 'UK VAT'), ('DE', 1900, 'German VAT'), ('FR', 2000, 'French VAT'), ('CA', 500, 'Canada GST')
ON CONFLICT DO NOTHING;--> statement-breakpoint
INSERT INTO "shipping_rules" ("region", "flat_fee", "free_over", "currency") VALUES
  ('*', 1500, NULL, 'USD'), ('US', 499, 3500, 'USD'), ('CA', 999, 7500, 'USD'), ('GB', 1299, 10000, 'USD')
ON CONFLICT DO NOTHING;
