"""Payments services, one module per concern:

- `start`: opening a payment and handing it to its provider;
- `webhooks`: taking provider callbacks in (verify, store, queue) and applying them;
- `refunds`: requesting, executing and booking refunds;
- `cancel`: cancelling an order, with the refund of what it was paid.

Lock order, shared with the orders services: order, then payment, then variants. Calls to
providers happen outside database transactions: a pending row with an idempotency key is
committed first, the provider is called, and the answer is recorded in a new transaction.

Payments sits above orders: it calls the orders services with what happened to the money
and acts on their verdict (a refund it issues itself); orders never imports payments.
"""
