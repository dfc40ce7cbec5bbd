"""Production settings refuse unsafe values, `check --deploy` is clean with the
documented variables, and the account and join pages hold to the security rules."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from workshop.forms import SignupForm

ROOT = Path(__file__).resolve().parent.parent


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py in a fresh process with production-like settings (DEBUG off)."""
    base = {key: value for key, value in os.environ.items()
            if not key.startswith("PYTEST") and key not in ("DATABASE_URL", "REDIS_URL")}
    base.update({"DJANGO_SETTINGS_MODULE": "workshop.settings", "DEBUG": "0",
                 "ATTUNE_VAR_DIR": str(tmp_path / "var"),
                 "SECRET_KEY": secrets.token_urlsafe(50)})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT,
                          env=base | env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("hosts", ["*", "attune.example.com,*"])
def test_a_wildcard_host_is_refused_when_debug_is_off(tmp_path, hosts):
    run = manage(tmp_path, "check", ALLOWED_HOSTS=hosts)
    assert run.returncode != 0
    assert "ALLOWED_HOSTS must name this server's hosts" in run.stderr


def test_check_deploy_is_clean_with_the_documented_production_variables(tmp_path):
    run = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING",
                 ALLOWED_HOSTS="attune.example.com", BEHIND_TLS_PROXY="1",
                 CSRF_TRUSTED_ORIGINS="https://attune.example.com")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


def test_check_deploy_warns_without_tls(tmp_path):
    """The same server without BEHIND_TLS_PROXY: the checks say what is missing."""
    run = manage(tmp_path, "check", "--deploy", ALLOWED_HOSTS="attune.example.com")
    for warning in ("W004", "W008", "W012", "W016"):
        assert warning in run.stderr + run.stdout


@pytest.mark.parametrize("password", ["83920174615", "password123", "short1!"])
def test_weak_passwords_are_refused_at_signup(db, password):
    form = SignupForm(data={"username": "newfac", "password1": password,
                            "password2": password})
    assert not form.is_valid()
    assert "password2" in form.errors


def test_signup_can_be_closed(db, settings):
    settings.ALLOW_SIGNUP = False
    client = Client()
    response = client.get("/accounts/signup/")
    assert response.status_code == 403
    assert b"administrator" in response.content
    post = client.post("/accounts/signup/", {"username": "sneaky", "password1": "x" * 20,
                                             "password2": "x" * 20})
    assert post.status_code == 403
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="sneaky").exists()
    assert b"/accounts/signup/" not in client.get("/accounts/login/").content


def test_the_join_page_is_not_indexed_and_sends_its_address_to_no_other_site(
        live_session):
    client = Client()
    for response in (client.get(f"/join/{live_session.join_token}/"),
                     client.post(f"/join/{live_session.join_token}/",
                                 {"display_name": "Pat", "function": "design"})):
        assert response["X-Robots-Tag"] == "noindex, nofollow"
        assert response["Referrer-Policy"] == "same-origin"


def test_joining_rotates_the_session_key(live_session):
    client = Client()
    client.get("/accounts/login/")  # a session exists before the join (any visit)
    session = client.session
    session["seen"] = True
    session.save()
    before = session.session_key
    response = client.post(f"/join/{live_session.join_token}/",
                           {"display_name": "Pat", "function": "design"})
    assert response.status_code == 302
    after = client.cookies["sessionid"].value
    assert after != before
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=before).exists()
    assert client.get(response["Location"]).status_code == 200
