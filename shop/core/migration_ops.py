"""Migration operations shared by apps (plain functions: migrations import them by path)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant_group_permissions(
    *, group: str, app_label: str, codenames: list[str]
) -> migrations.RunPython:
    """A RunPython that gives `group` (created if missing) these permissions of an app.

    Django only creates permissions in `post_migrate`, after every migration has run, so
    on a fresh database they are created here first. Reversed, it takes them away again
    and deletes the group once it holds nothing."""

    def permissions(apps):
        Permission = apps.get_model("auth", "Permission")
        return Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)

    def grant(apps, schema_editor):
        app_config = apps.get_app_config(app_label)
        # Historical app configs have no models module, and create_permissions skips those.
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
        app_config.models_module = None
        found = list(permissions(apps))
        assert len(found) == len(codenames), f"{app_label} permissions are missing"
        Group = apps.get_model("auth", "Group")
        Group.objects.get_or_create(name=group)[0].permissions.add(*found)

    def revoke(apps, schema_editor):
        Group = apps.get_model("auth", "Group")
        found = Group.objects.filter(name=group).first()
        if found is not None:
            found.permissions.remove(*permissions(apps))
            if not found.permissions.exists():
                found.delete()

    return migrations.RunPython(grant, revoke)
