"""Fill a development database with a believable demo shop.

    python manage.py seed_demo                      # 200 products, seed 42
    python manage.py seed_demo --products 100000    # a few minutes; for search and load tests
    python manage.py seed_demo --reset --seed 7     # wipe the catalog first, other data stays

Running it again adds `--products` more products: categories, merchants and the demo users
are reused (matched by slug / email), and product slugs and SKUs carry a number above every
existing product id, so they never collide. `--reset` deletes the whole catalog first (every
product, variant, image row, category and merchant); it fails, changing nothing, while orders,
carts or reviews still point at the catalog.

Demo users (password `demo-pass-123`): admin@example.com (superuser), merchant@example.com
(staff of the first merchant, in the Merchants group) and shopper@example.com. With DEBUG
off (a deployed copy) a password everyone knows would be anyone's admin account, so each
demo user made there gets a random password, printed once, and an existing one keeps its own.
"""

from __future__ import annotations

import json
import math
import random
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection, reset_queries, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, ImageDraw
from tqdm import tqdm

from accounts.models import User
from cart.services import cart_add_item
from catalog.models import Category, Merchant, Product, ProductAttribute, ProductImage, Variant
from catalog.search import search_words_rebuild
from catalog.services import merchant_staff_set, thumbnail_jpeg
from fulfilment.models import ShipmentStatus
from fulfilment.services.returns import (
    return_approve,
    return_receive,
    return_request,
    returns_settle,
)
from fulfilment.services.shipments import (
    carrier_event_apply,
    carrier_event_receive,
    sandbox_carrier_event_build,
    shipment_create,
)
from orders.models import Order
from orders.services import ShippingAddress, order_place
from payments.models import Refund
from payments.providers.base import sign
from payments.providers.sandbox import sandbox_event_build
from payments.services.refunds import refund_execute
from payments.services.start import payment_start
from payments.services.webhooks import webhook_event_apply, webhook_receive
from shipping.models import ShippingMethod
from shop.core.pagecache import catalog_changed

EXPRESS_COUNTRIES = ["US", "CA", "MX", "GB", "IE", "FR", "DE", "NL", "BE", "ES", "IT", "AT", "CH"]

DEMO_PASSWORD = "demo-pass-123"
PLACEHOLDER_COUNT = 12
# Products per transaction: large enough that per-statement overhead vanishes, small enough
# that an interrupted run keeps what it committed and memory stays flat.
BATCH_SIZE = 1000


@dataclass(frozen=True)
class Department:
    """A root category: its children (name -> product nouns) and the words around them."""

    name: str
    children: dict[str, list[str]]
    adjectives: list[str]
    brands: list[str]
    price_range: tuple[int, int]
    variant_options: list[str]
    attributes: dict[str, list[str]]
    pitch: list[str]


# A leaf category with its department and the nouns its products are named after.
_Leaf = tuple[Category, Department, list[str]]


DEPARTMENTS = [
    Department(
        name="Electronics",
        children={
            "Headphones & Audio": [
                "Headphones", "Earbuds", "Bluetooth Speaker", "Soundbar", "Turntable",
            ],
            "Phones & Tablets": [
                "Smartphone", "Tablet", "Phone Case", "Wireless Charger", "Screen Protector",
            ],
            "Computers": [
                "Laptop", "Mechanical Keyboard", "Gaming Mouse", "Monitor", "USB-C Hub",
                "External SSD",
            ],
            "Cameras": ["Mirrorless Camera", "Action Camera", "Tripod", "Camera Bag", "Zoom Lens"],
        },
        adjectives=[
            "Wireless", "Noise-Cancelling", "Portable", "Compact", "Ultra-Slim", "Waterproof",
            "Smart", "4K", "Fast-Charging", "Ergonomic", "Pro",
        ],
        brands=["Sonora", "Voltix", "Pixelwave", "Aurion", "Kestrel"],
        price_range=(15, 1500),
        variant_options=["Black", "White", "Silver", "Midnight Blue", "Space Gray"],
        attributes={
            "Connectivity": ["Bluetooth 5.3", "USB-C", "Wi-Fi 6", "Lightning"],
            "Warranty": ["1 year", "2 years", "3 years"],
            "Battery life": ["10 hours", "24 hours", "40 hours"],
        },
        pitch=["crisp sound", "all-day battery", "a sturdy build", "fast pairing"],
    ),
    Department(
        name="Home & Kitchen",
        children={
            "Cookware": ["Frying Pan", "Dutch Oven", "Chef's Knife", "Saucepan", "Cutting Board"],
            "Appliances": [
                "Espresso Machine", "Blender", "Air Fryer", "Electric Kettle", "Toaster",
            ],
            "Furniture": ["Office Chair", "Bookshelf", "Coffee Table", "Standing Desk"],
            "Lighting": ["Desk Lamp", "Floor Lamp", "LED Strip", "Pendant Light"],
        },
        adjectives=[
            "Non-Stick", "Stainless Steel", "Cast Iron", "Minimalist", "Adjustable", "Dimmable",
            "Solid Oak", "Energy-Saving", "Stackable",
        ],
        brands=["Hearthline", "Oakridge", "Lumina", "Casabella", "Nordvik"],
        price_range=(10, 600),
        variant_options=["Small", "Medium", "Large", "Walnut", "Natural Oak", "Matte Black"],
        attributes={
            "Material": ["Stainless steel", "Cast iron", "Oak", "Bamboo", "Aluminium"],
            "Dishwasher safe": ["Yes", "No"],
            "Power": ["800 W", "1200 W", "1500 W"],
        },
        pitch=["easy cleaning", "even heating", "a timeless look", "solid construction"],
    ),
    Department(
        name="Fashion",
        children={
            "Men's Clothing": ["T-Shirt", "Hoodie", "Chinos", "Rain Jacket", "Flannel Shirt"],
            "Women's Clothing": ["Summer Dress", "Cardigan", "Leggings", "Blouse", "Puffer Jacket"],
            "Shoes": ["Running Shoes", "Hiking Boots", "Sneakers", "Sandals", "Loafers"],
            "Bags & Accessories": [
                "Backpack", "Leather Wallet", "Sunglasses", "Wristwatch", "Tote Bag",
            ],
        },
        adjectives=[
            "Organic Cotton", "Slim-Fit", "Lightweight", "Vintage", "Merino Wool", "Classic",
            "Breathable", "Recycled", "Oversized",
        ],
        brands=["Northbound", "Atelier Rue", "Fieldwear", "Maple & Co", "Strata"],
        price_range=(8, 250),
        variant_options=["S", "M", "L", "XL", "Navy", "Olive"],
        attributes={
            "Material": ["Cotton", "Merino wool", "Leather", "Recycled polyester", "Linen"],
            "Fit": ["Regular", "Slim", "Relaxed"],
            "Care": ["Machine wash 30°C", "Hand wash", "Dry clean only"],
        },
        pitch=["a comfortable fit", "durable stitching", "soft fabric", "timeless style"],
    ),
    Department(
        name="Sports & Outdoors",
        children={
            "Camping": ["Tent", "Sleeping Bag", "Camping Stove", "Headlamp", "Water Filter"],
            "Fitness": ["Yoga Mat", "Dumbbell Set", "Resistance Bands", "Jump Rope", "Kettlebell"],
            "Cycling": ["Bike Helmet", "Bike Light", "Cycling Gloves", "Water Bottle", "Bike Lock"],
        },
        adjectives=[
            "Ultralight", "All-Weather", "Foldable", "Insulated", "Non-Slip", "Reflective",
            "Heavy-Duty", "Trail-Ready",
        ],
        brands=["Summitra", "Trailhead", "Peakform", "Riverstone", "Velocita"],
        price_range=(5, 400),
        variant_options=["Red", "Forest Green", "Charcoal", "One Size", "2-Person", "4-Person"],
        attributes={
            "Weight": ["250 g", "900 g", "1.4 kg", "2.2 kg"],
            "Season": ["3-season", "4-season", "Summer"],
            "Material": ["Ripstop nylon", "Aluminium", "Neoprene", "Steel"],
        },
        pitch=["weather protection", "a low pack weight", "a secure grip", "quick setup"],
    ),
    Department(
        name="Beauty & Health",
        children={
            "Skincare": ["Face Moisturizer", "Sunscreen", "Vitamin C Serum", "Gentle Cleanser"],
            "Hair Care": ["Shampoo", "Hair Dryer", "Conditioner", "Hair Straightener"],
            "Wellness": ["Electric Toothbrush", "Massage Gun", "Smart Scale", "Humidifier"],
        },
        adjectives=[
            "Fragrance-Free", "Hydrating", "Sensitive-Skin", "Rechargeable", "Travel-Size",
            "Vegan", "Ionic",
        ],
        brands=["Veloura", "Purebloom", "Calmera", "Dermaleaf", "Solace"],
        price_range=(4, 150),
        variant_options=["50 ml", "100 ml", "200 ml", "Rose Gold", "White"],
        attributes={
            "Skin type": ["All", "Dry", "Oily", "Sensitive"],
            "Volume": ["50 ml", "100 ml", "250 ml"],
            "Cruelty free": ["Yes"],
        },
        pitch=["gentle care", "a light texture", "visible results", "travel-friendly sizes"],
    ),
    Department(
        name="Toys & Games",
        children={
            "Board Games": ["Strategy Board Game", "Card Game", "Jigsaw Puzzle", "Chess Set"],
            "Building Sets": ["Building Blocks", "Robot Kit", "Model Train", "Marble Run"],
            "Outdoor Play": ["Kite", "Water Blaster", "Kick Scooter", "Flying Disc"],
        },
        adjectives=[
            "Family", "Educational", "Wooden", "Cooperative", "Glow-in-the-Dark", "Deluxe",
            "Classic",
        ],
        brands=["Playwright", "Tinkerbox", "Meeple Lane", "Brightkite", "Cubix"],
        price_range=(5, 120),
        variant_options=["Standard Edition", "Deluxe Edition", "Travel Edition", "Blue", "Green"],
        attributes={
            "Age": ["3+", "6+", "8+", "12+"],
            "Players": ["1-4", "2-6", "2-8"],
            "Pieces": ["100", "500", "1000"],
        },
        pitch=["hours of fun", "sturdy pieces", "easy rules", "replay value"],
    ),
]  # fmt: skip

MERCHANTS = [
    "Northwind Traders",
    "Blue Harbor Supply",
    "Copperleaf Market",
    "Urban Nest",
    "Alpine Outfitters",
]

PLACEHOLDER_COLOURS = [
    (231, 76, 60), (52, 152, 219), (46, 204, 113), (155, 89, 182), (241, 196, 15),
    (230, 126, 34), (26, 188, 156), (52, 73, 94), (236, 112, 99), (93, 173, 226),
    (88, 214, 141), (175, 122, 197),
]  # fmt: skip


class Command(BaseCommand):
    help = "Create demo categories, merchants, products and users (see the module docstring)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--products", type=int, default=200, help="How many products to add.")
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed: same seed, same shop."
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete every product, category and merchant before seeding.",
        )

    def handle(
        self, *args: Any, products: int, seed: int, reset: bool, verbosity: int, **options: Any
    ) -> None:
        if products < 0:
            raise CommandError("--products must be zero or more.")
        self.verbosity = verbosity
        rng = random.Random(seed)
        started = time.monotonic()

        if reset:
            self._reset()
        leaves = self._categories()
        merchants = self._merchants()
        passwords = self._users(merchants[0])
        images = self._placeholder_images()
        self._shipping_methods()
        self._products(count=products, rng=rng, leaves=leaves, merchants=merchants, images=images)
        search_words_rebuild()  # bulk_create sent no signals: search learns the new words
        # bulk_create sends no signals, so cached anonymous pages are told here.
        transaction.on_commit(catalog_changed)
        # Fresh statistics, or the planner may scan the table instead of using the search
        # indexes until autovacuum catches up with the bulk insert.
        with connection.cursor() as cursor:
            for table in ("catalog_product", "catalog_variant", "catalog_productimage"):
                cursor.execute(f"ANALYZE {table}")

        self._demo_orders(merchants=merchants)
        self._say(f"Seeded {products} products in {time.monotonic() - started:.1f}s.")
        if settings.DEBUG:
            self._say(f"Log in as admin@example.com, merchant@example.com or shopper@example.com "
                      f"with password {DEMO_PASSWORD!r}.")  # fmt: skip
        for email, password in passwords.items():
            # Printed even at verbosity 0: it is shown nowhere else.
            self.stdout.write(f"Created {email} with password {password}")

    def _say(self, message: str) -> None:
        if self.verbosity:
            self.stdout.write(message)

    # --- reference data -----------------------------------------------------------------

    def _reset(self) -> None:
        # Plain DELETEs: the ORM would load every row to send signals. Other apps' rows that
        # point at the catalog make the transaction fail rather than vanish with it.
        tables = [
            "catalog_productattribute",
            "catalog_productimage",
            "catalog_variant",
            "catalog_product",
            "catalog_merchant_staff",
            "catalog_merchant",
            "catalog_category",
        ]
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                for table in tables:
                    cursor.execute(f"DELETE FROM {table}")
        except DatabaseError as exc:
            raise CommandError(
                "Can't reset: other data (orders, carts, reviews) still refers to the catalog. "
                "Recreate the database instead (dropdb, createdb, migrate)."
            ) from exc
        transaction.on_commit(catalog_changed)
        self._say("Deleted the catalog.")

    def _categories(self) -> list[_Leaf]:
        """Roots and children by slug; returns (leaf, its department, its product nouns)."""
        leaves = []
        for position, department in enumerate(DEPARTMENTS):
            root, _ = Category.objects.get_or_create(
                slug=slugify(department.name),
                defaults={"name": department.name, "position": position},
            )
            for child_position, (name, nouns) in enumerate(department.children.items()):
                child, _ = Category.objects.get_or_create(
                    slug=slugify(name),
                    defaults={"name": name, "parent": root, "position": child_position},
                )
                leaves.append((child, department, nouns))
        return leaves

    def _merchants(self) -> list[Merchant]:
        return [
            Merchant.objects.get_or_create(slug=slugify(name), defaults={"name": name})[0]
            for name in MERCHANTS
        ]

    def _users(self, merchant: Merchant) -> dict[str, str]:
        """The demo users; returns {email: password} of those given a random password."""
        random_passwords: dict[str, str] = {}

        def ensure(email: str, **flags: Any) -> User:
            user, created = User.objects.get_or_create(email=email, defaults=flags)
            if settings.DEBUG:
                # The documented password must work even if someone changed it since.
                if created or not user.check_password(DEMO_PASSWORD):
                    user.set_password(DEMO_PASSWORD)
                    user.save(update_fields=["password"])
            elif created:
                random_passwords[email] = secrets.token_urlsafe(12)
                user.set_password(random_passwords[email])
                user.save(update_fields=["password"])
            return user

        ensure("admin@example.com", name="Demo Admin", is_staff=True, is_superuser=True)
        staff = ensure("merchant@example.com", name="Demo Merchant", is_staff=True)
        merchant_staff_set(merchant=merchant, users=[*merchant.staff.exclude(pk=staff.pk), staff])
        ensure("shopper@example.com", name="Demo Shopper")
        return random_passwords

    # --- demo orders ----------------------------------------------------------------------

    def _demo_orders(self, *, merchants: list[Merchant]) -> None:
        """The demo shopper's orders, one in every state the trade has: awaiting payment,
        paid, partly shipped, in transit, delivery problem, delivered, a return asked for
        and one refunded. Made through the services, as a shopper, a merchant and a carrier
        would; only once (a shopper with orders gets none), and only when the sandbox payment
        and carrier can run (their secrets are set)."""

        staff = User.objects.get(email="merchant@example.com")
        shopper = User.objects.get(email="shopper@example.com")
        if Order.objects.filter(user=shopper).exists():
            return
        if not (settings.SANDBOX_WEBHOOK_SECRET and settings.CARRIER_WEBHOOK_SECRET):
            self._say("No demo orders: the sandbox payment or carrier secret is not set.")
            return
        buyable = Variant.objects.filter(
            is_active=True,
            product__is_active=True,
            stock__gte=10,
            product__merchant__in=merchants[:2],
        ).select_related("product")
        own = list(buyable.filter(product__merchant=merchants[0])[:8])
        other = list(buyable.filter(product__merchant=merchants[1])[:8])
        method = ShippingMethod.objects.active().filter(countries=[]).first()
        if len(own) < 8 or len(other) < 8 or method is None:
            return  # a catalog too small for the demo orders
        address = ShippingAddress(
            full_name="Demo Shopper", line1="1 Market Street", city="Springfield",
            postal_code="12345", country="US",
        )  # fmt: skip

        def place(*variants: Variant):
            for variant in variants:
                cart_add_item(user=shopper, variant_id=variant.pk, quantity=1)
            return order_place(user=shopper, shipping_method_id=method.pk, address=address)

        def pay(order):
            payment = payment_start(order=order, provider_name="sandbox")
            body = json.dumps(sandbox_event_build(payment=payment, succeeded=True)).encode()
            signature = sign(payload=body, secret=settings.SANDBOX_WEBHOOK_SECRET)
            event = webhook_receive(provider_name="sandbox", payload=body, signature=signature)
            webhook_event_apply(event_pk=event.pk)

        def ship(order, by, number):
            return shipment_create(
                order_id=order.pk, carrier="sandbox", tracking_number=number, by=by
            )

        def track(shipment, until: str):
            while (event := sandbox_carrier_event_build(shipment=shipment)) is not None:
                body = json.dumps(event).encode()
                signature = sign(payload=body, secret=settings.CARRIER_WEBHOOK_SECRET)
                stored = carrier_event_receive(carrier="sandbox", payload=body, signature=signature)
                carrier_event_apply(event_pk=stored.pk)
                shipment.refresh_from_db()
                if shipment.status == until:
                    return

        place(own[0])  # awaiting payment
        pay(place(own[1]))  # paid, waiting for the merchant
        partly = place(own[2], other[0])
        pay(partly)
        ship(partly, staff, f"SBX-{partly.number}")  # partly shipped
        moving = place(own[3])
        pay(moving)
        track(ship(moving, staff, f"SBX-{moving.number}"), until="in_transit")
        trouble = place(own[4])
        pay(trouble)
        problem = ship(trouble, staff, f"SBX-{trouble.number}")
        track(problem, until="in_transit")
        body = json.dumps(
            {
                "id": f"sbx_trk_problem_{problem.pk}",
                "tracking_number": problem.tracking_number,
                "status": ShipmentStatus.EXCEPTION,
                "description": "Recipient not at home; the parcel waits at the depot.",
                "occurred_at": timezone.now().isoformat(),
            }
        ).encode()
        stored = carrier_event_receive(
            carrier="sandbox",
            payload=body,
            signature=sign(payload=body, secret=settings.CARRIER_WEBHOOK_SECRET),
        )
        carrier_event_apply(event_pk=stored.pk)
        for variant in (own[5], own[6], own[7]):
            delivered = place(variant)
            pay(delivered)
            track(ship(delivered, staff, f"SBX-{delivered.number}"), until="delivered")
            if variant is own[5]:
                continue  # delivered, nothing more
            line = delivered.lines.get()
            found = return_request(
                order_id=delivered.pk, user=shopper, lines={line.pk: 1}, reason="no_longer_needed"
            )
            if variant is own[6]:
                continue  # a return asked for
            return_approve(return_id=found.pk, by=staff, note="Send it back to our depot.")
            return_receive(return_id=found.pk, by=staff, restock={line.pk: True})
            for refund in Refund.objects.filter(status=Refund.Status.PENDING):
                refund_execute(refund_id=refund.pk)
            returns_settle(return_id=found.pk)
        self._say("Made the demo shopper's orders, one in every state of the trade.")

    def _placeholder_images(self) -> list[tuple[str, str]]:
        """A dozen placeholder pictures shared by every product: (image, thumbnail) names."""
        names = []
        for index, colour in enumerate(PLACEHOLDER_COLOURS[:PLACEHOLDER_COUNT], start=1):
            image_name = f"demo/placeholder-{index:02d}.jpg"
            thumb_name = f"demo/thumbs/placeholder-{index:02d}-thumb.jpg"
            if not default_storage.exists(image_name):
                picture = Image.new("RGB", (800, 800), colour)
                draw = ImageDraw.Draw(picture)
                light = tuple(min(255, c + 60) for c in colour)
                shape = [(200, 200), (600, 600)]
                if index % 3 == 0:
                    draw.ellipse(shape, fill=light)
                elif index % 3 == 1:
                    draw.rectangle(shape, fill=light)
                else:
                    draw.polygon([(400, 160), (660, 620), (140, 620)], fill=light)
                buffer = BytesIO()
                picture.save(buffer, format="JPEG", quality=80)
                default_storage.save(image_name, ContentFile(buffer.getvalue()))
            if not default_storage.exists(thumb_name):
                with default_storage.open(image_name, "rb") as source:
                    default_storage.save(thumb_name, ContentFile(thumbnail_jpeg(source=source)))
            names.append((image_name, thumb_name))
        return names

    def _shipping_methods(self) -> None:
        """A domestic flat rate, a regional express service and a "rest of the world"
        method with no country list (it ships everywhere), so every country is covered."""
        from shipping.models import ShippingMethod

        methods = [
            ("Standard (US)", Decimal("4.90"), ["US"], 5),
            ("Express (North America & Europe)", Decimal("14.90"), EXPRESS_COUNTRIES, 2),
            ("International", Decimal("19.90"), [], 10),
        ]
        for position, (name, price, countries, days) in enumerate(methods):
            ShippingMethod.objects.update_or_create(
                name=name,
                defaults={
                    "price_amount": price,
                    "currency": settings.SHOP_CURRENCY,
                    "countries": countries,
                    "estimated_days": days,
                    "position": position,
                },
            )

    # --- products ------------------------------------------------------------------------

    def _products(
        self,
        *,
        count: int,
        rng: random.Random,
        leaves: list[_Leaf],
        merchants: list[Merchant],
        images: list[tuple[str, str]],
    ) -> None:
        # Slugs and SKUs end in a number above every existing product id: unique across runs
        # without reading existing slugs.
        first = (Product.objects.aggregate(top=Max("id"))["top"] or 0) + 1
        now = timezone.now()
        currency = settings.SHOP_CURRENCY
        codes = {m.pk: "".join(w[0] for w in m.name.split()).upper()[:3] for m in merchants}
        progress = tqdm(total=count, unit="product", file=sys.stderr, disable=self.verbosity < 1)
        with progress:
            for start in range(0, count, BATCH_SIZE):
                size = min(BATCH_SIZE, count - start)
                numbers = range(first + start, first + start + size)
                rows = [
                    _product_row(rng, number, leaves, merchants, images, now, currency)
                    for number in numbers
                ]
                with transaction.atomic():
                    created = Product.objects.bulk_create([row.product for row in rows])
                    variants, pictures, attributes = [], [], []
                    for product, row in zip(created, rows, strict=True):
                        code = codes[product.merchant_id]
                        for k, variant in enumerate(row.variants, start=1):
                            variant.product_id = product.pk
                            variant.sku = f"{code}-{row.number:07d}-{k}"
                        for image in row.images:
                            image.product_id = product.pk
                        for attribute in row.attributes:
                            attribute.product_id = product.pk
                        variants += row.variants
                        pictures += row.images
                        attributes += row.attributes
                    Variant.objects.bulk_create(variants, batch_size=2000)
                    ProductImage.objects.bulk_create(pictures, batch_size=2000)
                    ProductAttribute.objects.bulk_create(attributes, batch_size=2000)
                # With DEBUG on, Django keeps every statement; these are large.
                reset_queries()
                progress.update(size)


@dataclass
class _Row:
    number: int
    product: Product
    variants: list[Variant]
    images: list[ProductImage]
    attributes: list[ProductAttribute]


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    # Log-uniform: many cheap items, a few expensive ones, as in real shops.
    value = math.exp(rng.uniform(math.log(low), math.log(high)))
    cents = rng.choice(["99", "00", "50", "95"])
    return Decimal(f"{max(int(value), 1)}.{cents}")


def _product_row(
    rng: random.Random,
    number: int,
    leaves: list[_Leaf],
    merchants: list[Merchant],
    images: list[tuple[str, str]],
    now: datetime,
    currency: str,
) -> _Row:
    category, department, nouns = rng.choice(leaves)
    brand = rng.choice(department.brands)
    noun = rng.choice(nouns)
    adjectives = rng.sample(department.adjectives, k=rng.choice([1, 1, 2]))
    name = " ".join([brand, *adjectives, noun])
    pitch = rng.sample(department.pitch, k=2)
    description = (
        f"The {name} is a {' '.join(adjectives).lower()} {noun.lower()} by {brand}, "
        f"made for {pitch[0]} and {pitch[1]}. Part of our {category.name} range in "
        f"{department.name}."
    )

    base = _price(rng, *department.price_range)
    step = max((base / 10).quantize(Decimal("1")), Decimal("1"))
    sold_out = rng.random() < 0.12
    options = rng.sample(department.variant_options, k=rng.choice([1, 1, 2, 2, 3]))
    variants = []
    for position, option in enumerate(options):
        stock = 0 if sold_out or rng.random() < 0.15 else rng.randint(1, 120)
        variants.append(
            Variant(
                name=option,
                price_amount=base + step * position,
                currency=currency,
                stock=stock,
                position=position,
            )
        )

    created_at = now - timedelta(seconds=rng.randint(0, 365 * 24 * 3600))
    product = Product(
        merchant=rng.choice(merchants),
        category=category,
        name=name,
        slug=f"{slugify(name)[:200]}-{number}",
        description=description,
        is_active=rng.random() > 0.02,
        currency=currency,
        # The summary product_summary_refresh would compute, known already: all are active.
        price_amount=min(v.price_amount for v in variants),
        in_stock=any(v.stock > 0 for v in variants),
        created_at=created_at,
    )

    pictures = [
        ProductImage(
            image=image, thumbnail=thumb, alt_text=name, position=position, created_at=created_at
        )
        for position, (image, thumb) in enumerate(
            rng.sample(images, k=rng.choice([0, 1, 1, 2, 2, 3]))
        )
    ]
    attributes = [ProductAttribute(name="Brand", value=brand, position=0)] + [
        ProductAttribute(name=attr, value=rng.choice(values), position=position)
        for position, (attr, values) in enumerate(
            rng.sample(sorted(department.attributes.items()), k=2), start=1
        )
    ]
    return _Row(number, product, variants, pictures, attributes)
