"""A data source's sample: the page that profiles one and shows the profile, and the
one-click answers to what it found. The sample is read into memory by a capped
upload handler, never into a temporary file (docs/architecture.md, "Data samples")."""

from __future__ import annotations

import io
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sessions.access import EDIT, VIEW, Membership
from sessions.room import Locked

from . import data_profiles
from .models import DataSource
from .sections import LISTS
from .selectors import viewer_for
from .views import board_view, saved

SECTION = LISTS["data_sources"]
MiB = 1024 * 1024


def sample_limit() -> int:
    return int(settings.PROFILE_SAMPLE_MAX_MB) * MiB


class SampleInMemory(FileUploadHandler):
    """Keeps an uploaded sample in memory, at most `sample_limit()` bytes: a larger one
    is dropped while it arrives (`too_large`), and nothing is written to disk."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.buffer = io.BytesIO()
        self.too_large = False

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.buffer = io.BytesIO()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self.buffer.tell() + len(raw_data) > sample_limit():
            self.too_large = True
            self.buffer = io.BytesIO()
            raise SkipFile
        self.buffer.write(raw_data)

    def file_complete(self, file_size: int) -> Any:
        self.buffer.seek(0)
        return Uploaded(self.buffer, self.file_name or "sample")


class Uploaded(io.BufferedReader):
    """The bytes of one uploaded sample, with the name it was sent as."""

    def __init__(self, buffer: io.BytesIO, name: str) -> None:
        super().__init__(buffer)
        self.filename = name
        self.size = buffer.getbuffer().nbytes

    def close(self) -> None:  # the request's end closes its files; drop the bytes
        raw = self.raw
        super().close()
        raw.close()


def _page(request: HttpRequest, member: Membership, source_id: int,
          problem: str = "", status: int = 200) -> HttpResponse:
    source = DataSource.objects.get(workshop_id=member.workshop.pk, pk=source_id)
    profile = source.profiles.filter(current=True).first()
    history = list(source.profiles.filter(current=False).defer("columns", "findings"))
    return render(request, "board/sample.html", {
        "workshop": member.workshop, "source": source, "profile": profile,
        "history": history, "problem": problem, "member": member,
        "can_upload": data_profiles.may_profile(member, source),
        "can_accept": member.allows(EDIT),
        # Who profiled it is, in practice, who wrote the source: unnamed as its author is.
        "show_by": "data_sources" not in viewer_for(member)[0].anonymous_sections,
        "max_mb": settings.PROFILE_SAMPLE_MAX_MB, "max_bytes": sample_limit()},
        status=status)


@csrf_exempt  # checked in _read_upload, once the upload handler is in place
async def sample(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    """The source's profile page; POST profiles a new sample and answers with the page
    again, with the reason, when it cannot be.

    An async view, so that the second a profile takes never holds the event loop: the
    body is parsed and the sample profiled on threads of their own; the database is
    read and written on the request's thread (sync_to_async's default)."""
    if request.method == "GET":
        return await sync_to_async(_show)(request, pk, item_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    handler = SampleInMemory(request)
    request.upload_handlers = [handler]
    refused = await sync_to_async(_read_upload, thread_sensitive=False)(request)
    if refused is not None:
        return refused
    sent = request.FILES.get("sample")
    upload = sent if isinstance(sent, Uploaded) else None  # what SampleInMemory made
    try:
        return await _profile(request, pk, item_id, handler, upload)
    finally:
        if upload is not None:
            upload.close()


def _read_upload(request: HttpRequest) -> HttpResponse | None:
    """Parse the body with the sample's handler and check its CSRF token; the refusal,
    if any."""
    request.FILES  # noqa: B018 - parsing it here, on a thread of its own, is the point
    return CsrfViewMiddleware(lambda _: HttpResponse()).process_view(request, _show, (), {})


async def _profile(request: HttpRequest, pk: int, item_id: int, handler: SampleInMemory,
                   upload: Uploaded | None) -> HttpResponse:
    member = await sync_to_async(_member)(request, pk)
    if isinstance(member, HttpResponse):
        return member
    try:
        if handler.too_large:
            raise ValidationError(
                f"This file is larger than {settings.PROFILE_SAMPLE_MAX_MB} MB, the most "
                "Attune profiles. Upload a sample of its rows.")
        if upload is None:
            raise ValidationError("Choose a file to profile (CSV, TSV, JSON Lines or .xlsx).")
        await sync_to_async(data_profiles.check_may_profile)(member, item_id)
        profile = await sync_to_async(data_profiles.profile, thread_sensitive=False)(
            upload, upload.filename)
        await sync_to_async(data_profiles.save_profile)(member, item_id, profile,
                                                        upload.filename)
    except ValidationError as error:
        return await sync_to_async(_page)(request, member, item_id,
                                          " ".join(error.messages), 400)
    except PermissionDenied as error:
        return await sync_to_async(_page)(request, member, item_id, str(error), 403)
    except Locked as error:
        return await sync_to_async(_page)(request, member, item_id, str(error), 423)
    except ObjectDoesNotExist:  # as board_view answers: no such source on this board
        raise Http404("That data source is not on this board (any more).") from None
    return redirect("sample", member.workshop.pk, item_id)


@board_view(VIEW)
def _member(request: HttpRequest, member: Membership) -> Membership:
    """The caller's membership (404 for outsiders; the write limit counts a POST), or
    board_view's refusal."""
    return member


@board_view(VIEW)
def _show(request: HttpRequest, member: Membership, item_id: int) -> HttpResponse:
    return _page(request, member, item_id)


@require_POST
@board_view(EDIT)
def finding(request: HttpRequest, member: Membership, item_id: int, profile_id: int,
            index: int) -> HttpResponse:
    """Accept a finding (its risk joins the register) or dismiss it."""
    if request.POST.get("action") == "dismiss":
        data_profiles.dismiss_finding(member, item_id, profile_id, index)
    else:
        data_profiles.accept_finding(member, item_id, profile_id, index)
    answer = saved()
    # The board follows by its broadcast; the sample's own page has no socket: reload it.
    if request.headers.get("HX-Current-URL", "").split("?")[0].endswith("/sample/"):
        answer["HX-Refresh"] = "true"
    return answer

