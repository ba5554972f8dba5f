"""Fulfilment services, one module per concern:

- `shipments`: merchants ship lines of paid orders; carriers' tracking callbacks (stored in
  the payments inbox, applied here) move shipments and, once all is delivered, the order;
- `returns`: shoppers ask to send delivered items back, merchants decide, receive and
  refund (through payments), restocking what can be sold again.

Lock order, as everywhere: the order, then its payments, then lines and variants; a
shipment or return after its order.
"""
