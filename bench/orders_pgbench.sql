-- PostgreSQL's ceiling for placing an order (bench/orders_suite.py runs this with pgbench).
--
-- The eight data statements `orders.services.order_place` sends for a one-line cart, in its
-- order and with its column lists (captured with CaptureQueriesContext; the suite prints
-- them): the shipping method, the cart's lines locked with the cart, the variant locked with
-- its product and merchant, the reservation, the order (its number from the database
-- sequence function), its line, the cart emptied, the event.
-- Literal values Django would send are variables here; `quote_literal` only makes a name
-- safe to paste back into the INSERT of the order line, as Django's client-side binding does.
--
-- Variables (pgbench -D): buyer_lo, buyer_hi (users with a cart), variant_lo, variant_hi
-- (variants with ample stock; lo = hi is the hot variant), method_id (a shipping method).
\set buyer random(:buyer_lo, :buyer_hi)
\set variant random(:variant_lo, :variant_hi)
BEGIN;
SELECT "shipping_shippingmethod"."id", "shipping_shippingmethod"."created_at", "shipping_shippingmethod"."updated_at", "shipping_shippingmethod"."name", "shipping_shippingmethod"."price_amount", "shipping_shippingmethod"."currency", "shipping_shippingmethod"."countries", "shipping_shippingmethod"."estimated_days", "shipping_shippingmethod"."is_active", "shipping_shippingmethod"."position", "shipping_shippingmethod"."price_amount" AS method_price, quote_literal("shipping_shippingmethod"."name") AS q_method_name FROM "shipping_shippingmethod" WHERE ("shipping_shippingmethod"."is_active" AND "shipping_shippingmethod"."id" = :method_id) ORDER BY "shipping_shippingmethod"."position" ASC, "shipping_shippingmethod"."price_amount" ASC, "shipping_shippingmethod"."id" ASC LIMIT 1 \gset
SELECT l.cart_id, l.variant_id, l.quantity FROM cart_cartline l JOIN cart_cart c ON c.id = l.cart_id WHERE c.user_id = :buyer ORDER BY l.variant_id FOR UPDATE;
SELECT v.id, v.sku, v.name, v.price_amount AS unit_price, v.currency, v.stock, v.reserved, v.stock_available, v.is_active, p.id AS line_product, p.name, p.is_active, m.id AS line_merchant, m.name, m.is_active, quote_literal(p.name) AS q_product_name, quote_literal(v.name) AS q_variant_name, quote_literal(v.sku) AS q_sku, quote_literal(m.name) AS q_merchant_name FROM catalog_variant v JOIN catalog_product p ON p.id = v.product_id JOIN catalog_merchant m ON m.id = p.merchant_id WHERE v.id = ANY(ARRAY[:variant]::bigint[]) ORDER BY v.id FOR UPDATE OF v \gset
UPDATE catalog_variant AS v SET reserved = v.reserved + d.reserved, stock = v.stock + d.stock, updated_at = now() FROM unnest(ARRAY[:variant]::bigint[], ARRAY[1]::int[], ARRAY[0]::int[]) AS d(id, reserved, stock) WHERE v.id = d.id;
INSERT INTO "orders_order" ("created_at", "updated_at", "number", "user_id", "email", "status", "payment_status", "fulfilment_status", "currency", "subtotal_amount", "shipping_amount", "total_amount", "shipping_method_id", "shipping_method_name", "ship_full_name", "ship_line1", "ship_line2", "ship_city", "ship_postal_code", "ship_country", "ship_phone", "paid_at", "cancelled_at", "cancelled_by_kind", "cancel_reason", "acknowledged_at", "confirmation_sent_at", "confirmation_attempts", "confirmation_claimed_at") VALUES (now(), now(), DEFAULT, :buyer, 'pgbench@bench-buyers.invalid', 'pending_payment', 'unpaid', 'unfulfilled', 'USD', :unit_price, :method_price, :unit_price + :method_price, :method_id, :q_method_name, 'Bench Buyer', '1 Bench Street', '', 'Berlin', '10115', 'DE', '', NULL, NULL, '', '', NULL, NULL, 0, NULL) RETURNING "orders_order"."id" AS order_id, "orders_order"."number", "orders_order"."confirmation_attempts" \gset
INSERT INTO "orders_orderline" ("order_id", "variant_id", "product_id", "merchant_id", "product_name", "variant_name", "sku", "merchant_name", "unit_price_amount", "quantity", "line_total_amount", "currency", "shipped_quantity", "cancelled_quantity", "acknowledged_at") VALUES (:order_id, :variant, :line_product, :line_merchant, :q_product_name, :q_variant_name, :q_sku, :q_merchant_name, :unit_price, 1, :unit_price, 'USD', 0, 0, NULL) RETURNING "orders_orderline"."id";
DELETE FROM cart_cartline WHERE cart_id IN (SELECT id FROM cart_cart WHERE user_id = :buyer);
INSERT INTO "orders_orderevent" ("order_id", "kind", "from_status", "to_status", "actor_id", "note", "created_at") VALUES (:order_id, 'placed', '', 'pending_payment', :buyer, '', now()) RETURNING "orders_orderevent"."id";
COMMIT;
