from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

CARD_TEMPLATE = "catalog/includes/product_card.html"


def product_card_render(product: object) -> str:
    """A product's card: the same for every visitor (it reads nothing but the product)."""
    return render_to_string(CARD_TEMPLATE, {"product": product})


@register.simple_tag(takes_context=True)
def product_card(context: template.Context, product: object) -> SafeString:
    """The card of `product`: the HTML the view got from the fragment cache
    (`card_html`, by product id), else rendered here."""
    cards = context.get("card_html") or {}
    html = cards.get(getattr(product, "pk", None))
    return mark_safe(html if html is not None else product_card_render(product))
