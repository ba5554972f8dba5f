from django.utils.translation import gettext_lazy as _

from shop.core.errors import NotFoundError


class CartLineNotFound(NotFoundError):
    default_message = _("This cart line does not exist.")
