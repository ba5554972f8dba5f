from django.conf import settings


def shop(request):
    return {"SHOP_CURRENCY": settings.SHOP_CURRENCY}
