"""What an uploaded product image may be: its size in bytes and pixels, and its format."""

from __future__ import annotations

import warnings
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import Image

# Pillow's format name -> the file name extensions it may have. Photos and simple graphics
# only: no TIFF or BMP (large, multi-page or uncompressed), nothing a browser does not show.
ALLOWED_IMAGE_FORMATS: dict[str, frozenset[str]] = {
    "JPEG": frozenset({"jpg", "jpeg"}),
    "PNG": frozenset({"png"}),
    "WEBP": frozenset({"webp"}),
    "GIF": frozenset({"gif"}),
}


def image_pixel_limit_apply() -> None:
    """Make PRODUCT_IMAGE_MAX_PIXELS Pillow's decompression-bomb limit in this process:
    Pillow warns beyond it and refuses to open twice as many, whatever code opens the image
    (an upload's validation, a thumbnail task, the demo seeder)."""
    Image.MAX_IMAGE_PIXELS = settings.PRODUCT_IMAGE_MAX_PIXELS


def validate_product_image(value: Any) -> None:
    """Check a newly uploaded image against PRODUCT_IMAGE_MAX_BYTES, PRODUCT_IMAGE_MAX_PIXELS
    and ALLOWED_IMAGE_FORMATS, reading only its header (nothing is decoded).

    A file already stored is left alone: it was checked when it was uploaded, and a later
    edit of the same row (its alt text) must not fail on limits that changed since."""
    if getattr(value, "_committed", True):
        return
    if value.size is not None and value.size > settings.PRODUCT_IMAGE_MAX_BYTES:
        raise ValidationError(
            _("This file is %(size)s; images may be %(limit)s at most."),
            code="image_too_large",
            params={
                "size": filesizeformat(value.size),
                "limit": filesizeformat(settings.PRODUCT_IMAGE_MAX_BYTES),
            },
        )
    extension = PurePosixPath(value.name or "").suffix.lower().lstrip(".")
    allowed_extensions = sorted(set().union(*ALLOWED_IMAGE_FORMATS.values()))
    if extension not in allowed_extensions:
        raise ValidationError(
            _("Use a file ending in one of: %(extensions)s."),
            code="image_extension",
            params={"extensions": ", ".join(allowed_extensions)},
        )
    file = value.file
    file.seek(0)
    pixels: int | None = None  # None: beyond Pillow's decompression-bomb limit
    try:
        with warnings.catch_warnings():
            # Beyond its limit Pillow only warns (it refuses at twice the limit).
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as picture:
                image_format = picture.format or ""
                pixels = picture.width * picture.height
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        pass
    except Exception as exc:  # anything Pillow cannot read is not an image
        raise ValidationError(
            _("This file is not an image, or it is damaged."), code="image_invalid"
        ) from exc
    finally:
        file.seek(0)
    if pixels is None or pixels > settings.PRODUCT_IMAGE_MAX_PIXELS:
        raise ValidationError(
            _("This image has more than %(limit)s pixels (width x height)."),
            code="image_too_many_pixels",
            params={"limit": f"{settings.PRODUCT_IMAGE_MAX_PIXELS:,}"},
        )
    if image_format not in ALLOWED_IMAGE_FORMATS:
        raise ValidationError(_("Images must be JPEG, PNG, WebP or GIF."), code="image_format")
    if extension not in ALLOWED_IMAGE_FORMATS[image_format]:
        # Media is served with the type its name says: a name must not disguise a format.
        raise ValidationError(
            _("This %(format)s image has a file name ending in .%(extension)s."),
            code="image_extension",
            params={"format": image_format, "extension": extension},
        )
