"""Product image thumbnails: made by a task after commit, idempotent, swept when lost."""

from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog import services
from catalog.models import ProductImage
from catalog.services import (
    product_image_make_thumbnail,
    product_images_process,
    product_thumbnails_sweep,
)
from catalog.tasks import product_image_thumbnail_task, product_thumbnails_sweep_task
from catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def queued(monkeypatch):
    """Thumbnail tasks sent to the broker (their kwargs), instead of sending them."""
    sent = []
    monkeypatch.setattr(
        product_image_thumbnail_task, "apply_async", lambda kwargs, **options: sent.append(kwargs)
    )
    return sent


def _jpeg(name="lamp.jpg", size=(900, 600)):
    buffer = BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def _image(**fields):
    return ProductImage.objects.create(product=ProductFactory(), image=_jpeg(), **fields)


def test_replacing_an_image_drops_its_old_thumbnail_and_queues_a_new_one(
    queued, django_capture_on_commit_callbacks
):
    image = _image()
    assert product_image_make_thumbnail(image_id=image.pk) is True
    image.refresh_from_db()
    old_thumbnail = image.thumbnail.name

    image.image = _jpeg("lamp-blue.jpg")
    image.save()
    with django_capture_on_commit_callbacks(execute=True):
        product_images_process(images=[image])

    image.refresh_from_db()
    assert not image.thumbnail  # pages show the new image itself until the task has run
    assert queued == [{"image_id": image.pk}]
    assert product_image_thumbnail_task(**queued[0]) is True
    image.refresh_from_db()
    assert image.thumbnail.name != old_thumbnail
    assert image.thumbnail.name.endswith("lamp-blue-thumb.jpg")


def test_a_thumbnail_of_a_picture_replaced_meanwhile_is_not_stored(
    monkeypatch, tmp_path, django_capture_on_commit_callbacks
):
    image = _image()
    make = services.thumbnail_jpeg

    def replaced_while_decoding(*, source):
        # A second writer (the admin saving a new picture) gets in while the task decodes.
        ProductImage.objects.filter(pk=image.pk).update(image="products/other.jpg")
        return make(source=source)

    monkeypatch.setattr(services, "thumbnail_jpeg", replaced_while_decoding)
    with django_capture_on_commit_callbacks(execute=True):
        assert product_image_make_thumbnail(image_id=image.pk) is False

    image.refresh_from_db()
    assert not image.thumbnail
    assert not list(tmp_path.rglob("*-thumb.jpg"))  # the orphan file is removed


def test_an_undecodable_image_is_recorded_once_and_never_swept_again(queued):
    image = ProductImage.objects.create(
        product=ProductFactory(), image=SimpleUploadedFile("broken.jpg", b"not a picture")
    )

    assert product_image_make_thumbnail(image_id=image.pk) is False

    image.refresh_from_db()
    assert not image.thumbnail
    assert "UnidentifiedImageError" in image.thumbnail_error
    assert product_thumbnails_sweep(older_than_seconds=0) == 0
    assert queued == []


def test_a_missing_file_is_recorded_not_retried_forever(queued):
    image = _image()
    image.image.storage.delete(image.image.name)

    assert product_image_make_thumbnail(image_id=image.pk) is False

    image.refresh_from_db()
    assert "FileNotFoundError" in image.thumbnail_error
    assert product_thumbnails_sweep(older_than_seconds=0) == 0


def test_the_sweeper_queues_images_whose_task_was_lost(
    monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(product_image_thumbnail_task, "apply_async", broker_down)
    image = _image()
    with django_capture_on_commit_callbacks(execute=True):
        product_images_process(images=[image])  # the task is lost: nothing raised
    fresh = _image()  # just saved: its own task may still be on its way

    sent = []
    monkeypatch.setattr(
        product_image_thumbnail_task, "apply_async", lambda kwargs, **options: sent.append(kwargs)
    )
    ProductImage.objects.filter(pk=image.pk).update(
        updated_at=image.updated_at.replace(year=image.updated_at.year - 1)
    )
    assert product_thumbnails_sweep_task() == 1
    assert sent == [{"image_id": image.pk}]
    assert fresh.pk not in {kwargs["image_id"] for kwargs in sent}

    product_image_thumbnail_task(**sent[0])
    assert product_thumbnails_sweep(older_than_seconds=0) == 1  # only `fresh` is left
    assert sent[-1] == {"image_id": fresh.pk}
