import logging

from celery import shared_task

logger = logging.getLogger(__name__)


# A refused or timed-out mail (smtplib's errors are OSErrors) is retried with backoff; the
# service counts every try in the order row, so retries and the sweeper's requeues together
# stay within ORDER_CONFIRMATION_MAX_ATTEMPTS.
@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def order_confirmation_send_task(*, order_id: int) -> bool:
    from orders.services import order_confirmation_send

    return order_confirmation_send(order_id=order_id)


@shared_task
def orders_expire_unpaid_task() -> int:
    from orders.services import order_expire_unpaid

    return order_expire_unpaid()


@shared_task
def stock_drift_check_task() -> int:
    """Report variants whose reservations disagree with the orders holding them."""
    from orders.selectors import stock_drift

    drift = stock_drift()
    for row in drift:
        logger.error("stock drift: %s", row)
    return len(drift)


@shared_task
def order_confirmations_requeue_task() -> int:
    from orders.services import order_confirmations_requeue

    return order_confirmations_requeue()
