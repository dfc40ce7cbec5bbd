"""Sessions: the facilitator's links and people, and the join page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.timezone import localtime
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from exports import pdf
from exports.views import board_url
from workshop import limits
from workshop.converters import parse_id
from workshop.views import board_view, refused

from . import lifecycle, room, services, voting
from .access import (
    EDIT,
    FACILITATE,
    VIEW,
    Membership,
    browser_key,
    find_membership,
    joined_as,
    remember_participant,
)
from .forms import JoinForm, SessionForm
from .fragments import Target, fetched_op
from .models import Participant, Role
from .qr import qr_svg
from .selectors import ballot as my_ballot
from .selectors import next_round_blocker, room_for, workshop_counts
from .viewer import FACILITATORS, ROOM, Viewer

BAD_LINK = ("This link doesn't work: it is wrong, or the facilitator has replaced it with a "
            "new one. Ask the facilitator for the current link.")


def join_url(request: HttpRequest, token: str) -> str:
    return request.build_absolute_uri(reverse("join", args=[token]))


def links_context(request: HttpRequest, member: Membership) -> dict:
    sessions = list(member.workshop.sessions.prefetch_related("participants"))
    links = [(session, join_url(request, session.join_token),
              join_url(request, session.observer_token))
             for session in sessions]
    return {"workshop": member.workshop, "member": member, "sessions": sessions,
            "links": links, "form": SessionForm(),
            "next_round_blocker": next_round_blocker(member.workshop)}


@board_view(FACILITATE)
def sessions_page(request: HttpRequest, member: Membership) -> HttpResponse:
    return render(request, "sessions/sessions.html", links_context(request, member))


@require_http_methods(["GET", "POST"])
@board_view(VIEW)
def workshop_archive(request: HttpRequest, member: Membership) -> HttpResponse:
    """Archive, after a page that says what archiving does."""
    lifecycle.require_owner(member)
    if request.method == "GET":
        return render(request, "sessions/archive.html", {"workshop": member.workshop})
    workshop = lifecycle.set_archived(member, True)
    messages.success(request, f"“{workshop.title}” is archived: read-only, under Archived "
                              "below. Restore it to work on it again.")
    return redirect("home")


@require_POST
@board_view(VIEW)
def workshop_unarchive(request: HttpRequest, member: Membership) -> HttpResponse:
    workshop = lifecycle.set_archived(member, False)
    messages.success(request, f"“{workshop.title}” is restored. Start a session to bring "
                              "the room back.")
    return redirect(workshop)


@require_http_methods(["GET", "POST"])
@board_view(VIEW)
def workshop_delete(request: HttpRequest, member: Membership) -> HttpResponse:
    """Delete for good, after a page that counts what goes and asks for the name."""
    lifecycle.require_owner(member)
    problem = ""
    if request.method == "POST":
        try:
            title = lifecycle.delete_workshop(member, request.POST.get("title", ""))
        except ValidationError as error:
            problem = " ".join(error.messages)
        else:
            messages.success(request, f"“{title}” and everything in it are deleted.")
            return redirect("home")
    return render(request, "sessions/delete.html",
                  {"workshop": member.workshop, "problem": problem,
                   "typed": request.POST.get("title", "") if problem else "",
                   "counts": workshop_counts(member.workshop)},
                  status=422 if problem else 200)


@require_GET
@board_view(FACILITATE)
def session_present(request: HttpRequest, member: Membership, session_id: int) -> HttpResponse:
    """The join link for the projector: a large QR code and the address to type."""
    session = get_object_or_404(member.workshop.sessions, pk=session_id)
    url = join_url(request, session.join_token)
    return render(request, "sessions/present.html", {
        "workshop": member.workshop, "session": session, "url": url,
        "qr": qr_svg(url, f"QR code of the join link of {member.workshop.title}"),
    })


@require_POST
@board_view(FACILITATE)
def session_start(request: HttpRequest, member: Membership) -> HttpResponse:
    form = SessionForm(request.POST)
    if not form.is_valid():
        context = links_context(request, member) | {"form": form}
        return render(request, "sessions/sessions.html", context, status=422)
    session = services.start_session(member, form.cleaned_data["title"])
    messages.success(request, f"{session} started. Share the join link with the room.")
    return redirect("sessions", member.workshop.pk)


@require_POST
@board_view(FACILITATE)
def session_end(request: HttpRequest, member: Membership, session_id: int) -> HttpResponse:
    session = services.end_session(member, session_id)
    # The roadmap is usually downloaded next: print it now, while the room is quiet.
    pdf.print_ahead(member.workshop.pk, board_url(request, member))
    messages.success(request, f"{session} ended. Its people can still open the board.")
    return redirect("sessions", member.workshop.pk)


@require_POST
@board_view(FACILITATE)
def link_rotate(request: HttpRequest, member: Membership, session_id: int,
                role: str) -> HttpResponse:
    if role not in (Role.PARTICIPANT, Role.OBSERVER):
        raise Http404("No such link.")
    services.rotate_link(member, session_id, role)
    kind = "observer" if role == Role.OBSERVER else "join"
    messages.success(request, f"New {kind} link issued. The old one no longer works, and "
                              f"people who came by it must use the new one.")
    return redirect("sessions", member.workshop.pk)


@require_POST
@board_view(FACILITATE)
def participant_restore(request: HttpRequest, member: Membership,
                        participant_id: int) -> HttpResponse:
    participant = services.restore_participant(member, participant_id)
    messages.success(request, f"{participant.display_name} may join again by the session's "
                              "link.")
    return redirect("sessions", member.workshop.pk)


@require_POST
@board_view(FACILITATE)
def lobby_mode(request: HttpRequest, member: Membership, session_id: int) -> HttpResponse:
    session = services.set_lobby(member, session_id, _flag(request, "on"))
    messages.success(request, f"{session}: " + (
        "new people now knock and wait for you to let them in (on the board)."
        if session.lobby else "new people join by the link straight away."))
    return redirect("sessions", member.workshop.pk)


@require_POST
@board_view(FACILITATE)
def lobby_admit(request: HttpRequest, member: Membership, participant_id: int) -> HttpResponse:
    services.answer_knock(member, participant_id, admit=True)
    return HttpResponse(status=204)  # the lobby follows the broadcast


@require_POST
@board_view(FACILITATE)
def lobby_decline(request: HttpRequest, member: Membership,
                  participant_id: int) -> HttpResponse:
    services.answer_knock(member, participant_id, admit=False)
    return HttpResponse(status=204)


@require_POST
@board_view(FACILITATE)
def links_expiry(request: HttpRequest, member: Membership, session_id: int) -> HttpResponse:
    hours = request.POST.get("hours", "")
    count = None if hours == "never" else parse_id(hours)  # ASCII digits, or nothing
    if hours != "never" and count is None:
        return refused("Choose when the links expire: in some hours, or never.")
    session = services.set_links_expiry(member, session_id, count)
    when = (f"expire {localtime(session.links_expire_at):%d %b %Y at %H:%M}"
            if session.links_expire_at else "do not expire")
    messages.success(request, f"The links of {session} {when}.")
    return redirect("sessions", member.workshop.pk)


@require_POST
@board_view(VIEW)
def leave(request: HttpRequest, member: Membership) -> HttpResponse:
    services.leave(member)
    return render(request, "sessions/left.html", {"workshop": member.workshop})


@require_POST
@board_view(FACILITATE)
def participant_remove(request: HttpRequest, member: Membership,
                       participant_id: int) -> HttpResponse:
    participant = services.remove_participant(member, participant_id)
    messages.success(request, f"{participant.display_name} was removed from the workshop.")
    return redirect("sessions", member.workshop.pk)


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    address = limits.client_address(request)
    try:
        if request.method == "POST":
            limits.JOINS.hit(address)
            limits.JOINS_PER_LINK.hit(token[:64])
        # Past the wrong links' allowance, no link opens from this address for a while,
        # a right one neither: guessing learns nothing, and slowly.
        limits.BAD_LINKS.check(address)
        found = services.session_for_token(token)
        if found is None:
            limits.BAD_LINKS.hit(address)
    except limits.Limited as error:
        return private(limits.too_many(error))
    if found is None:
        return private(dead_link(request))
    session, role = found
    current = find_membership(request.user, request.session, session.workshop_id)
    if current is not None and request.method == "GET":
        return redirect(session.workshop)
    returning = joined_before(request, session.workshop_id)
    if returning is not None and returning.removed_at is not None:
        return private(removed(request, session))
    if returning is not None and returning.waiting:
        return private(render(request, "sessions/waiting.html",
                              {"workshop": session.workshop, "person": returning,
                               "token": token}))
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            participant = services.join_session(token, **form.cleaned_data,
                                                returning=returning.pk if returning else None,
                                                browser=browser_key(request))
        except services.Banned:
            return private(removed(request, session))
        if participant is None:
            return private(dead_link(request))
        # A new key for the session that now opens a board: one fixed before (a shared
        # computer, a planted cookie) does not.
        request.session.cycle_key()
        remember_participant(request, participant)
        if participant.waiting:
            return private(redirect("join", token))  # the waiting page
        return private(redirect(session.workshop))
    return private(render(request, "sessions/join.html",
                          {"form": form, "session": session, "role": role,
                           "workshop": session.workshop},
                          status=422 if form.errors else 200))


@require_GET
def join_status(request: HttpRequest, token: str) -> HttpResponse:
    """The waiting page asks every few seconds: 204 while the person waits; once let in
    (or declined) htmx is sent on to the board (or to the join page, which says so)."""
    found = services.session_for_token(token)
    if found is None:
        raise Http404(BAD_LINK)
    session, _ = found
    returning = joined_before(request, session.workshop_id)
    if returning is not None and returning.waiting:  # (a decline ends the wait)
        return private(HttpResponse(status=204))
    answer = HttpResponse(status=204)
    answer["HX-Redirect"] = (session.workshop.get_absolute_url()
                             if returning is not None and returning.is_active
                             else reverse("join", args=[token]))
    return private(answer)


def joined_before(request: HttpRequest, workshop_id: int) -> Participant | None:
    """The participant this browser joined the workshop as, whatever became of them."""
    participant_id = joined_as(request.session, workshop_id)
    if participant_id is None:
        return None
    return Participant.objects.filter(pk=participant_id,
                                      session__workshop_id=workshop_id).first()


def dead_link(request: HttpRequest) -> HttpResponse:
    """A link that opens no board (mistyped, replaced, expired, or its session ended):
    a page that says what to do, in every mode (never Django's debug page)."""
    return render(request, "sessions/dead_link.html", {"message": BAD_LINK}, status=404)


def removed(request: HttpRequest, session) -> HttpResponse:
    return render(request, "sessions/removed.html", {"workshop": session.workshop},
                  status=403)


def private(response: HttpResponse) -> HttpResponse:
    """A join page is a key to a board: not for search engines, and its address goes to
    no other site as a referrer. `same-origin`, not `no-referrer`: under no-referrer the
    browser sends the join form with `Origin: null`, which the CSRF check (rightly)
    refuses; same-origin sends the address only back to this server."""
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "same-origin"
    return response


# Leading the room --------------------------------------------------------------

def _names(request: HttpRequest) -> list[str]:
    return [name for name in request.POST.get("section", "").split(",") if name]


def _flag(request: HttpRequest, name: str) -> bool:
    return request.POST.get(name) in ("1", "true", "on", "yes")


@require_POST
@board_view(FACILITATE)
def room_phase(request: HttpRequest, member: Membership) -> HttpResponse:
    step = request.POST.get("step")
    if step in ("next", "back"):
        room.step_room(member, 1 if step == "next" else -1,
                       parse_id(request.POST.get("from", "")))
    else:
        phase = parse_id(request.POST.get("phase", ""))
        if phase is None:
            return refused("Choose a phase of this agenda to move the room to.")
        room.move_room(member, phase)
    return HttpResponse(status=204)  # every page, this one too, follows the broadcast


@require_POST
@board_view(FACILITATE)
def room_timer(request: HttpRequest, member: Membership) -> HttpResponse:
    room.control_timer(member, request.POST.get("action", ""))
    return HttpResponse(status=204)


@require_POST
@board_view(FACILITATE)
def room_lock(request: HttpRequest, member: Membership) -> HttpResponse:
    room.lock(member, _names(request), _flag(request, "locked"))
    return HttpResponse(status=204)


@require_POST
@board_view(FACILITATE)
def room_anonymous(request: HttpRequest, member: Membership) -> HttpResponse:
    room.set_anonymous(member, _names(request), _flag(request, "anonymous"))
    return HttpResponse(status=204)


@require_POST
@board_view(FACILITATE)
def room_private(request: HttpRequest, member: Membership) -> HttpResponse:
    """Write some lists privately ("private": "1"), or reveal them ("0")."""
    if _flag(request, "private"):
        room.set_private(member, _names(request))
    else:
        room.reveal(member, _names(request))
    return HttpResponse(status=204)


@require_POST
@board_view(FACILITATE)
def room_editing(request: HttpRequest, member: Membership) -> HttpResponse:
    """Let everyone edit every item ("open": "1"), or each their own ("0")."""
    room.set_open_editing(member, _flag(request, "open"))
    return HttpResponse(status=204)


@require_POST
@board_view(FACILITATE)
def room_spotlight(request: HttpRequest, member: Membership) -> HttpResponse:
    room.set_spotlight(member, request.POST.get("target", ""))
    return HttpResponse(status=204)


@require_POST
@board_view(EDIT)
def room_ready(request: HttpRequest, member: Membership) -> HttpResponse:
    room.set_ready(member, _flag(request, "ready"))
    return HttpResponse(status=204)


@require_POST
@board_view(EDIT)
def room_hand(request: HttpRequest, member: Membership) -> HttpResponse:
    room.set_hand(member, _flag(request, "raised"))
    return HttpResponse(status=204)


@require_POST
@board_view(FACILITATE)
def room_hand_lower(request: HttpRequest, member: Membership,
                    participant_id: int) -> HttpResponse:
    room.lower_hand(member, participant_id)
    return HttpResponse(status=204)


@require_POST
@board_view(FACILITATE)
def cofacilitate(request: HttpRequest, member: Membership, participant_id: int) -> HttpResponse:
    person = room.name_cofacilitator(member, participant_id, _flag(request, "on"))
    verb = "is now a co-facilitator" if person.is_cofacilitator else "is no longer co-facilitating"
    messages.success(request, f"{person.display_name} {verb}.")
    return redirect("sessions", member.workshop.pk)


# Dot voting --------------------------------------------------------------------

class OpenVoteForm(forms.Form):
    budget = forms.IntegerField(min_value=1, max_value=20, initial=3, label="Dots per person")
    per_item = forms.IntegerField(min_value=1, max_value=20, initial=3,
                                  label="Most dots on one recipe")
    hidden = forms.BooleanField(required=False, initial=True, label="Hide votes until closed")
    own_dots = forms.BooleanField(required=False, initial=True,
                                  label="Dots on one's own recipes")


class LimitsForm(forms.Form):
    budget = forms.IntegerField(min_value=1, max_value=20, label="Dots per person")
    per_item = forms.IntegerField(min_value=1, max_value=20, label="Most dots on one recipe")


def first_error(form: forms.Form) -> str:
    return str(next(iter(form.errors.values()))[0])


@require_POST
@board_view(FACILITATE)
def vote_open(request: HttpRequest, member: Membership) -> HttpResponse:
    form = OpenVoteForm(request.POST)
    if not form.is_valid():
        return refused(first_error(form))
    voting.open_vote(member, **form.cleaned_data)
    return HttpResponse(status=204)


@require_POST
@board_view(FACILITATE)
def vote_limits(request: HttpRequest, member: Membership) -> HttpResponse:
    form = LimitsForm(request.POST)
    if not form.is_valid():
        return refused(first_error(form))
    voting.raise_limits(member, **form.cleaned_data)
    return HttpResponse(status=204)


@require_POST
@board_view(FACILITATE)
def vote_close(request: HttpRequest, member: Membership) -> HttpResponse:
    voting.close_vote(member)
    return HttpResponse(status=204)


@require_http_methods(["GET", "POST"])
@board_view(VIEW)
def ballot(request: HttpRequest, member: Membership) -> HttpResponse:
    """My own dots: personal, so it travels in my HTTP response, never in a broadcast."""
    vote = None
    if request.method == "POST":
        member.require(EDIT)
        recipe = parse_id(request.POST.get("recipe", ""))
        if recipe is None:
            return refused("Choose a recipe on this board to put your dot on.")
        if request.POST.get("action") == "remove":
            vote = voting.retract_dot(member, recipe)
        else:
            vote = voting.cast_dot(member, recipe)
    return render(request, "live/ballot.html",
                  {"workshop": member.workshop, "member": member, **my_ballot(member, vote)})


# The live board -----------------------------------------------------------------

@require_http_methods(["GET"])
@board_view(VIEW)
def live_fragment(request: HttpRequest, member: Membership) -> HttpResponse:
    """A part of the board too large for a websocket frame (or one whose rendering
    failed while broadcasting), as the operations the page applies; rendered for the
    caller's audience, exactly as a broadcast would be."""
    target = Target.parse(request.GET.get("t", ""))
    if target is None:
        return refused("There is no such part of the board.")
    anonymous = room_for(member.workshop).anonymous_sections
    viewer = Viewer.for_audience(FACILITATORS if member.is_facilitator else ROOM, anonymous,
                                 member.person)
    return JsonResponse({"ops": fetched_op(member.workshop, target, viewer)})
