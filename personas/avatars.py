"""Avatar images: what an upload must be to be accepted, and how a stored one is served.

An upload is accepted only when Pillow decodes it as one of the formats below, whatever its name
or declared type says; it is stored under a generated name with the extension of its real format,
so the name alone tells how to serve it.
"""

import warnings
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files import File
from PIL import Image

MAX_AVATAR_BYTES = 2 * 1024 * 1024
MAX_AVATAR_SIDE = 4096  # pixels; larger images would take far more memory to decode than to send


@dataclass(frozen=True)
class ImageKind:
    label: str
    extension: str
    content_type: str


IMAGE_KINDS = {
    "PNG": ImageKind("PNG", "png", "image/png"),
    "JPEG": ImageKind("JPEG", "jpg", "image/jpeg"),
    "WEBP": ImageKind("WebP", "webp", "image/webp"),
    "GIF": ImageKind("GIF", "gif", "image/gif"),
}
CONTENT_TYPES = {kind.extension: kind.content_type for kind in IMAGE_KINDS.values()}
ACCEPTED = ", ".join(kind.label for kind in IMAGE_KINDS.values())


def check_avatar(upload: File) -> ImageKind:
    """The kind of image `upload` really is; ValidationError with a reason a user can act on."""
    size = upload.size if upload.size is not None else 0
    if size > MAX_AVATAR_BYTES:
        raise ValidationError(
            f"The file is {size / 1024 / 1024:.1f} MB; a picture may be at most "
            f"{MAX_AVATAR_BYTES // 1024 // 1024} MB.",
            code="too_large",
        )
    not_an_image = ValidationError(
        f"This file is not an image we can use. Upload a {ACCEPTED} picture.", code="not_image"
    )
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            # A decompression bomb is refused, not merely warned about.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                kind = IMAGE_KINDS.get(image.format or "")
                if kind is None:
                    raise not_an_image
                width, height = image.size
                if width > MAX_AVATAR_SIDE or height > MAX_AVATAR_SIDE:
                    raise ValidationError(
                        f"The picture is {width} by {height} pixels; it may be at most "
                        f"{MAX_AVATAR_SIDE} by {MAX_AVATAR_SIDE}.",
                        code="too_many_pixels",
                    )
                image.load()  # decode every pixel: a truncated or corrupt file fails here
    except ValidationError:
        raise
    except Exception:  # Pillow signals a malformed file with many exception types
        raise not_an_image from None
    finally:
        upload.seek(0)
    return kind


def content_type_for(name: str) -> str | None:
    """The Content-Type of a stored avatar, from the extension it was stored under."""
    return CONTENT_TYPES.get(name.rpartition(".")[2].lower())
