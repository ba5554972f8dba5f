import pytest

# The carriers migration 0002 adds, which a transactional test before may have flushed.
CARRIERS = [
    ("sandbox", "Bazaar Sandbox Post", "", True),
    (
        "dhl",
        "DHL",
        "https://www.dhl.com/global-en/home/tracking.html?tracking-id={tracking_number}",
        False,
    ),
    ("ups", "UPS", "https://www.ups.com/track?tracknum={tracking_number}", False),
]


@pytest.fixture(autouse=True)
def _carriers(request):
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    transactional = marker.kwargs.get("transaction", False)
    request.getfixturevalue("transactional_db" if transactional else "db")
    from fulfilment.models import Carrier

    for slug, name, template, sandbox in CARRIERS:
        Carrier.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "tracking_url_template": template, "is_sandbox": sandbox},
        )
