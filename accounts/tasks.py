from celery import shared_task


@shared_task
def tokens_flush_expired_task() -> int:
    """Nightly: forget refresh tokens and API log-ins that expired (idempotent)."""
    from accounts.services import tokens_flush_expired

    return tokens_flush_expired()
