"""Downloads for everyone in the workshop; import and duplicate for facilitators.

Every download goes through workshop.views.board_view, i.e. sessions.access's one
membership getter: outsiders get 404, every member may download. The PDF view is an
ordinary sync view: under daphne it runs in a worker thread, and the rendering
itself runs in a separate, bounded process (exports.pdf).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sessions.access import FACILITATE, VIEW, Membership
from sessions.models import Room
from sessions.viewer import Viewer
from workshop.views import board_view

from . import csv_export, markdown, pdf
from .context import build_roadmap
from .json_export import dumps, export_workshop
from .json_import import ImportRefused, read_upload
from .rounds import start_next_round
from .services import duplicate_workshop, import_workshop

logger = logging.getLogger(__name__)
MiB = 1024 * 1024


def _download(
    content: bytes | str, member: Membership, suffix: str, content_type: str
) -> HttpResponse:
    name = f"{slugify(member.workshop.title)[:60] or 'workshop'}-{suffix}"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    # The workshop's content is private to its members.
    response["Cache-Control"] = "private, no-store"
    return response


def _hidden_authors(member: Membership) -> frozenset[str]:
    """Sections whose authors this member may not see (anonymous ones, for the room)."""
    room = Room.objects.filter(workshop=member.workshop).first()
    if room is None:
        return frozenset()
    return Viewer.for_member(member, room).anonymous_sections


def board_url(request: HttpRequest, member: Membership) -> str:
    """The board's address as this person reached the site, printed in the roadmap (and
    part of a kept PDF's key: sessions.views prints ahead with the same address)."""
    return request.build_absolute_uri(member.workshop.get_absolute_url())


@require_GET
@board_view(VIEW)
def roadmap_pdf(request: HttpRequest, member: Membership) -> HttpResponse:
    kind = request.GET.get("variant", "")
    if kind not in pdf.VARIANTS:
        return HttpResponse("variant is empty (the accessible PDF) or \"archive\" (PDF/A).",
                            status=400, content_type="text/plain; charset=utf-8")
    try:
        document = pdf.roadmap_pdf(member.workshop, board_url(request, member),
                                   pdf.VARIANTS[kind])
    except pdf.RenderError as error:
        logger.warning("Roadmap PDF of workshop %s not made: %s", member.workshop.pk, error)
        response = render(
            request,
            "exports/unavailable.html",
            {
                "workshop": member.workshop,
                "member": member,
                "message": str(error),
            },
            status=error.status,
        )
        if isinstance(error, pdf.Busy):
            response["Retry-After"] = "30"
        return response
    suffix = "roadmap-archive.pdf" if kind else "roadmap.pdf"
    return _download(document, member, suffix, "application/pdf")


@require_GET
@board_view(VIEW)
def roadmap_markdown(request: HttpRequest, member: Membership) -> HttpResponse:
    text = markdown.render(build_roadmap(member.workshop, board_url(request, member)))
    return _download(text, member, "roadmap.md", "text/markdown; charset=utf-8")


@require_GET
@board_view(VIEW)
def csv_zip(request: HttpRequest, member: Membership) -> HttpResponse:
    archive = csv_export.zip_archive(member.workshop, _hidden_authors(member))
    return _download(archive, member, "csv.zip", "application/zip")


@require_GET
@board_view(VIEW)
def workshop_json(request: HttpRequest, member: Membership) -> HttpResponse:
    data = export_workshop(member.workshop, _hidden_authors(member))
    return _download(dumps(data), member, "workshop.json", "application/json; charset=utf-8")


def _refused(request: HttpRequest, error: ImportRefused, action: str) -> HttpResponse:
    return render(
        request,
        "exports/import_refused.html",
        {
            "problems": error.problems,
            "more": error.more,
            "action": action,
        },
        status=error.status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def workshop_import(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":  # a login that expired mid-import leads back here
        return redirect("home")  # where the form is
    limit = int(getattr(settings, "EXPORTS_IMPORT_MAX_MB", 5)) * MiB
    try:
        data = read_upload(request.FILES.get("file"), limit)
        workshop = import_workshop(request.user, data)
    except ImportRefused as error:
        return _refused(request, error, "import")
    messages.success(request, f"Imported “{workshop.title}” as a new workshop.")
    return redirect(workshop)


@require_POST
@board_view(FACILITATE)
def workshop_duplicate(request: HttpRequest, member: Membership) -> HttpResponse:
    if member.user is None:
        raise PermissionDenied("Only the workshop's owner can duplicate it.")
    try:
        copy = duplicate_workshop(member, request.user)
    except ImportRefused as error:
        return _refused(request, error, "duplicate")
    messages.success(
        request,
        f"Duplicated as “{copy.title}”: the board and agenda, ready for a new round of sessions.",
    )
    return redirect(copy)


@require_POST
@board_view(FACILITATE)
def next_round(request: HttpRequest, member: Membership) -> HttpResponse:
    """Start round N + 1 from this finished workshop; back to Sessions with why not."""
    try:
        following = start_next_round(member, request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("sessions", member.workshop.pk)
    except ImportRefused as error:
        return _refused(request, error, "start the next round of")
    messages.success(
        request,
        f"Round {following.round} of “{following.title}” is ready: the board is carried "
        f"over, the sessions, people and votes are not. Start its first session when the "
        f"room meets again.",
    )
    return redirect(following)
