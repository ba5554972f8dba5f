"""Migration operations shared by apps (plain functions: migrations import them by path)."""

import types
from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.db.models import QuerySet


def grant_group_permissions(
    *, group: str, app_label: str, codenames: list[str]
) -> migrations.RunPython:
    """A RunPython that gives `group` (created if missing) these permissions of an app.

    Django only creates permissions in `post_migrate`, after every migration has run, so
    on a fresh database they are created here first. Reversed, it takes them away again
    and deletes the group once it holds nothing."""

    # Historical models are built at migration time: their type is known only as Any.
    def permissions(apps: StateApps) -> QuerySet[Any]:
        Permission = apps.get_model("auth", "Permission")
        return Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)

    def grant(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        app_config = apps.get_app_config(app_label)
        # Historical app configs have no models module, and create_permissions skips those;
        # it only asks whether there is one, so a stand-in module lets it run.
        app_config.models_module = types.ModuleType(f"{app_label}.models")
        create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
        app_config.models_module = None
        found = list(permissions(apps))
        assert len(found) == len(codenames), f"{app_label} permissions are missing"
        Group = apps.get_model("auth", "Group")
        Group.objects.get_or_create(name=group)[0].permissions.add(*found)

    def revoke(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        Group = apps.get_model("auth", "Group")
        found = Group.objects.filter(name=group).first()
        if found is not None:
            found.permissions.remove(*permissions(apps))
            if not found.permissions.exists():
                found.delete()

    return migrations.RunPython(grant, revoke)
