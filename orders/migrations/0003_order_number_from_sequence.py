"""Order numbers come from a database sequence, so they are unique without a lookup.

A sequence value n becomes `BZ` + 7 Crockford base-32 characters of (a*n + c) mod 32**7,
with a odd: a bijection, so numbers never repeat, yet consecutive orders get numbers
that reveal neither order volume nor the next customer's number."""

import django.db.models.functions
from django.db import migrations, models

CREATE = """
CREATE SEQUENCE orders_order_number_seq;
CREATE FUNCTION orders_next_number() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet CONSTANT text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    n bigint := (nextval('orders_order_number_seq') * 1103515245 + 12345) % 34359738368;
    code text := '';
BEGIN
    FOR i IN 1..7 LOOP
        code := substr(alphabet, (n % 32)::int + 1, 1) || code;
        n := n / 32;
    END LOOP;
    RETURN 'BZ' || code;
END
$$;
"""
DROP = """
DROP FUNCTION orders_next_number();
DROP SEQUENCE orders_order_number_seq;
"""


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_merchants_group_permissions")]

    operations = [
        migrations.RunSQL(CREATE, DROP),
        migrations.AlterField(
            model_name="order",
            name="number",
            field=models.CharField(
                db_default=django.db.models.Func(
                    function="orders_next_number", output_field=models.CharField()
                ),
                editable=False,
                max_length=20,
                unique=True,
                verbose_name="number",
            ),
        ),
    ]
