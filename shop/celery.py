import contextlib
import logging
import os
from collections.abc import Callable
from typing import Any

from celery import Celery, signals
from celery.worker.consumer import Consumer as CeleryConsumer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

if os.environ.get("METRICS_WORKER_PORT", "0") not in ("", "0"):
    # A worker serving metrics: its pool's child processes count in files of one directory
    # (prometheus-client's multiprocess mode), which must be chosen before the client is
    # imported. A fresh one per start, unless the operator gave one.
    import tempfile

    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="bazaar-metrics-"))

logger = logging.getLogger(__name__)


class Consumer(CeleryConsumer):
    """The worker's broker consumer, made to outlive a broker restart with no task left behind
    (tests/test_broker_restart.py kills Redis under it). Three changes to Celery's:

    - Mingle and gossip are off. Both talk to other workers over fanout channels we never use
      (no task is ever revoked, nothing watches worker heartbeats); after a broker loss Gossip's
      channel is closed on a connection already gone ("Error on restarting Gossip", kombu#582),
      upstream's workers that stop consuming after a Redis restart name them (celery#8030), and
      Mingle adds a second of waiting to every reconnect.
    - An ack (or reject) for a message of a connection that is already closed is dropped. Celery
      sends it anyway when a task finishes after the broker went; kombu's Redis channel then
      fails building a client for the closed connection ("'NoneType' object has no attribute
      'hostname'"), which escaped the event loop and ended the worker (issue 9, item 14). The
      message stays in Redis' unacked set and is requeued below.
    - Messages this worker had taken but not acked when the connection broke are put back on
      their queue as soon as it is back. kombu tries at the moment of the loss, when Redis is
      unreachable, and otherwise leaves them to visibility_timeout (3 h): a task received just
      before a broker crash waited that long to run. A task that finished during the outage
      may so run twice, which acks_late already allows (tasks are idempotent).

    Set as worker_consumer rather than on each command line, so `celery -A shop worker` with no
    argument gets it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(without_mingle=True, without_gossip=True)
        # Delivery tags of messages taken on a connection that broke, until requeued.
        self.tags_to_requeue: set[str] = set()
        super().__init__(*args, **kwargs)

    def call_soon_ack(self, p: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        message = getattr(p, "__self__", None)  # p is message.ack_log_error / reject_log_error
        channel = getattr(message, "channel", None)
        transport = getattr(channel, "connection", None)
        if channel is not None and getattr(transport, "client", True) is None:
            logger.info(
                "Not acking %s: its broker connection is closed; it will be requeued",
                message.delivery_tag,  # type: ignore[union-attr]
            )
            return None
        return super().call_soon_ack(p, *args, **kwargs)

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        channel = getattr(self.task_consumer, "channel", None)
        delivered = getattr(getattr(channel, "qos", None), "_delivered", None) or {}
        self.tags_to_requeue.update(delivered)
        super().on_connection_error_after_connected(exc)

    def connect(self) -> Any:
        connection = super().connect()
        if self.tags_to_requeue:
            try:
                self._requeue(connection)
            except BaseException:
                # The broker went again: the tags not yet requeued wait for the next connection.
                with contextlib.suppress(Exception):
                    connection.release()
                raise
        return connection

    def _requeue(self, connection: Any) -> None:
        channel = connection.channel()
        try:
            restore = getattr(channel.qos, "restore_by_tag", None)  # the Redis transport's
            count = len(self.tags_to_requeue)
            for tag in sorted(self.tags_to_requeue):
                if restore is not None:
                    restore(tag)  # atomic; nothing happens for a tag no longer in unacked
                self.tags_to_requeue.discard(tag)
        finally:
            channel.close()
        logger.info("Requeued %d message(s) taken before the broker connection was lost", count)


app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.worker_consumer = "shop.celery:Consumer"
app.autodiscover_tasks()


# --- Logs and metrics in the worker (shop/core/logs.py, shop/core/metrics.py).


@signals.setup_logging.connect(dispatch_uid="shop.celery.setup_logging")
def _logging_from_settings(**_: Any) -> None:
    """The worker logs as the web does (settings.LOGGING: JSON or plain, with the request
    id) instead of Celery's own format; connecting this tells Celery to leave logging alone."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@signals.worker_init.connect(dispatch_uid="shop.celery.metrics_server")
def _metrics_server(**_: Any) -> None:
    from django.conf import settings

    if not settings.METRICS_WORKER_PORT:
        return
    from prometheus_client import start_http_server

    from shop.core.metrics import process_metrics

    start_http_server(
        settings.METRICS_WORKER_PORT,
        addr=settings.METRICS_WORKER_ADDR,
        registry=process_metrics(),  # type: ignore[arg-type]
    )
    logger.info(
        "metrics served on %s:%s", settings.METRICS_WORKER_ADDR, settings.METRICS_WORKER_PORT
    )


def _connect_request_id() -> None:
    from shop.core.logs import (
        task_publish_add_request_id,
        task_request_id_bind,
        task_request_id_unbind,
    )

    signals.before_task_publish.connect(
        task_publish_add_request_id, weak=False, dispatch_uid="shop.celery.request_id_publish"
    )
    signals.task_prerun.connect(
        task_request_id_bind, weak=False, dispatch_uid="shop.celery.request_id_bind"
    )
    signals.task_postrun.connect(
        task_request_id_unbind, weak=False, dispatch_uid="shop.celery.request_id_unbind"
    )


_connect_request_id()
