"""The roadmap is printed once: ahead, when a session ends, and once for everyone who
asks for the same roadmap at the same time."""

from __future__ import annotations

import io
import threading
import time

import pytest
from django.core.cache import caches
from django.db import connections
from django.urls import reverse
from pypdf import PdfReader

from exports import pdf
from workshop.models import Workshop

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BOARD_URL = "http://testserver/w/{pk}/"


@pytest.fixture(autouse=True)
def fresh_pdf_cache():
    caches[pdf.PDF_CACHE].clear()
    yield
    caches[pdf.PDF_CACHE].clear()


def finish_printing_ahead() -> None:
    # One thread prints ahead, in order: once this runs, what was queued is done.
    pdf._ahead.submit(lambda: None).result(timeout=60)


def kept(workshop: Workshop, board_url: str) -> bytes | None:
    workshop.refresh_from_db()
    return caches[pdf.PDF_CACHE].get(pdf._key(workshop, board_url, pdf.ACCESSIBLE))


def test_ending_a_session_prints_the_roadmap_so_the_download_needs_no_print(
        settings, facilitator_client, workshop, live_session, pdf_prints):
    settings.EXPORTS_PDF_PRINT_AHEAD = True
    ended = facilitator_client.post(reverse("session_end", args=[workshop.pk, live_session.pk]))
    assert ended.status_code == 302
    finish_printing_ahead()
    assert pdf_prints == [pdf.ACCESSIBLE]
    board_url = BOARD_URL.format(pk=workshop.pk)
    assert kept(workshop, board_url) is not None

    download = facilitator_client.get(reverse("export_pdf", args=[workshop.pk]))
    assert download.status_code == 200
    assert pdf_prints == [pdf.ACCESSIBLE]  # no second print: from the cache
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(download.content)).pages)
    assert workshop.title in " ".join(text.split())
    assert board_url in text.replace("\n", "")


def test_a_change_after_the_session_ended_is_printed_again(
        settings, facilitator_client, workshop, live_session, add, pdf_prints):
    settings.EXPORTS_PDF_PRINT_AHEAD = True
    facilitator_client.post(reverse("session_end", args=[workshop.pk, live_session.pk]))
    finish_printing_ahead()
    add("decisions", decision="Start with the Home screen rail")
    download = facilitator_client.get(reverse("export_pdf", args=[workshop.pk]))
    assert download.status_code == 200
    assert pdf_prints == [pdf.ACCESSIBLE, pdf.ACCESSIBLE]
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(download.content)).pages)
    assert "Start with the Home screen rail" in " ".join(text.split())


def test_a_roadmap_too_large_to_print_ahead_still_ends_the_session(
        settings, facilitator_client, workshop, live_session, add, pdf_prints, caplog):
    settings.EXPORTS_PDF_PRINT_AHEAD = True
    settings.EXPORTS_PDF_MAX_ITEMS = 0
    add("decisions", decision="One item too many")
    ended = facilitator_client.post(reverse("session_end", args=[workshop.pk, live_session.pk]))
    finish_printing_ahead()
    assert ended.status_code == 302
    live_session.refresh_from_db()
    assert live_session.ended_at is not None
    assert pdf_prints == []
    assert "not printed ahead" in caplog.text
    assert kept(workshop, BOARD_URL.format(pk=workshop.pk)) is None


def test_without_printing_ahead_ending_a_session_prints_nothing(
        settings, facilitator_client, workshop, live_session, pdf_prints):
    settings.EXPORTS_PDF_PRINT_AHEAD = False
    facilitator_client.post(reverse("session_end", args=[workshop.pk, live_session.pk]))
    finish_printing_ahead()
    assert pdf_prints == []


def until_someone_waits(key: str) -> bool:
    """Hold the print under way until a second request waits for it (True), or 20 s."""
    for _ in range(2000):
        if pdf._printing[key].waiting:
            return True
        time.sleep(0.01)
    return False


def two_people_download(workshop: Workshop) -> list[bytes | pdf.RenderError]:
    """Two requests for the board's roadmap at once, each on a thread of its own."""
    answers: list[bytes | pdf.RenderError] = []

    def download() -> None:
        try:
            answers.append(pdf.roadmap_pdf(Workshop.objects.get(pk=workshop.pk)))
        except pdf.RenderError as error:
            answers.append(error)
        finally:
            connections.close_all()

    people = [threading.Thread(target=download) for _ in range(2)]
    for person in people:
        person.start()
    for person in people:
        person.join(120)
    return answers


def test_people_asking_for_the_same_roadmap_at_once_share_one_print(
        workshop, add, monkeypatch):
    add("recipes", title="Finish-the-series nudge")
    workshop.refresh_from_db()
    key = pdf._key(workshop, "", pdf.ACCESSIBLE)
    real = pdf.render_pdf
    made: list[bool] = []

    def held(html: str, variant: str = pdf.ACCESSIBLE) -> pdf.Rendered:
        made.append(until_someone_waits(key))
        return real(html, variant)

    monkeypatch.setattr(pdf, "render_pdf", held)
    got = two_people_download(workshop)
    assert made == [True], "one print, which the second request waited for"
    assert len(got) == 2 and got[0] == got[1]
    assert isinstance(got[0], bytes) and got[0].startswith(b"%PDF")
    assert pdf._printing == {}


def test_people_waiting_for_a_print_that_fails_are_told_why_at_once(
        workshop, add, settings, monkeypatch):
    """One failed print answers everyone who waited for it: not one retry, and one more
    timeout, per person in turn."""
    add("decisions", decision="Start with the Home screen rail")
    settings.EXPORTS_PDF_MAX_ITEMS = 0  # the board is refused as too large
    workshop.refresh_from_db()
    key = pdf._key(workshop, "", pdf.ACCESSIBLE)
    real = pdf.check_size
    checked: list[bool] = []

    def held(board: Workshop) -> None:
        checked.append(until_someone_waits(key))
        real(board)

    monkeypatch.setattr(pdf, "check_size", held)
    answers = two_people_download(workshop)
    assert checked == [True]  # the second person did not try again
    assert [type(answer) for answer in answers] == [pdf.TooLarge, pdf.TooLarge]
    assert str(answers[0]) == str(answers[1]) and "too large to print" in str(answers[0])
    assert pdf._printing == {}
