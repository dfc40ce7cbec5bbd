"""Profiling a data sample in the room: who may, what each bad file is told, what is
kept (the profile, never the sample), the scores and risks it proposes, and what the
room's sockets receive (workshop/data_profiles.py, workshop/sample_views.py)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import tempfile
import zipfile
from html import unescape

import pytest
from channels.db import database_sync_to_async as db
from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, encode_multipart
from live_helpers import Socket, html_of
from markdown_it import MarkdownIt
from pypdf import PdfReader
from sample_files import customers
from samples import add_as

from exports.context import build_roadmap
from exports.pdf import print_html, render_pdf
from exports.services import duplicate_workshop
from sessions import room as room_services
from sessions import services as session_services
from sessions.fragments import event_frames
from workshop import data_profiles, services
from workshop.asgi import application
from workshop.bodylimit import largest_limit
from workshop.event_kinds import Kind
from workshop.models import BoardEvent, DataProfile, DataSource, Risk
from workshop.sections import LISTS

pytestmark = pytest.mark.django_db

SMALL, _ = customers(60)


def url(workshop, source) -> str:
    return f"/w/{workshop.pk}/s/data_sources/{source.pk}/sample/"


def upload(client, workshop, source, data: bytes = SMALL, name: str = "crm.csv"):
    return client.post(url(workshop, source), {"sample": SimpleUploadedFile(name, data)})


def finding_url(workshop, source, index: int = 0) -> str:
    profile = source.profiles.get(current=True)
    return f"/w/{workshop.pk}/s/data_sources/{source.pk}/profiles/{profile.pk}/findings/{index}/"


def page_text(response) -> str:
    """The page's words, without markup."""
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", unescape(text))


@pytest.fixture
def pats_source(people):
    return add_as(people["pat"][1], "data_sources", name="CRM export")


# Profiling, and who may -------------------------------------------------------------

def test_the_author_profiles_a_sample_and_its_scores_follow(people, workshop, pats_source):
    pat_client, _ = people["pat"]
    response = upload(pat_client, workshop, pats_source)
    assert response.status_code == 302 and response["Location"] == url(workshop, pats_source)
    profile = pats_source.profiles.get(current=True)
    assert (profile.rows, profile.column_count, profile.duplicate_rows) == (60, 20, 0)
    assert profile.by == "Pat" and profile.filename == "crm.csv"
    source = DataSource.objects.get(pk=pats_source.pk)
    assert source.completeness == profile.scores["completeness"]["score"] == "fair"
    assert source.consistency == "good"
    assert source.version == pats_source.version + 1
    event = BoardEvent.objects.filter(workshop=workshop).last()
    assert (event.kind, event.item_id, event.actor) == (Kind.DATA_PROFILED, source.pk, "Pat")
    page = page_text(pat_client.get(url(workshop, source)))
    assert "60 rows × 20 columns" in page and "9 columns look personal" in page
    assert "Only the profile is kept." in page
    board = page_text(pat_client.get(f"/w/{workshop.pk}/"))
    assert "60 rows × 20 columns" in board
    assert "E-mail addresses in “email”" in board and "and 5 more on the sample's page" in board


def test_a_person_can_still_change_a_score_the_sample_set(host, people, workshop, pats_source):
    upload(people["pat"][0], workshop, pats_source)
    services.update_item(host, LISTS["data_sources"], pats_source.pk,
                         {"completeness": "good"}, None)
    card = page_text(people["pat"][0].get(
        f"/w/{workshop.pk}/s/data_sources/{pats_source.pk}/"))
    assert "sample: fair; " in card  # the evidence stays beside the person's score


@pytest.mark.parametrize("who", ["kim", "olive"])
def test_others_than_its_editors_are_told_why_and_nothing_changes(people, workshop,
                                                                  pats_source, who):
    client, _ = people[who]
    response = upload(client, workshop, pats_source)
    assert response.status_code == 403
    assert ("Only its author and the facilitators can change this data source"
            in page_text(response) or "observ" in page_text(response).lower())
    assert not DataProfile.objects.exists()
    assert "Profile this sample" not in page_text(client.get(url(workshop, pats_source)))


def test_an_upload_while_the_section_is_locked_is_refused(host, people, workshop,
                                                          pats_source):
    room_services.lock(host, ["data_sources"], True)
    response = upload(people["pat"][0], workshop, pats_source)
    assert response.status_code == 423
    assert "locked this section" in page_text(response)
    assert not DataProfile.objects.exists()


def test_a_removed_person_cannot_upload(host, people, workshop, pats_source):
    pat_client, pat = people["pat"]
    session_services.remove_participant(host, pat.participant.pk)
    response = upload(pat_client, workshop, pats_source)
    assert response.status_code in (403, 404)
    assert not DataProfile.objects.exists()


@pytest.mark.parametrize(("data", "says"), [
    (b"", "This file is empty"),
    (b"a,b,c\n", "a header but no rows"),
    (b"a,b,c\n1,2,3\n4,5\n", "Line 3 has 2 values"),
    (b"1,2,3\n4,5,6\n", "looks like data, not column names"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"\x1f\x8b\x08\x00junk", "gzip-compressed"),
])
def test_a_bad_file_is_refused_on_the_form_and_changes_nothing(people, workshop,
                                                               pats_source, data, says):
    response = upload(people["pat"][0], workshop, pats_source, data)
    assert response.status_code == 400
    assert says in page_text(response)
    assert 'role="alert"' in response.content.decode()
    assert not DataProfile.objects.exists()
    assert DataSource.objects.get(pk=pats_source.pk).version == pats_source.version


def test_no_file_is_a_clear_message(people, workshop, pats_source):
    response = people["pat"][0].post(url(workshop, pats_source), {})
    assert response.status_code == 400 and "Choose a file to profile" in page_text(response)


def test_a_file_over_the_limit_is_dropped_while_it_arrives(settings, people, workshop,
                                                          pats_source):
    settings.PROFILE_SAMPLE_MAX_MB = 1
    response = upload(people["pat"][0], workshop, pats_source, b"a,b\n" + b"1,2\n" * 400_000)
    assert response.status_code == 400
    assert "larger than 1 MB, the most Attune profiles" in page_text(response)
    assert not DataProfile.objects.exists()


def test_an_earlier_profile_stays_as_history_without_its_columns(people, workshop,
                                                                 pats_source):
    upload(people["pat"][0], workshop, pats_source)
    upload(people["pat"][0], workshop, pats_source, customers(120)[0], "crm-2.csv")
    old, new = pats_source.profiles.order_by("pk")
    assert (old.current, old.columns, old.findings, old.rows) == (False, [], [], 60)
    assert old.scores["completeness"]["score"] == "fair"
    assert new.current and new.rows == 120
    page = page_text(people["pat"][0].get(url(workshop, pats_source)))
    assert "Earlier samples" in page


# What is kept: the profile, never the sample --------------------------------------

def stored_text() -> str:
    """Every row of every table, as text."""
    return json.dumps([list(model.objects.values()) for model in apps.get_models()],
                      default=str, ensure_ascii=False)


def files_under(folder: str) -> set[str]:
    found = set()
    for root, _, names in os.walk(folder):
        found |= {os.path.join(root, name) for name in names}
    return found


def test_nothing_of_the_sample_is_kept_beyond_the_profile_and_masked_examples(
        settings, people, workshop, pats_source, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    data, _ = customers(20_000)  # 4 MB: past Django's in-memory default of 2.5 MB
    temp_before = files_under(tempfile.gettempdir())
    assert upload(people["pat"][0], workshop, pats_source, data).status_code == 302
    stored = stored_text()
    for value in ("@example.com", "+44 7911", "High Street", "LS1 ", "192.0.",
                  "1950-01-0", "diabetes", "Okafor"):
        assert value not in stored, value
    assert "•" in stored  # the masked examples
    assert files_under(str(tmp_path)) == set()
    new_files = files_under(tempfile.gettempdir()) - temp_before
    for path in new_files:
        try:
            with open(path, "rb") as file:
                assert b"@example.com" not in file.read(), path
        except OSError:
            continue
    held = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
            if os.path.islink(f"/proc/self/fd/{fd}")]
    assert not [link for link in held if "attune-sample" in link]


def test_no_request_body_is_spooled_to_disk_before_the_view_runs():
    assert largest_limit() <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE


async def post_through_asgi(path: str, body: bytes, headers: list[tuple[bytes, bytes]]):
    """One POST through the whole ASGI app, as daphne makes it: the status it answered.
    (The client stays connected until the answer: Django cancels a request whose client
    has gone.)"""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
             "server": ("testserver", 80), "headers": [(b"host", b"testserver"), *headers]}
    sent = False
    answered = asyncio.Event()
    status: list[int] = []

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif not message.get("more_body"):
            answered.set()

    await application(scope, receive, send)
    return status[0]


@pytest.mark.django_db(transaction=True)
async def test_an_upload_through_the_asgi_app_stays_in_memory(people, workshop, monkeypatch):
    """The whole ASGI app, as daphne calls it, with a 4 MB sample (past Django's default
    2.5 MB, beyond which its handler would spool the body to a temporary file)."""
    pat_client, pat = people["pat"]
    source = await db(add_as)(pat, "data_sources", name="CRM export")
    page = await db(pat_client.get)(url(workshop, source))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in pat_client.cookies.items())
    data, _ = customers(20_000)
    body = encode_multipart(BOUNDARY, {"csrfmiddlewaretoken": token,
                                       "sample": SimpleUploadedFile("crm.csv", data)})

    def no_disk(self):
        raise AssertionError("the request body was spooled to a temporary file")

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", no_disk)
    status = await post_through_asgi(url(workshop, source), body, [
        (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
        (b"content-length", str(len(body)).encode()), (b"cookie", cookies.encode())])
    assert status == 302
    assert await db(lambda: DataProfile.objects.get().rows)() == 20_000


def test_a_refused_sample_leaves_nothing_open(people, workshop, pats_source):
    upload(people["pat"][0], workshop, pats_source, b"a,b\n1,2\n3\n")
    held = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
            if os.path.islink(f"/proc/self/fd/{fd}")]
    assert not [link for link in held if "attune-sample" in link]


# Findings: proposed risks ------------------------------------------------------------

def test_accepting_a_finding_adds_its_risk_linked_to_the_sources_recipes(
        host, people, workshop, pats_source, facilitator_client):
    recipe = add_as(host, "recipes", data_sources=[pats_source.pk])
    upload(people["pat"][0], workshop, pats_source)
    assert people["pat"][0].post(finding_url(workshop, pats_source)).status_code == 204
    risk = Risk.objects.get()
    assert risk.risk == "E-mail addresses in “email” of CRM export"
    assert (risk.category, risk.author_name, risk.status) == ("privacy", "Pat", "open")
    assert risk.mitigation and risk.user_control
    assert list(risk.recipes.all()) == [recipe]
    finding = DataProfile.objects.get().findings[0]
    assert finding["status"] == "accepted" and finding["risk"] == risk.pk
    kinds = list(BoardEvent.objects.filter(workshop=workshop).order_by("-version")
                 .values_list("kind", flat=True)[:2])
    assert kinds == [Kind.DATA_FINDING, Kind.ITEM_ADDED]
    again = facilitator_client.post(finding_url(workshop, pats_source))
    assert again.status_code == 400 and "accepted already" in again.content.decode()
    assert Risk.objects.count() == 1


def test_dismissing_is_for_whoever_may_edit_the_source(people, workshop, pats_source):
    upload(people["pat"][0], workshop, pats_source)
    kim_client, _ = people["kim"]
    assert kim_client.post(finding_url(workshop, pats_source, 1),
                           {"action": "dismiss"}).status_code == 403
    assert people["olive"][0].post(finding_url(workshop, pats_source, 1)).status_code == 403
    assert people["pat"][0].post(finding_url(workshop, pats_source, 1),
                                 {"action": "dismiss"}).status_code == 204
    assert DataProfile.objects.get().findings[1]["status"] == "dismissed"
    assert not Risk.objects.exists()


def test_a_finding_of_a_replaced_profile_is_refused(people, workshop, pats_source):
    upload(people["pat"][0], workshop, pats_source)
    stale = finding_url(workshop, pats_source)
    upload(people["pat"][0], workshop, pats_source)
    response = people["pat"][0].post(stale)
    assert response.status_code == 400 and "A newer sample has replaced" in (
        response.content.decode())


def test_no_such_finding_or_profile_is_not_found_or_refused(people, workshop, pats_source):
    upload(people["pat"][0], workshop, pats_source)
    assert people["pat"][0].post(finding_url(workshop, pats_source, 99)).status_code == 400
    other = add_as(people["pat"][1], "data_sources", name="Other")
    profile = pats_source.profiles.get(current=True)
    wrong = f"/w/{workshop.pk}/s/data_sources/{other.pk}/profiles/{profile.pk}/findings/0/"
    assert people["pat"][0].post(wrong).status_code == 404


def test_a_deleted_source_comes_back_with_its_profile(host, people, workshop, pats_source):
    upload(people["pat"][0], workshop, pats_source)
    event = services.delete_item(host, LISTS["data_sources"], pats_source.pk)
    services.restore_item(host, event.pk)
    restored = DataSource.objects.get(pk=pats_source.pk)
    assert restored.profile is not None and restored.profile.rows == 60


def test_a_profiles_frame_stays_small_however_wide_the_sample(host, workshop):
    """500 personal columns with 190-character names: the card shows four proposals and
    a count, and its frame stays within an edit's 8 KB per audience."""
    source = add_as(host, "data_sources", name="Wide export")
    names = [f"email_{index:03d}_" + "x" * 180 for index in range(500)]
    rows = [",".join(f"p{row}.{index}@example.org" for index in range(500))
            for row in range(3)]
    data_profiles.upload_sample(host, source.pk, io.BytesIO(
        (",".join(names) + "\n" + "\n".join(rows) + "\n").encode()), "wide.csv")
    event = BoardEvent.objects.filter(workshop=workshop).last()
    assert event.kind == Kind.DATA_PROFILED
    sizes = [sum(len(frame) for frame in frames) for frames in event_frames(event).values()]
    assert max(sizes) <= 8 * 1024, sizes
    assert len(DataProfile.objects.get().findings) == 500


# Exports: the PDF, Markdown, CSV and JSON carry the profile; an import keeps it ------

def import_file(client, data: dict):
    upload = io.BytesIO(json.dumps(data).encode())
    upload.name = "workshop.json"
    return client.post("/import/", {"file": upload})


def test_every_export_carries_the_sample_and_an_import_keeps_it(
        people, workshop, pats_source, facilitator_client):
    upload(people["pat"][0], workshop, pats_source)
    upload(people["pat"][0], workshop, pats_source, customers(80)[0], "crm-2.csv")
    html = unescape(print_html(build_roadmap(workshop)))
    assert "Evidence from data samples" in html
    assert "crm-2.csv, profiled" in html and "80 rows × 20 columns" in html
    assert "health data in “health_condition”" in html and "Earlier samples:" in html
    markdown = facilitator_client.get(f"/w/{workshop.pk}/export/roadmap.md").content.decode()
    assert "### Evidence from data samples" in markdown
    assert "80 rows × 20 columns" in markdown and "Timely: **good**" in markdown
    archive = zipfile.ZipFile(io.BytesIO(
        facilitator_client.get(f"/w/{workshop.pk}/export/csv.zip").content))
    sources = list(csv.DictReader(io.StringIO(
        archive.read("data_sources.csv").decode("utf-8-sig"))))
    assert sources[0]["sample rows"] == "80"
    assert "e-mail addresses (email)" in sources[0]["personal data found"]
    data = facilitator_client.get(f"/w/{workshop.pk}/export/workshop.json").json()
    samples = data["data_sources"][0]["samples"]
    assert [(s["current"], s["rows"]) for s in samples] == [(True, 80), (False, 60)]
    assert "@example.com" not in json.dumps(data)
    assert import_file(facilitator_client, data).status_code == 302
    copy = workshop.owner.workshops.exclude(pk=workshop.pk).get()
    copied = DataSource.objects.get(workshop=copy)
    assert copied.profile.rows == 80 and copied.profile.columns == samples[0]["columns"]
    assert copied.profile.created_at.isoformat() == samples[0]["created_at"]
    assert copied.profiles.count() == 2
    page = page_text(facilitator_client.get(url(copy, copied)))
    assert "80 rows × 20 columns" in page


def test_who_profiled_a_sample_is_unnamed_while_the_sources_authors_are(
        people, host, workshop, pats_source, facilitator_client):
    upload(people["pat"][0], workshop, pats_source)
    room_services.set_anonymous(host, ["data_sources"], True)
    kim = people["kim"][0]
    card = kim.get(f"/w/{workshop.pk}/").content.decode()
    assert "Sample of" in card and "(Pat)" not in card
    assert "by Pat" not in page_text(kim.get(url(workshop, pats_source)))
    sample = kim.get(f"/w/{workshop.pk}/export/workshop.json").json()[
        "data_sources"][0]["samples"][0]
    assert sample["by"] == "" and sample["rows"] == 60
    assert "by Pat" not in unescape(print_html(build_roadmap(workshop)))
    # The facilitators still see who did (the board and the sample's page).
    assert "by Pat" in page_text(facilitator_client.get(url(workshop, pats_source)))
    room_services.set_anonymous(host, ["data_sources"], False)
    assert "by Pat" in unescape(print_html(build_roadmap(workshop)))


def test_a_samples_texts_from_a_file_are_text_in_the_markdown_roadmap(
        people, workshop, pats_source, facilitator_client):
    """An imported sample's values are the file's: its newest date too is any text."""
    upload(people["pat"][0], workshop, pats_source)
    data = facilitator_client.get(f"/w/{workshop.pk}/export/workshop.json").json()
    data["data_sources"][0]["samples"][0]["newest"] = "<zz9>2024"
    assert import_file(facilitator_client, data).status_code == 302
    copy = workshop.owner.workshops.exclude(pk=workshop.pk).get()
    markdown = facilitator_client.get(f"/w/{copy.pk}/export/roadmap.md").content.decode()
    assert "newest value" in markdown
    html = MarkdownIt("commonmark", {"html": True}).render(markdown)
    assert "<zz9" not in html and "&lt;zz9" in html


@pytest.mark.parametrize(("spoil", "says"), [
    (lambda s: s["columns"][0].update(top="nope"),
     "samples[0].columns[0]: has a figure of the wrong kind"),
    (lambda s: s.update(rows=-1), "samples[0].rows: is not a value"),
    (lambda s: s["scores"].update(completeness={"score": "great", "evidence": ""}),
     "samples[0].scores: must give each dimension a score"),
    (lambda s: s["findings"][0].update(kind="shoe size"),
     "samples[0].findings[0]: has a value of the wrong kind"),
    (lambda s: s.update(extra=1), "samples[0]: must be an object with"),
    # Values that type-check but are no value: a list where a name goes, a day that
    # does not exist, a time that leaves the calendar once it is put in UTC.
    (lambda s: s["findings"][0].update(kind=["email"]),
     "samples[0].findings[0]: has a value of the wrong kind"),
    (lambda s: s.update(created_at="2020-02-30T10:00:00"),
     "samples[0].created_at: is not a value"),
    (lambda s: s.update(created_at="9999-12-31T23:59:59-23:00"),
     "samples[0].created_at: is not a value"),
    (lambda s: s["columns"][0].update(name="id\u0000"),
     "samples[0].columns[0]: has a figure of the wrong kind"),
])
def test_an_import_with_a_bad_sample_is_refused_and_says_where(
        people, workshop, pats_source, facilitator_client, spoil, says):
    upload(people["pat"][0], workshop, pats_source)
    data = facilitator_client.get(f"/w/{workshop.pk}/export/workshop.json").json()
    spoil(data["data_sources"][0]["samples"][0])
    answer = import_file(facilitator_client, data)
    assert answer.status_code == 422
    assert f"data_sources[0].{says}" in unescape(answer.content.decode())


def test_a_duplicated_workshop_keeps_its_samples(people, host, workshop, pats_source,
                                                 facilitator):
    upload(people["pat"][0], workshop, pats_source)
    copy = duplicate_workshop(host, facilitator)
    assert DataSource.objects.get(workshop=copy).profile.rows == 60


@pytest.mark.slow
def test_the_pdf_shows_the_samples_evidence(people, workshop, pats_source):
    upload(people["pat"][0], workshop, pats_source)
    pdf = render_pdf(print_html(build_roadmap(workshop))).pdf
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Evidence from data samples" in text
    assert "60 rows × 20 columns" in " ".join(text.split())


# Escaping ------------------------------------------------------------------------------

def test_hostile_column_and_file_names_are_escaped(people, workshop, pats_source):
    hostile = b'id,"<script>alert(1)</script>",email\n1,x,a@b.org\n2,y,c@d.org\n'
    upload(people["pat"][0], workshop, pats_source, hostile, "<img src=x onerror=alert(1)>.csv")
    page = people["pat"][0].get(url(workshop, pats_source)).content.decode()
    board = people["pat"][0].get(f"/w/{workshop.pk}/").content.decode()
    for html in (page, board):
        assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# Live: what the room's sockets receive ---------------------------------------------

@pytest.mark.django_db(transaction=True)
async def test_a_profile_reaches_the_room_with_no_personal_value(layer, host, workshop,
                                                                 people):
    _, pat = people["pat"]
    source = await db(add_as)(pat, "data_sources", name="CRM export")
    version = await db(lambda: type(workshop).objects.get(pk=workshop.pk).version)()
    sockets = [Socket(people[who][0], workshop.pk) for who in ("kim", "olive")]
    for socket in sockets:  # a participant who is not the author, and an observer
        await socket.open(version=version)
    await db(data_profiles.upload_sample)(pat, source.pk, io.BytesIO(SMALL), "crm.csv")
    for socket in sockets:
        frame = await socket.event()
        html = unescape(html_of(frame))
        assert "60 rows × 20 columns" in html and "E-mail addresses in “email”" in html
        text = json.dumps(frame)
        assert "@example.com" not in text and "+44 7911" not in text
        await socket.close()


def test_an_observer_of_a_source_with_no_sample_is_told_only_that(people, workshop,
                                                                  pats_source):
    page = page_text(people["olive"][0].get(url(workshop, pats_source)))
    assert "No sample has been profiled for CRM export yet" in page
    assert "You can read this profile" not in page
