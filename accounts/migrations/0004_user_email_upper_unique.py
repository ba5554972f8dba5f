from django.db import migrations, models
from django.db.models.functions import Upper


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_user_email_nfkc")]

    operations = [
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                Upper("email"), name="accounts_user_email_upper_unique"
            ),
        ),
    ]
