from rest_framework import serializers

from accounts.models import Address, User
from shop.core.serializers import CountryField, StrictBooleanField, StrictCharField


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = StrictCharField(max_length=128, write_only=True, trim_whitespace=False)
    name = StrictCharField(max_length=150, required=False, allow_blank=True, default="")


class UserOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name"]
        read_only_fields = fields


class UserUpdateInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=150, allow_blank=True)


class TokenObtainInputSerializer(serializers.Serializer):
    email = StrictCharField(max_length=254)
    password = StrictCharField(max_length=128, trim_whitespace=False)


class TokenPairOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class TokenRefreshInputSerializer(serializers.Serializer):
    refresh = StrictCharField()


class TokenRefreshOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField(
        help_text="The next refresh token: the one sent is used up (refresh tokens rotate)."
    )


class AddressInputSerializer(serializers.Serializer):
    full_name = StrictCharField(max_length=150)
    line1 = StrictCharField(max_length=200)
    line2 = StrictCharField(max_length=200, required=False, allow_blank=True)
    city = StrictCharField(max_length=100)
    postal_code = StrictCharField(max_length=20)
    country = CountryField()
    phone = StrictCharField(max_length=32, required=False, allow_blank=True)
    is_default = StrictBooleanField(
        required=False, help_text="Make this the default address (the first one always is)."
    )


class AddressOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Address
        fields = [
            "id",
            "full_name",
            "line1",
            "line2",
            "city",
            "postal_code",
            "country",
            "phone",
            "is_default",
        ]
        read_only_fields = fields
