import os
from typing import Any

from celery import Celery
from celery.worker.consumer import Consumer as CeleryConsumer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")


class Consumer(CeleryConsumer):
    """The worker's broker consumer, with mingle and gossip always off.

    Both talk to the other workers over fanout channels that we never use (no task is ever
    revoked, nothing watches worker heartbeats), and both are where a Redis restart hurts:
    after a broker loss Gossip's channel is closed on a connection already gone (our restart
    test logged "Error on restarting Gossip: AttributeError"; kombu#582 is the same path ending
    in the 'hostname' AttributeError that issue 9 reports), upstream's reports of workers that
    stop consuming after a Redis restart name them (celery#8030), and Mingle adds a second of
    waiting to every reconnect. Set here rather than on each command line, so that
    `celery -A shop worker` with no argument gets it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(without_mingle=True, without_gossip=True)
        super().__init__(*args, **kwargs)


app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.worker_consumer = "shop.celery:Consumer"
app.autodiscover_tasks()
