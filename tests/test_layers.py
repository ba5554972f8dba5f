"""The app layers hold: no upward or sideways import between apps, no SQL on another
app's tables; and the checker that says so really catches both."""

from __future__ import annotations

from pathlib import Path

from django.apps import apps as django_apps

from tests.layers import LAYERS, ROOT, foreign_sql, layer_violations

APPS = [app for layer in LAYERS for app in layer]


def test_apps_import_only_floors_below_them():
    assert layer_violations(ROOT, LAYERS) == []


def test_every_app_sits_on_a_floor():
    configs = django_apps.get_app_configs()
    ours = {config.name for config in configs if (ROOT / config.name).is_dir()}
    assert ours - {"shop.core"} <= set(APPS), "an app missing from tests/layers.py LAYERS"


def _tables() -> dict[str, str]:
    owners = {}
    for model in django_apps.get_models(include_auto_created=True):
        if model._meta.proxy:
            continue  # another app's view of the owner's table, not a table of its own
        label = model._meta.app_label
        owners[model._meta.db_table] = "core" if label == "core" else label
    return owners


def test_no_app_names_another_apps_tables_in_sql():
    assert foreign_sql(ROOT, APPS, _tables()) == []


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_catches_an_upward_a_sideways_and_a_deferred_import(tmp_path):
    _write(
        tmp_path,
        {
            "shop/core/__init__.py": "",
            "low/__init__.py": "",
            "low/services.py": "def f():\n    from high.models import Thing\n",  # deferred
            "low/tests/test_x.py": "import high\n",  # tests are outside the rule
            "left/__init__.py": "from right import api\n",  # a sibling
            "right/__init__.py": "",
            "high/__init__.py": "from low import services\nfrom shop.core import x\n",
            "high/migrations/0001.py": "import top\n",  # migrations too
        },
    )
    layers = [["core"], ["low"], ["left", "right"], ["high"]]
    found = layer_violations(tmp_path, layers)
    assert found == [
        "low/services.py:2: low imports high (floor 3 is not below floor 1)",
        "left/__init__.py:1: left imports right (floor 2 is not below floor 2)",
    ]


def test_the_checker_catches_a_cycle_and_foreign_sql(tmp_path):
    _write(
        tmp_path,
        {
            "shop/core/__init__.py": "",
            "orders/__init__.py": "import payments.services\n",
            "payments/__init__.py": "",
            "payments/services.py": (
                "import orders\nSQL = 'UPDATE orders_order SET x = 1'\n"
                "OWN = 'SELECT 1 FROM payments_payment'\nDOC = 'orders_order is a table'\n"
            ),
        },
    )
    found = layer_violations(tmp_path, [["core"], ["orders"], ["payments"]])
    assert found == ["orders/__init__.py:1: orders imports payments (floor 2 is not below floor 1)"]
    sql = foreign_sql(
        tmp_path,
        ["orders", "payments"],
        {"orders_order": "orders", "payments_payment": "payments"},
    )
    assert sql == ["payments/services.py:2: payments SQL names orders_order (orders's table)"]
