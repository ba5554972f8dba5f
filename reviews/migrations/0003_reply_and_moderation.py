"""Merchant replies, and moderation as a platform power.

Hiding, holding and publishing reviews moves from the Merchants group (which had
`change_review`: a merchant could hide the reviews of its own products) to a new
permission, `moderate_review`, held by superusers and the Moderators group. Merchant staff
keep `view_review`; they answer a review with a reply instead (one per review)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from shop.core.migration_ops import grant_group_permissions


def _merchants_change_review(apps, schema_editor, *, grant):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Merchants").first()
    permission = Permission.objects.filter(
        content_type__app_label="reviews", codename="change_review"
    ).first()
    if group is None or permission is None:
        return
    if grant:
        group.permissions.add(permission)
    else:
        group.permissions.remove(permission)


def merchants_lose_change_review(apps, schema_editor):
    _merchants_change_review(apps, schema_editor, grant=False)


def merchants_regain_change_review(apps, schema_editor):
    _merchants_change_review(apps, schema_editor, grant=True)


class Migration(migrations.Migration):

    dependencies = [
        ('reviews', '0002_merchants_group_permissions'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='review',
            options={'ordering': ['-created_at', '-id'], 'permissions': [('moderate_review', 'Can moderate reviews (publish, hold, hide)')], 'verbose_name': 'review', 'verbose_name_plural': 'reviews'},
        ),
        migrations.CreateModel(
            name='ReviewReply',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='created at')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                ('body', models.TextField(max_length=2000, verbose_name='reply')),
                ('author', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='written by')),
                ('review', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='reply', to='reviews.review', verbose_name='review')),
            ],
            options={
                'verbose_name': 'review reply',
                'verbose_name_plural': 'review replies',
                'constraints': [models.CheckConstraint(condition=models.Q(('body', ''), _negated=True), name='reviews_reviewreply_body_not_empty')],
            },
        ),
        migrations.RunPython(merchants_lose_change_review, merchants_regain_change_review),
        grant_group_permissions(
            group="Moderators",
            app_label="reviews",
            codenames=["view_review", "moderate_review"],
        ),
    ]
