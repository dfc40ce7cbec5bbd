"""`python manage.py seed_demo [--reset]`: a fully filled demo workshop to explore.

It creates the facilitator account demo / demo and one workshop owned by it, with
every section of the board filled in as a real product team would fill it, a
roadmap (one gated recipe let into "now" by a recorded override) and a running
session with participants and an observer.

Everything is written through the service functions the views call, after the
same form validation, so the demo obeys every rule a person's input does
(docs/architecture.md, rule 2). Running it again changes nothing; --reset recreates it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, NamedTuple

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from sessions import room, voting
from sessions import services as live
from sessions.access import Membership
from sessions.models import Role, WorkshopSession
from workshop import services
from workshop.choices import (
    ContentModel,
    Function,
    Intent,
    Level,
    Party,
    Quality,
    RecipeKind,
    RiskAction,
    RiskCategory,
    RiskStatus,
    RoadmapPhase,
    ScopeLevel,
    Sentiment,
)
from workshop.forms import NorthStarForm, RoadmapForm
from workshop.models import Recipe, Workshop
from workshop.sections import LISTS

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 - the documented login of the demo
DEMO_FACILITATOR = "Dana Whitfield"
TITLE = "Northwind Reader — personalizing the subscription reading app"
ORGANISATION = "Northwind Media"
SESSION_TITLE = "Kick-off: first 30 days on the Reader app"

GOOD, FAIR, POOR, UNKNOWN = Quality.GOOD, Quality.FAIR, Quality.POOR, Quality.UNKNOWN

# The people in the room. None as an author below means the facilitator.
PRIYA, TOMAS, MEI = "Priya Raman", "Tomás Alvarez", "Mei Chen"
HANNAH, OLU, MARCUS = "Hannah Brooks", "Olu Adeyemi", "Marcus Bell"
PARTICIPANTS = [
    (PRIYA, Function.PRODUCT),
    (TOMAS, Function.ENGINEERING),
    (MEI, Function.DATA),
    (HANNAH, Function.DESIGN),
    (OLU, Function.MARKETING),
    (MARCUS, Function.SUPPORT),
]
OBSERVER = ("Elena Voss", Function.LEADERSHIP)


class Ref(NamedTuple):
    """Another item of the demo, by its handle; becomes its primary key."""

    handle: str


class Seed(NamedTuple):
    by: str | None
    handle: str
    data: dict[str, Any]


def seed(by: str | None, handle: str = "", **data: Any) -> Seed:
    return Seed(by, handle, data)


NORTH_STAR = {
    "objective": (
        "Help every subscriber find their next great read in under a minute, in whichever "
        "format suits the moment, so reading becomes a weekly habit and people stay because "
        "the app knows them, not because cancelling is hard."
    ),
    "scope_level": ScopeLevel.EXPERIENCE,
    "why_now": (
        "Voluntary churn rose from 3.1% to 3.8% a month after the audiobook launch, and 46% of "
        "new subscribers read fewer than three items in their first 14 days. Since March we "
        "have one event stream for articles, e-books and audiobooks, so for the first time we "
        "can see a reader across formats. A competitor launched 'For you' shelves last quarter."
    ),
    "start_area": "The Home screen for subscribers in their first 30 days",
}

STAKEHOLDERS = [
    seed(PRIYA, name="Priya Raman, Head of Product (Reader app)", function=Function.PRODUCT,
         internal_customer=True, influence=Level.HIGH,
         desired_outcome="A Home screen that gets new subscribers into a reading habit in "
                         "their first two weeks, measured against a holdout.",
         concerns="We spend a quarter on infrastructure before any reader sees a change, or "
                  "ship a carousel nobody trusts."),
    seed(PRIYA, name="Elena Voss, VP Consumer", function=Function.LEADERSHIP,
         influence=Level.HIGH,
         desired_outcome="Half a point less monthly churn this year, with revenue we can "
                         "attribute to personalization.",
         concerns="Personalization turns into a cost centre with no number attached to it."),
    seed(PRIYA, name="Tomás Alvarez, Engineering lead, Platform", function=Function.ENGINEERING,
         influence=Level.MEDIUM,
         desired_outcome="One recommendation service every surface calls, instead of three "
                         "ad-hoc ones in the app, the website and email.",
         concerns="Real-time features on the offline e-reader; more on-call load for a team "
                  "of five."),
    seed(PRIYA, name="Mei Chen, Data science lead", function=Function.DATA,
         internal_customer=True, influence=Level.MEDIUM,
         desired_outcome="Clean event data and an A/B framework, so we prove lift instead of "
                         "arguing about it.",
         concerns="Onboarding preferences are stale, and the bought demographic data has "
                  "never been validated."),
    seed(PRIYA, name="Hannah Brooks, Principal product designer", function=Function.DESIGN,
         influence=Level.MEDIUM,
         desired_outcome="Readers understand why they see something and can change it in "
                         "one tap.",
         concerns="Dark patterns creeping into retention flows; a cluttered Home."),
    seed(PRIYA, name="Olu Adeyemi, Lifecycle marketing manager", function=Function.MARKETING,
         internal_customer=True, influence=Level.MEDIUM,
         desired_outcome="Lifecycle emails driven by what people read, not just by plan type.",
         concerns="Email fatigue, and losing control of the send calendar to an algorithm."),
    seed(PRIYA, name="Sofia Lindqvist, Privacy counsel", function=Function.LEGAL,
         influence=Level.HIGH,
         desired_outcome="Every use of reader data has a documented legal basis before it "
                         "ships.",
         concerns="Third-party enrichment, free text from support tickets, and profiling "
                  "that readers cannot see or switch off."),
    seed(PRIYA, name="Marcus Bell, Support operations lead", function=Function.SUPPORT,
         influence=Level.LOW,
         desired_outcome="Fewer 'where is my book?' contacts, and agents who can explain a "
                         "recommendation.",
         concerns="Support hears about every creepy recommendation first and has no "
                  "answer for it."),
]

INTERACTIONS = [
    seed(HANNAH, what="Discover Weekly: a fresh playlist every Monday, small enough to try",
         where_seen="Spotify", sentiment=Sentiment.ADMIRE,
         pattern="A predictable ritual; a small batch; easy to skip without penalty"),
    seed(TOMAS, what="The audiobook picks up at the exact sentence where I stopped reading",
         where_seen="Kindle with Audible (Whispersync)", sentiment=Sentiment.ADMIRE,
         pattern="Continuity across devices and formats"),
    seed(OLU, what="Rows titled 'Because you watched …' that say where they come from",
         where_seen="Netflix", sentiment=Sentiment.FAMILIAR,
         pattern="An explained recommendation"),
    seed(PRIYA, what="Pick the newsletters and topics you care about at sign-up",
         where_seen="A national news app's onboarding", sentiment=Sentiment.FAMILIAR,
         pattern="Zero-party preferences, asked for up front"),
    seed(MARCUS, what="'Congratulations on your new home!' ads two days after I had only "
                      "looked at a mortgage calculator",
         where_seen="A bank's partner offers in a shopping app", sentiment=Sentiment.DISLIKE,
         pattern="Persofail: an inference revealed that I never shared, creepy"),
    seed(MEI, what="A show I abandoned after five minutes recommended on every screen for "
                   "months",
         where_seen="A video streaming service", sentiment=Sentiment.DISLIKE,
         pattern="No way to say 'not for me'; a stale signal never expires"),
    seed(HANNAH, what="Cancelling took four 'Are you sure?' screens and a guilt-trip",
         where_seen="A meal-kit subscription", sentiment=Sentiment.DISLIKE,
         pattern="Manipulative retention (confirmshaming)"),
]

DATA_SOURCES = [
    seed(MEI, "history", name="Reading and listening history",
         system_of_record="Event pipeline (Snowplow) into the warehouse, reader_events",
         party=Party.FIRST,
         consent_basis="Contract for the service; legitimate interest for recommendations "
                       "(LIA v2 signed off by Privacy in March)",
         owner="Mei Chen (Data)",
         accessibility=GOOD, completeness=GOOD, accuracy=GOOD, timeliness=GOOD,
         consistency=GOOD,
         notes="Opens, progress, finishes and abandons of articles, e-books and audiobooks, "
               "per device. One schema across formats since the March migration; 14 months "
               "of history.",
         evidence="Quality dashboard: 99.2% of sessions carry a user ID, event lag p95 under "
                  "4 minutes, reconciled weekly against the publishers' licensing reports."),
    seed(PRIYA, "onboarding", name="Onboarding topic preferences",
         system_of_record="Account service, profile_preferences table",
         party=Party.ZERO,
         consent_basis="Consent at sign-up ('Pick topics to personalize your Home'), "
                       "withdrawable in Settings",
         owner="Priya Raman (Product)",
         accessibility=GOOD, completeness=FAIR, accuracy=FAIR, timeliness=FAIR,
         consistency=GOOD,
         notes="Only 38% of accounts picked topics: the step was optional and most sign-ups "
               "before 2024 skipped it. Picks are never revisited after onboarding.",
         evidence="Profile audit last month: 38% coverage, 61% of picks older than a year; the "
                  "topic list changed twice and was mapped by hand."),
    seed(MEI, "billing", name="Subscription and billing",
         system_of_record="Zuora, mirrored nightly into the warehouse",
         party=Party.FIRST, consent_basis="Contract", owner="Finance systems (Jonas Weber)",
         accessibility=GOOD, completeness=GOOD, accuracy=GOOD, timeliness=GOOD,
         consistency=GOOD,
         notes="Plan, price, renewal date, failed payments, pauses and cancellations with "
               "their reason codes.",
         evidence="Reconciled monthly with Finance; the nightly mirror has not missed a run "
                  "in 11 months."),
    seed(MARCUS, "support", name="Support tickets",
         system_of_record="Zendesk (API export)",
         party=Party.FIRST,
         consent_basis="Legitimate interest (service improvement); the LIA does not yet "
                       "cover personalization",
         owner="Marcus Bell (Support)",
         accessibility=FAIR, completeness=GOOD, accuracy=FAIR, timeliness=GOOD,
         consistency=UNKNOWN,
         notes="Category, device and app version are structured; the detail is in free "
               "text, which we agreed not to use. Categories were reorganised in January and "
               "old tickets are not mapped yet.",
         evidence="Sample of 200 tickets: 71% carried the right category."),
    seed(OLU, "enrichment", name="Household demographics (third-party enrichment)",
         system_of_record="DataBridge Audience API (vendor trial file)",
         party=Party.THIRD, consent_basis="", owner="Olu Adeyemi (Marketing)",
         accessibility=FAIR, completeness=POOR, accuracy=POOR, timeliness=FAIR,
         consistency=UNKNOWN,
         notes="Age band, household size, children at home and income band, matched on "
               "hashed email. The vendor says its panel consented to 'marketing uses'; Legal "
               "has not seen the contracts, so no basis is recorded.",
         evidence="Match rate 31% on a 50,000-account sample; where survey answers let us "
                  "check, the age band was wrong 44% of the time."),
]

GOALS = [
    seed(PRIYA, "retention", metric="New subscribers reading in week 2 (day 8-14 retention)",
         baseline="41%", target="50%", timeframe="By the end of Q3",
         data_source=Ref("history")),
    seed(OLU, "churn", metric="Voluntary monthly churn", baseline="3.8%", target="3.3%",
         timeframe="Within two quarters of launch", data_source=Ref("billing")),
    seed(MEI, "discovery", metric="Share of reads started from a recommendation",
         baseline="12% of reads", target="25% of reads", timeframe="Six months",
         data_source=Ref("history")),
    seed(MARCUS, "contacts", metric="Support contacts about lost reading position or downloads",
         baseline="1,150 a month", target="Under 600 a month",
         timeframe="90 days after Continue ships", data_source=Ref("support")),
]

RECIPES = [
    seed(TOMAS, "continue", title="Continue where you left off",
         segment="a subscriber has an unfinished article, e-book or audiobook",
         context="they open the app on any device within 14 days",
         action="show a Continue row that resumes at the exact page or timestamp, in any "
                "format",
         touchpoint="the top of the Home screen",
         content_model=ContentModel.MAKE_EASIER, kind=RecipeKind.AUTOMATION,
         data_sources=[Ref("history")], success_metric=Ref("retention"), impact=4, effort=2),
    seed(PRIYA, "topics", title="Topic picks for new subscribers",
         segment="a new subscriber chose topics at sign-up",
         context="they are in their first 30 days",
         action="show new articles and books from those topics, labelled 'Because you "
                "chose …' and easy to change",
         touchpoint="the For you shelf on Home",
         content_model=ContentModel.ENRICH, kind=RecipeKind.CUSTOMIZATION,
         data_sources=[Ref("onboarding")], success_metric=Ref("retention"), impact=4, effort=2),
    seed(MEI, "next_format", title="Next read in another format",
         segment="a reader finished an e-book or a run of long-reads on one topic",
         context="a matching audiobook or follow-up title is in the catalogue",
         action="suggest it with a one-tap sample and say which finished read it follows from",
         touchpoint="the end-of-book screen and on Home",
         content_model=ContentModel.CROSS_SELL, kind=RecipeKind.PERSONALIZATION,
         data_sources=[Ref("history"), Ref("onboarding")], success_metric=Ref("discovery"),
         impact=5, effort=4),
    seed(OLU, "unread_shelf", title="Unread-shelf reminder before renewal",
         segment="an annual subscriber's reading dropped by more than 60% over three weeks",
         context="their renewal is less than 30 days away",
         action="remind them what is waiting on their shelf and offer a one-click pause as "
                "prominent as renewing",
         touchpoint="the renewal reminder email",
         content_model=ContentModel.ALERT, kind=RecipeKind.AUTOMATION,
         data_sources=[Ref("history"), Ref("billing")], success_metric=Ref("churn"),
         impact=4, effort=3),
    seed(OLU, "demographic_home", title="Demographic Home layouts",
         segment="an account is matched in the household demographics file",
         action="reorder Home around editorial collections chosen for their age band and "
                "household type",
         touchpoint="the Home screen",
         content_model=ContentModel.ENRICH, kind=RecipeKind.PERSONALIZATION,
         data_sources=[Ref("enrichment")], success_metric=Ref("discovery"),
         impact=2, effort=4),
    seed(HANNAH, "briefing", title="Morning briefing layout",
         segment="a reader mostly opens the app between 6 and 9 am",
         context="it is a weekday morning",
         action="switch Home to a briefing of short reads with audio versions of the day's "
                "top articles",
         touchpoint="the Home screen",
         content_model=ContentModel.MAKE_EASIER, kind=RecipeKind.PERSONALIZATION,
         data_sources=[Ref("history")], success_metric=Ref("discovery"), impact=2, effort=3),
    seed(OLU, "digest_time", title="Newsletter digest at your reading hour",
         segment="a newsletter subscriber reads mostly at one time of day",
         context="they have opened at least four digests",
         action="move their send time from 7 am to the hour they usually read",
         touchpoint="the weekly newsletter digest",
         content_model=ContentModel.ALERT, kind=RecipeKind.AUTOMATION,
         data_sources=[Ref("history")], success_metric=Ref("discovery"), impact=2, effort=1),
    seed(MARCUS, "download_help", title="Download help in the contact form",
         segment="a reader opens Contact us",
         context="a download failed on their device in the last 24 hours",
         action="show the offline-download help article and the device's sync status first",
         touchpoint="the in-app Contact us form",
         content_model=ContentModel.MAKE_EASIER, kind=RecipeKind.AUTOMATION,
         data_sources=[Ref("history"), Ref("support")], success_metric=Ref("contacts"),
         impact=2, effort=2),
]

RISKS = [
    seed(HANNAH, risk="Stereotyped Home built from inferred demographics",
         category=RiskCategory.BIAS,
         affected="Readers whose inferred age band or household is wrong, or who do not fit "
                  "the stereotype of it",
         intent=Intent.UNINTENDED, likelihood=4, severity=4, action=RiskAction.ACT,
         mitigation="", user_control="", owner="Olu Adeyemi", status=RiskStatus.OPEN,
         recipes=[Ref("demographic_home")]),
    seed(MEI, risk="Topic picks narrow news readers into one viewpoint",
         category=RiskCategory.FILTER_BUBBLE,
         affected="News and current-affairs readers, politics above all",
         intent=Intent.UNINTENDED, likelihood=3, severity=4, action=RiskAction.ACT,
         mitigation="Keep one slot in five for editors' picks outside the chosen topics; track "
                    "topic diversity per reader on the experiment dashboard.",
         user_control="Change topics, or 'Show me something different' on the shelf",
         owner="Hannah Brooks", status=RiskStatus.MITIGATING,
         recipes=[Ref("topics"), Ref("next_format")]),
    seed(MARCUS, risk="Continue row shows what someone else read on a shared tablet",
         category=RiskCategory.CREEPINESS,
         affected="Family-plan households sharing a device",
         intent=Intent.UNINTENDED, likelihood=3, severity=3, action=RiskAction.ACT,
         mitigation="The row uses the active reader profile only; nothing appears on the "
                    "lock-screen widget.",
         user_control="'Hide from Continue' on every card", owner="Hannah Brooks",
         status=RiskStatus.MITIGATED, recipes=[Ref("continue")]),
    seed(HANNAH, risk="Renewal reminder reads as pressure to keep paying",
         category=RiskCategory.MANIPULATION, affected="Lapsing annual subscribers",
         intent=Intent.UNINTENDED, likelihood=3, severity=4, action=RiskAction.ACT,
         mitigation="No discounts or countdowns; pause and cancel are as visible as renew; "
                    "one email per renewal cycle; Legal reviews the copy.",
         user_control="Unsubscribe from lifecycle email; pause in one click",
         owner="Olu Adeyemi", status=RiskStatus.MITIGATING, recipes=[Ref("unread_shelf")]),
    seed(MARCUS, risk="Support data used beyond the purpose readers gave it for",
         category=RiskCategory.PRIVACY, affected="Readers who contacted support",
         intent=Intent.UNINTENDED, likelihood=2, severity=4, action=RiskAction.ACT,
         mitigation="Use ticket category, device and app version only, never free text; "
                    "extend the LIA before launch.",
         owner="Sofia Lindqvist", status=RiskStatus.MITIGATING,
         recipes=[Ref("download_help")]),
    seed(PRIYA, risk="Readers who skipped onboarding get a worse Home",
         category=RiskCategory.EXCLUSION,
         affected="Sign-ups before 2024 and readers who skip optional steps, often older "
                  "readers",
         intent=Intent.UNINTENDED, likelihood=3, severity=2, action=RiskAction.MONITOR,
         mitigation="Editors' picks as the fallback; invite readers to choose topics after "
                    "their third session.",
         user_control="Choose topics any time in Settings", owner="Priya Raman",
         status=RiskStatus.ACCEPTED, recipes=[Ref("topics")]),
    seed(TOMAS, risk="Offline e-reader sync lag makes Continue jump backwards",
         category=RiskCategory.DATA_QUALITY, affected="E-reader and offline readers",
         intent=Intent.UNINTENDED, likelihood=2, severity=3, action=RiskAction.MONITOR,
         mitigation="Take the furthest position across devices; ask 'Continue from page N?' "
                    "when devices disagree.",
         owner="Tomás Alvarez", status=RiskStatus.OPEN, recipes=[Ref("continue")]),
]

OVERRIDES = {
    "topics": (
        "The gap is coverage and age of the picks, not wrong data: readers without picks get "
        "the editors' picks fallback, so missing data degrades gracefully. It runs as a "
        "4-week A/B test on new sign-ups only, whose picks are fresh, and Data reports "
        "coverage weekly."
    ),
}

# The room's dot vote in the prioritize phase (3 dots each, at most 2 on one recipe).
VOTES = {
    PRIYA: ["topics", "topics", "continue"],
    TOMAS: ["continue", "continue", "download_help"],
    MEI: ["next_format", "topics", "continue"],
    HANNAH: ["continue", "briefing", "topics"],
    OLU: ["unread_shelf", "digest_time", "topics"],
    MARCUS: ["download_help", "download_help", "continue"],
}

ROADMAP = [
    ("continue", RoadmapPhase.NOW, "Tomás Alvarez (Engineering)",
     "Day 8-14 retention +3 points against the holdout after 4 weeks",
     "Position-sync API for the offline e-reader\nReader profiles on family plans"),
    ("topics", RoadmapPhase.NOW, "Priya Raman (Product)",
     "For you starts 15% of new subscribers' reads; retention not below control",
     "Editors' picks fallback feed\nDPIA update for the A/B test"),
    ("digest_time", RoadmapPhase.NOW, "Olu Adeyemi (Marketing)",
     "Digest open rate +5 points with no rise in unsubscribes",
     "Per-subscriber send time in the email platform"),
    ("next_format", RoadmapPhase.NEXT, "Mei Chen (Data)",
     "12% of finished e-books followed by a sample within 7 days",
     "E-book to audiobook edition mapping in the catalogue\nRecommendation service v1"),
    ("unread_shelf", RoadmapPhase.NEXT, "Olu Adeyemi (Marketing)",
     "Voluntary churn in the segment -0.5 points; complaints unchanged",
     "Legal review of the copy\nPause-subscription flow in billing"),
    ("download_help", RoadmapPhase.NEXT, "Marcus Bell (Support)",
     "Contacts about failed downloads down 30%",
     "Old ticket categories mapped to the January ones\nLIA extended to support metadata"),
    ("briefing", RoadmapPhase.LATER, "Hannah Brooks (Design)",
     "Weekday morning sessions +10% with no drop in time spent",
     "Audio versions of top articles (text-to-speech pipeline)"),
]

DECISIONS = [
    seed(None, decision="Start with the Home screen for subscribers in their first 30 days",
         rationale="Most churn happens in the first month, reading history is green, and one "
                   "surface keeps the first experiments measurable."),
    seed(None, decision="No bought demographic data in personalization on this roadmap",
         rationale="Its readiness is red (completeness and accuracy poor, no legal basis) and "
                   "the stereotyping risk scores 16 with no mitigation. Revisit only with a "
                   "vendor whose consent Legal has verified."),
    seed(None, decision="Every recommendation says why it is shown and offers 'Not for me'",
         rationale="Every example we admired explains itself; every one we disliked did not. "
                   "Design and Legal both asked for it."),
    seed(None, decision="Topic picks go into 'now' under a gate override, as an A/B test",
         rationale="The onboarding data is amber for coverage, not accuracy, and the fallback "
                   "makes gaps harmless; the override is recorded on the roadmap."),
]


def action_items(today) -> list[Seed]:
    return [
        seed(None, action="Update the DPIA to cover the topic-picks A/B test",
             owner="Sofia Lindqvist", due_date=today + timedelta(days=10)),
        seed(None, action="Ship the position-sync API for the offline e-reader",
             owner="Tomás Alvarez", due_date=today + timedelta(days=30)),
        seed(None, action="Report onboarding-topic coverage weekly; design a 'refresh your "
                          "topics' prompt", owner="Mei Chen", due_date=today + timedelta(days=14)),
        seed(None, action="Write the 'Why am I seeing this?' copy and the 'Not for me' "
                          "interaction", owner="Hannah Brooks",
             due_date=today + timedelta(days=21)),
        seed(None, action="Map old support ticket categories to the January ones",
             owner="Marcus Bell", due_date=today + timedelta(days=7)),
    ]


PARKING_LOT = [
    seed(OLU, question="Can we personalize the price of the annual-plan offer?",
         notes="Out of scope here and a high manipulation risk; needs its own pricing "
               "discussion with Finance and Legal."),
    seed(HANNAH, question="Should children's profiles on family plans be personalized at all?",
         notes="Legal to advise on the Age Appropriate Design Code before any family-plan "
               "work."),
    seed(TOMAS, question="Build the recommendation service, or buy a managed one?",
         notes="Engineering brings a build-or-buy comparison to the 'next' planning."),
]

SECTIONS = [
    ("stakeholders", STAKEHOLDERS),
    ("interactions", INTERACTIONS),
    ("data_sources", DATA_SOURCES),
    ("goals", GOALS),
    ("recipes", RECIPES),
    ("risks", RISKS),
    ("decisions", DECISIONS),
    ("action_items", None),
    ("parking_lot", PARKING_LOT),
]


def form_errors(form) -> str:
    return "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())


class Command(BaseCommand):
    help = "Create the demo / demo facilitator and a fully filled demo workshop (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true",
            help="Delete the demo workshop (board, sessions, participants) and create it anew.",
        )
        parser.add_argument(
            "--base-url", default="",
            help="Print full, clickable addresses from this root, e.g. http://127.0.0.1:8000.",
        )

    def handle(self, *args, reset: bool = False, base_url: str = "", **options):
        self.base_url = base_url.rstrip("/")
        with transaction.atomic():
            user = self.demo_user()
            existing = Workshop.objects.filter(owner=user, title=TITLE).order_by("pk")
            if reset:
                existing.delete()
                workshop = None
            else:
                workshop = existing.first()
            created = workshop is None
            if workshop is None:
                workshop = self.build(user)
        self.summary(workshop, created)

    def demo_user(self):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=DEMO_USERNAME)
        # Lock the account's row so two seeds running at once make one workshop, not two.
        user = User.objects.select_for_update().get(pk=user.pk)
        if created or not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save()
        if not user.get_full_name():
            # The room and the roadmap call a facilitator by name, not by login.
            services.set_facilitator_name(user, DEMO_FACILITATOR)
        return user

    def build(self, user) -> Workshop:
        workshop = services.create_workshop(user, TITLE, ORGANISATION)
        facilitator = Membership(workshop, Role.FACILITATOR, user=user)

        north_star = workshop.north_star
        star_form = NorthStarForm(data=NORTH_STAR, instance=north_star, workshop=workshop)
        self.validate(star_form, "north star")
        services.update_north_star(facilitator, star_form.cleaned_data, north_star.version)

        # The session runs first, so what the room adds carries the names of its authors.
        session = live.start_session(facilitator, SESSION_TITLE)
        members: dict[str | None, Membership] = {None: facilitator}
        for name, function in PARTICIPANTS:
            participant = live.join_session(session.join_token, name, function)
            assert participant is not None  # the session was just started
            members[name] = Membership(workshop, participant.role, participant=participant)
        live.join_session(session.observer_token, *OBSERVER)

        created: dict[str, Any] = {}
        today = timezone.localdate()
        for key, seeds in SECTIONS:
            for item in seeds if seeds is not None else action_items(today):
                section = LISTS[key]
                form = section.form(data=self.resolve(item.data, created), workshop=workshop)
                self.validate(form, f"{section.item_name} {next(iter(item.data.values()))!r}")
                saved = services.add_item(members[item.by], section, form.cleaned_data)
                if item.handle:
                    created[item.handle] = saved

        for handle, reason in OVERRIDES.items():
            services.override_gate(facilitator, created[handle].pk, reason)
        for handle, phase, owner, exit_metric, dependencies in ROADMAP:
            recipe = Recipe.objects.get(pk=created[handle].pk)
            placement = RoadmapForm(
                data={"phase": phase, "owner": owner, "exit_metric": exit_metric,
                      "dependencies": dependencies},
                instance=recipe, workshop=workshop,
            )
            self.validate(placement, f"roadmap placement of {recipe}")
            services.place_on_roadmap(facilitator, recipe.pk, placement.cleaned_data,
                                      recipe.version)

        # The vote was taken in the prioritize phase; its ranking feeds the roadmap.
        voting.open_vote(facilitator, budget=3, per_item=2, hidden=True)
        for name, handles in VOTES.items():
            for handle in handles:
                voting.cast_dot(members[name], created[handle].pk)
        voting.close_vote(facilitator)
        room.move_room(facilitator, workshop.phases.get(key="roadmap").pk)
        workshop.refresh_from_db()
        return workshop

    @staticmethod
    def resolve(data: dict[str, Any], created: dict[str, Any]) -> dict[str, Any]:
        def value(v):
            if isinstance(v, Ref):
                return created[v.handle].pk
            if isinstance(v, list):
                return [value(each) for each in v]
            return v

        return {name: value(v) for name, v in data.items()}

    @staticmethod
    def validate(form, what: str) -> None:
        if not form.is_valid():
            raise CommandError(f"The demo's {what} does not validate: {form_errors(form)}")

    def summary(self, workshop: Workshop, created: bool) -> None:
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created the demo workshop “{workshop}”."))
        else:
            self.stdout.write(f"The demo workshop “{workshop}” is already there; nothing "
                              f"changed (use --reset to recreate it).")
        root = self.base_url
        self.stdout.write(f"  Board:          {root}{workshop.get_absolute_url()}")
        session = WorkshopSession.objects.filter(workshop=workshop).order_by("-number").first()
        if session is not None:
            join = reverse("join", args=[session.join_token])
            self.stdout.write(f"  Join link:      {root}{join}")
            self.stdout.write(
                f"  Observer link:  {root}{reverse('join', args=[session.observer_token])}"
            )
        self.stdout.write(f"  Log in as:      {DEMO_USERNAME} / {DEMO_PASSWORD}")
