"""Emails stored as UserManager.normalize_email now writes them (NFKC)."""

import unicodedata

from django.db import migrations


def emails_to_nfkc(apps, schema_editor):
    """Store every email as UserManager.normalize_email now does (NFKC, domain lower-cased).
    One whose plain form another account already has stays as it is: merging accounts is
    not a migration's decision."""
    User = apps.get_model("accounts", "User")
    for user in User.objects.filter(email__regex=r"[^\x01-\x7f]").only("pk", "email"):
        local, _, domain = unicodedata.normalize("NFKC", user.email).rpartition("@")
        email = f"{local}@{domain.lower()}" if local else user.email
        taken = User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists()
        if email != user.email and not taken:
            User.objects.filter(pk=user.pk).update(email=email)


class Migration(migrations.Migration):
    # Its own migration (own transaction): the row updates must be committed before the
    # next one alters the table, or PostgreSQL refuses over pending trigger events.
    dependencies = [("accounts", "0002_address_country_validator")]

    operations = [migrations.RunPython(emails_to_nfkc, migrations.RunPython.noop)]
