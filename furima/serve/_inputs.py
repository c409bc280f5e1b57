"""Reading a suggestion request (multipart or JSON) into checked inputs, refusing early.

The body is counted while it streams in: an upload over the limit is refused with 413 as soon
as the limit is passed (or at once when ``Content-Length`` says so), never read whole first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from furima.features import image_media_type
from furima.serve._errors import RequestProblem, photo_too_large
from furima.serve._media import describe_upload
from furima.serve._settings import ServeSettings

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import Message

__all__ = ["SuggestInputs", "read_suggest_request"]

_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
_FORM_FIELDS = ("photo", "text", "brand", "condition")
_MAX_BRAND_CHARS = 200
# Room for the words, the brand and multipart framing on top of the photo itself.
_OVERHEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class SuggestInputs:
    """What the seller sent, checked: at least a photo or words."""

    photo: bytes | None
    text: str | None
    brand: str | None
    condition: int | None


async def read_suggest_request(request: Request, settings: ServeSettings) -> SuggestInputs:
    """Parse a multipart or JSON suggestion request; raise :class:`RequestProblem` if unusable."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    limited = _limited(request, settings)
    if content_type in _FORM_TYPES:
        raw = await _read_form(limited, settings)
    elif content_type == "application/json" or content_type.endswith("+json"):
        raw = await _read_json(limited)
    else:
        raise RequestProblem(
            415,
            "unsupported_media_type",
            "Send a photo as multipart/form-data, or words as application/json "
            f"(got {content_type or 'no content type'}).",
        )
    return _checked(raw, settings)


def _limited(request: Request, settings: ServeSettings) -> Request:
    """The same request whose body raises 413 once it passes the limit."""
    from starlette.requests import Request

    limit = settings.max_upload_bytes + 8 * settings.max_text_chars + _OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise photo_too_large(settings.max_upload_bytes, int(declared))
    received = 0
    receive = request.receive

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise photo_too_large(settings.max_upload_bytes)
        return message

    return Request(request.scope, counted)


async def _read_form(request: Request, settings: ServeSettings) -> dict[str, Any]:
    from starlette.datastructures import UploadFile

    form = await request.form(max_files=1, max_fields=len(_FORM_FIELDS))
    try:
        raw: dict[str, Any] = {name: form.get(name) for name in ("text", "brand", "condition")}
        photo = form.get("photo")
        if isinstance(photo, UploadFile):
            if photo.size is not None and photo.size > settings.max_upload_bytes:
                raise photo_too_large(settings.max_upload_bytes, photo.size)
            data = await photo.read()
            # A browser form with no file chosen sends an empty, unnamed part: no photo.
            raw["photo"] = data if (data or photo.filename) else None
            raw["filename"] = photo.filename
        elif photo:
            raise RequestProblem(
                422, "invalid_photo", "The photo must be sent as a file, not as text."
            )
        return raw
    finally:
        await form.close()


async def _read_json(request: Request) -> dict[str, Any]:
    from pydantic import ValidationError

    from furima.serve._schemas import SuggestRequest

    body = await request.body()
    try:
        parsed = SuggestRequest.model_validate(json.loads(body))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RequestProblem(
            422, "bad_json", f"The request body is not valid JSON ({error})."
        ) from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()
        )
        raise RequestProblem(
            422, "invalid_request", f"Some of what you sent is not valid: {problems}."
        ) from None
    return parsed.model_dump()


def _checked(raw: dict[str, Any], settings: ServeSettings) -> SuggestInputs:
    text = _clean(raw.get("text"))
    brand = _clean(raw.get("brand"))
    if text is not None and len(text) > settings.max_text_chars:
        raise RequestProblem(
            422,
            "text_too_long",
            f"Your description is {len(text):,} characters long; "
            f"please shorten it to {settings.max_text_chars:,} characters or fewer.",
        )
    if brand is not None and len(brand) > _MAX_BRAND_CHARS:
        raise RequestProblem(
            422, "brand_too_long", f"The brand name can be at most {_MAX_BRAND_CHARS} characters."
        )
    photo = _checked_photo(raw.get("photo"), raw.get("filename"), settings)
    if photo is None and text is None:
        raise RequestProblem(
            422,
            "nothing_to_suggest_from",
            "Add a photo or a few words about your item, then press Suggest.",
        )
    return SuggestInputs(
        photo=photo, text=text, brand=brand, condition=_condition(raw.get("condition"))
    )


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _condition(value: Any) -> int | None:
    """A level 1..5, from the number or from a word of Mercari's table ("Like new", "NWT")."""
    from furima.catalog import MERCARI_CONDITIONS

    text = _clean(value)
    if text is None:
        return None
    if text.isdigit() and 1 <= int(text) <= 5:
        return int(text)
    level = None if text.isdigit() else MERCARI_CONDITIONS.level(text)
    if level is None:
        raise RequestProblem(
            422,
            "invalid_condition",
            f"Condition must be a number from 1 (new) to 5 (poor) or one of the words "
            f"{MERCARI_CONDITIONS.known_words()}, not {text!r}.",
        )
    return level


def _checked_photo(photo: Any, filename: Any, settings: ServeSettings) -> bytes | None:
    if photo is None:
        return None
    data = bytes(photo)
    if not data:
        raise RequestProblem(
            422, "empty_photo", "That photo file is empty (0 bytes). Please choose the photo again."
        )
    if len(data) > settings.max_upload_bytes:
        raise photo_too_large(settings.max_upload_bytes, len(data))
    if image_media_type(data) is None:
        raise RequestProblem(
            415,
            "not_an_image",
            f"That file is not a photo we can read ({describe_upload(data, filename)}). "
            "Please upload a JPEG or PNG.",
        )
    return data
