"""Facilitators sign up, sign in and create workshops from the template."""

from workshop.models import Workshop


def test_sign_up_then_create_a_workshop_from_the_template(client, db):
    response = client.post("/accounts/signup/", {
        "username": "maya", "password1": "a-long-pass-phrase-42", "password2":
        "a-long-pass-phrase-42"})
    assert response.status_code == 302
    home = client.get("/")
    assert "Prepersonalization workshop" in home.content.decode()
    response = client.post("/w/new/", {"title": "Checkout personalization",
                                       "organisation": "Acme", "method": "prepersonalization"})
    workshop = Workshop.objects.get()
    assert response["Location"] == f"/w/{workshop.pk}/"
    assert workshop.owner.username == "maya"
    assert workshop.phases.count() == 10
    assert "Checkout personalization" in client.get("/").content.decode()


def test_home_needs_a_login(client, db):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_login_page_explains_participants_need_no_account(client, db):
    html = client.get("/accounts/login/").content.decode()
    assert "Participants don" in html


def test_facilitator_lists_only_own_workshops(facilitator_client, outsider_client, workshop):
    assert workshop.title in facilitator_client.get("/").content.decode()
    assert workshop.title not in outsider_client.get("/").content.decode()
