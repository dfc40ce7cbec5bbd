"""The board: the page, and one htmx endpoint per change a person can make."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from sessions.access import EDIT, FACILITATE, VIEW, Membership, get_membership
from sessions.room import Locked
from sessions.selectors import vote_context

from . import grouping, limits, services
from .converters import parse_id
from .forms import (
    FacilitatorNameForm,
    GateOverrideForm,
    NorthStarForm,
    PhaseForm,
    RenameForm,
    RoadmapForm,
    SignupForm,
    WorkshopForm,
)
from .models import AgendaPhase, BoardItem, Recipe, Workshop, facilitator_name
from .sections import Section, get_section
from .selectors import board_context, member_context, with_dots


def board_view(need: str) -> Callable:
    """Resolve the caller's membership (404 for outsiders, 403 for too small a role)
    and answer 404 for items that are not on this board."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, pk: int, *args, **kwargs) -> HttpResponse:
            member = get_membership(request, pk, need)
            try:
                if request.method == "POST":
                    limits.WRITES.hit(f"{pk}:{member.person}")
                return view(request, member, *args, **kwargs)
            except limits.Limited as error:
                return limits.too_many(error)
            except ObjectDoesNotExist:
                raise Http404("That item is not on this board (any more).") from None
            except ValidationError as error:
                return refused(" ".join(error.messages))
            except Locked as error:
                return refused(str(error), 423)

        return wrapper

    return decorate


def saved(location: str = "") -> HttpResponse:
    """The answer to every write that succeeded: no fragment. The change reaches every
    page, the sender's too, through its broadcast (docs/architecture.md, "One way to
    answer a write"); an add says where its item lives (201 and Location)."""
    if not location:
        return HttpResponse(status=204)
    response = HttpResponse(status=201)
    response["Location"] = location
    return response


def refused(message: str, status: int = 400) -> HttpResponse:
    """The answer to a write that was refused with a message for the page's alert area:
    plain text, so that no user-entered text echoed in it is ever parsed as HTML."""
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def posted_version(request: HttpRequest) -> int:
    try:
        return int(request.POST["version"])
    except (KeyError, ValueError):
        raise ValidationError("This form is out of date: reload the page.") from None


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", home_context(request) | {"form": WorkshopForm()})


def home_context(request: HttpRequest) -> dict[str, Any]:
    """The owner's workshops: those in progress, and those archived."""
    workshops = list(Workshop.objects.filter(owner_id=request.user.pk))
    return {"workshops": [w for w in workshops if w.archived_at is None],
            "archived": sorted((w for w in workshops if w.archived_at is not None),
                               key=lambda w: w.archived_at, reverse=True)}


def login_locked_out(request: HttpRequest, original_response: Any = None,
                     credentials: Any = None) -> HttpResponse:
    """django-axes' answer once a username has had too many wrong passwords from this
    address: the sign-in page again, saying when to try again (429, Retry-After)."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = render(request, "registration/login.html",
                      {"form": AuthenticationForm(request), "locked_out": seconds // 60},
                      status=429)
    response["Retry-After"] = str(seconds)
    return response


def signup(request: HttpRequest) -> HttpResponse:
    if not settings.ALLOW_SIGNUP:
        return render(request, "registration/signup_closed.html", status=403)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form},
                  status=422 if form.errors else 200)


@login_required
def account_name(request: HttpRequest) -> HttpResponse:
    """The name the room sees for this facilitator."""
    user = request.user
    assert user.is_authenticated  # login_required
    form = FacilitatorNameForm(request.POST or None,
                               initial={"display_name": user.get_full_name()})
    if request.method == "POST" and form.is_valid():
        services.set_facilitator_name(user, form.cleaned_data["display_name"])
        messages.success(request, f"The room now sees you as {facilitator_name(user)}.")
        return redirect("account_name")
    return render(request, "registration/name.html", {"form": form},
                  status=422 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def workshop_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":  # the address typed, or a login that led back here
        return redirect("home")  # where the form is
    form = WorkshopForm(request.POST)
    if not form.is_valid():
        return render(request, "home.html", home_context(request) | {"form": form},
                      status=422)
    workshop = services.create_workshop(request.user, **form.cleaned_data)
    messages.success(request, "Workshop created. Fill in the board, then start a session.")
    return redirect(workshop)


@board_view(VIEW)
def board(request: HttpRequest, member: Membership) -> HttpResponse:
    return render(request, "board.html", board_context(member))


@require_POST
@board_view(FACILITATE)
def workshop_rename(request: HttpRequest, member: Membership) -> HttpResponse:
    form = RenameForm(request.POST, instance=Workshop(pk=member.workshop.pk))
    if not form.is_valid():
        messages.error(request, "The workshop needs a name (at most 200 characters); "
                       "nothing was changed.")
        return redirect("sessions", member.workshop.pk)
    workshop = services.rename_workshop(member, form.cleaned_data["title"],
                                        form.cleaned_data["organisation"])
    messages.success(request, f"The workshop is now “{workshop.title}”.")
    return redirect("sessions", member.workshop.pk)


# Items of the board's lists --------------------------------------------------

def render_form(request: HttpRequest, member: Membership, form, action: str, *, item,
                status: int = 200, conflict_html: str = "", cancel_url: str = "",
                dom_id: str = "") -> HttpResponse:
    """The edit form of one item; Cancel fetches the item's card again."""
    return render(request, "board/item_form.html", member_context(
        member, form=form, action=action, item=item, conflict_html=conflict_html,
        cancel_url=cancel_url or action, dom_id=dom_id), status=status)


def seen_item(member: Membership, section: Section, item_id: int) -> BoardItem:
    """One item with its links, if this member may see it (not someone else's private
    writing before the reveal: that is not on their board)."""
    item = section.items(member.workshop.pk).get(pk=item_id)
    if not services.sees(member, item):
        raise section.model.DoesNotExist(f"No {section.item_name} {item_id} here")
    return item


@require_POST
@board_view(EDIT)
def item_add(request: HttpRequest, member: Membership, key: str) -> HttpResponse:
    section = get_section(key)
    form = section.form(request.POST, workshop=member.workshop, prefix=f"add-{section.key}")
    if not form.is_valid():
        response = render(request, "board/_add_form.html",
                          member_context(member, add_form=form, section=section), status=422)
        return reswap(retarget(response, f"#add-{section.key}"), "outerHTML")
    item = services.add_item(member, section, form.cleaned_data)
    return saved(reverse("item_detail", args=[member.workshop.pk, section.key, item.pk]))


@require_http_methods(["GET"])
@board_view(VIEW)
def item_detail(request: HttpRequest, member: Membership, key: str,
                item_id: int) -> HttpResponse:
    section = get_section(key)
    item = seen_item(member, section, item_id)  # with its links
    return render(request, section.item_template,
                  member_context(member, item=item, section=section))


@require_http_methods(["GET", "POST"])
@board_view(EDIT)
def item_edit(request: HttpRequest, member: Membership, key: str,
              item_id: int) -> HttpResponse:
    section = get_section(key)
    prefix = f"{section.key}-{item_id}"
    edit: dict[str, Any] = {
        "action": request.path, "dom_id": f"{section.key}-{item_id}",
        "cancel_url": reverse("item_detail", args=[member.workshop.pk, section.key, item_id])}
    if request.method == "GET":
        item = seen_item(member, section, item_id)
        form = section.form(instance=item, workshop=member.workshop, prefix=prefix)
        return render_form(request, member, form, item=item, **edit)
    # A posted form only checks what was posted: the service reads (and locks) the item.
    form = section.form(request.POST, workshop=member.workshop, prefix=prefix)
    if not form.is_valid():
        item = seen_item(member, section, item_id)  # not someone else's private writing
        item.version = posted_version(request)  # the draft stays based on what it was
        return render_form(request, member, form, status=422, item=item, **edit)
    try:
        services.update_item(member, section, item_id, form.cleaned_data,
                             posted_version(request))
    except services.ConflictError:
        # Keep the person's draft and show what was saved meanwhile, so they can merge.
        # The form now carries the saved version: sending it again replaces it knowingly.
        current = section.items(member.workshop.pk).get(pk=item_id)
        theirs = render_to_string(section.item_template, member_context(
            member, item=current, section=section, readonly=True), request=request)
        draft = section.form(request.POST, instance=current, workshop=member.workshop,
                             prefix=prefix)
        return render_form(request, member, draft, status=409, conflict_html=theirs,
                           item=current, **edit)
    return saved()


@require_POST
@board_view(EDIT)
def item_move(request: HttpRequest, member: Membership, key: str,
              item_id: int) -> HttpResponse:
    if request.POST.get("direction") not in ("up", "down"):
        return refused("direction must be up or down")
    offset = -1 if request.POST["direction"] == "up" else 1
    services.move_item(member, get_section(key), item_id, offset)
    return saved()


@require_POST
@board_view(EDIT)
def item_delete(request: HttpRequest, member: Membership, key: str,
                item_id: int) -> HttpResponse:
    event = services.delete_item(member, get_section(key), item_id)
    response = saved()
    # The page offers "Undo" for a moment (static/js/live.js).
    response["X-Attune-Undo"] = reverse("item_restore", args=[member.workshop.pk, event.pk])
    return response


# Groups of similar items ----------------------------------------------------------

@require_http_methods(["GET", "POST"])
@board_view(EDIT)
def item_group(request: HttpRequest, member: Membership, key: str,
               item_id: int) -> HttpResponse:
    """An item's "Group…": put it in one of its list's groups, a new one, or none."""
    section = get_section(key)
    if request.method == "POST":  # the services check what they change
        chosen = request.POST.get("group", "")
        if request.POST.get("action") == "leave":
            grouping.ungroup_item(member, section, item_id)
        elif chosen:
            group_id = parse_id(chosen)
            if group_id is None:
                raise ValidationError("Choose one of the list's groups, or name a new one.")
            grouping.group_items(member, section, [item_id], group_id=group_id)
        else:
            grouping.group_items(member, section, [item_id], title=request.POST.get("title", ""))
        return saved()
    grouping.check_may_group(member, section)
    item = seen_item(member, section, item_id)
    groups = [g for g in grouping.groups_of(member, section) if g.pk != item.group_id]
    return render(request, "board/group_form.html", member_context(
        member, item=item, section=section, groups=groups, dom_id=f"{section.key}-{item_id}",
        cancel_url=reverse("item_detail", args=[member.workshop.pk, section.key, item_id])))


@require_http_methods(["GET", "POST"])
@board_view(EDIT)
def duplicates(request: HttpRequest, member: Membership, key: str) -> HttpResponse:
    """The list's likely duplicates; "Group these" groups a pair and answers with the
    suggestions left."""
    section = get_section(key)
    if request.method == "POST":
        pair = [parse_id(pk) for pk in request.POST.getlist("items")]
        if len(pair) < 2 or None in pair:
            raise ValidationError("Choose at least two items to group.")
        # One of them in a group already: the other joins it.
        joined = parse_id(request.POST.get("group", ""))
        grouping.group_items(member, section, [pk for pk in pair if pk is not None],
                             group_id=joined, title=request.POST.get("title", ""))
    grouping.check_may_group(member, section)
    return render(request, "board/duplicates.html", member_context(
        member, section=section,
        suggestions=grouping.likely_duplicates(member, section)))


@require_POST
@board_view(EDIT)
def group_edit(request: HttpRequest, member: Membership, key: str,
               group_id: int) -> HttpResponse:
    """Rename a group, or ungroup all its items."""
    section = get_section(key)
    if request.POST.get("action") == "dissolve":
        grouping.dissolve_group(member, section, group_id)
    else:
        grouping.rename_group(member, section, group_id, request.POST.get("title", ""))
    return saved()


@require_POST
@board_view(EDIT)
def item_restore(request: HttpRequest, member: Membership, event_id: int) -> HttpResponse:
    """Put a deleted item back (from "Undo" or the facilitators' "Recently deleted")."""
    services.restore_item(member, event_id)
    return saved()


# The North Star -------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@board_view(VIEW)
def north_star(request: HttpRequest, member: Membership) -> HttpResponse:
    current = member.workshop.north_star
    if request.method == "GET" and request.GET.get("edit") is None:
        return render(request, "sections/north_star.html#item",
                      member_context(member, north_star=current))
    member.require(EDIT)
    if request.method == "GET":
        return render_form(request, member, NorthStarForm(instance=current,
                                                          workshop=member.workshop,
                                                          prefix="north-star"),
                           request.path, item=current, dom_id="north-star")
    form = NorthStarForm(request.POST, instance=current, workshop=member.workshop,
                         prefix="north-star")
    if not form.is_valid():
        return render_form(request, member, form, request.path, item=current, status=422,
                           dom_id="north-star")
    try:
        services.update_north_star(member, form.cleaned_data, posted_version(request))
    except services.ConflictError as conflict:
        theirs = render_to_string("sections/north_star.html#item", member_context(
            member, north_star=conflict.current, readonly=True), request=request)
        draft = NorthStarForm(request.POST, instance=conflict.current, workshop=member.workshop,
                              prefix="north-star")
        return render_form(request, member, draft, request.path, item=conflict.current,
                           status=409, conflict_html=theirs, dom_id="north-star")
    return saved()


# The roadmap ----------------------------------------------------------------

def seen_recipe(member: Membership, recipe_id: int) -> Recipe:
    recipe = seen_item(member, get_section("recipes"), recipe_id)
    assert isinstance(recipe, Recipe)  # the recipes list holds recipes
    return recipe


def render_roadmap_card(request: HttpRequest, member: Membership,
                        recipe_id: int) -> HttpResponse:
    recipe = seen_recipe(member, recipe_id)
    with_dots([recipe], vote_context(member.workshop)["dots_by_recipe"])
    return render(request, "sections/roadmap.html#card", member_context(member, recipe=recipe))


@require_http_methods(["GET", "POST"])
@board_view(VIEW)
def roadmap_card(request: HttpRequest, member: Membership, item_id: int) -> HttpResponse:
    if request.method == "GET" and request.GET.get("edit") is None:
        return render_roadmap_card(request, member, item_id)
    member.require(EDIT)
    recipe = seen_recipe(member, item_id)
    # A facilitator is offered the override beside the phase, while the gate is not met.
    offer = member.allows(FACILITATE) and recipe.is_gated and not recipe.has_override
    if request.method == "GET":
        return render_form(request, member, RoadmapForm(instance=recipe,
                                                        workshop=member.workshop,
                                                        prefix=f"roadmap-{item_id}",
                                                        offer_override=offer),
                           request.path, item=recipe, dom_id=f"roadmap-{item_id}")
    # The service reads (and locks) the recipe again; the form only checks what was posted.
    form = RoadmapForm(request.POST, workshop=member.workshop, prefix=f"roadmap-{item_id}",
                       offer_override=offer)
    if form.is_valid():
        data, reason = form.placement()
        try:
            services.place_on_roadmap(member, item_id, data, posted_version(request),
                                      override_reason=reason)
            return saved()
        except ValidationError as error:
            form.add_error(None, error)
        except services.ConflictError:
            form.add_error(None, "Someone changed this recipe's place on the roadmap meanwhile. "
                                 "Cancel to see it, then try again.")
            return render_form(request, member, form, request.path, status=409,
                               item=recipe, dom_id=f"roadmap-{item_id}")
    return render_form(request, member, form, request.path, status=422,
                       item=recipe, dom_id=f"roadmap-{item_id}")


@require_POST
@board_view(FACILITATE)
def gate_override(request: HttpRequest, member: Membership, item_id: int) -> HttpResponse:
    if request.POST.get("withdraw"):
        services.override_gate(member, item_id, "")
        return saved()
    form = GateOverrideForm(request.POST)
    if not form.is_valid():
        # Said in the page's alert area; the reason typed so far stays in its box.
        return refused(str(form.errors["reason"][0]))
    services.override_gate(member, item_id, form.cleaned_data["reason"])
    return saved()


# The agenda -----------------------------------------------------------------

@require_POST
@board_view(FACILITATE)
def phase_edit(request: HttpRequest, member: Membership, phase_id: int) -> HttpResponse:
    phase = AgendaPhase.objects.get(workshop=member.workshop, pk=phase_id)
    form = PhaseForm(request.POST, instance=phase)
    if not form.is_valid():
        # Said in the page's alert area; the agenda keeps what was typed.
        return refused(str(next(iter(form.errors.values()))[0]))
    services.update_phase(member, phase_id, form.cleaned_data["minutes"],
                          form.cleaned_data["skipped"])
    return saved()


@require_POST
@board_view(FACILITATE)
def phase_move(request: HttpRequest, member: Membership, phase_id: int) -> HttpResponse:
    offset = -1 if request.POST.get("direction") == "up" else 1
    if request.POST.get("direction") not in ("up", "down"):
        return refused("direction must be up or down")
    services.move_phase(member, phase_id, offset)
    return saved()
