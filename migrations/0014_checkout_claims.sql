CREATE TABLE "checkout_claims" (
	"order_id" uuid PRIMARY KEY NOT NULL,
	"customer_key" text NOT NULL,
	"ip_key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "checkout_claims" ADD CONSTRAINT "checkout_claims_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "checkout_claims_customer_idx" ON "checkout_claims" USING btree ("customer_key");--> statement-breakpoint
CREATE INDEX "checkout_claims_ip_idx" ON "checkout_claims" USING btree ("ip_key");