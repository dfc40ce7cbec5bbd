"""Sittings and their people, read-only: starting, ending, rotating links and removing
people are services that close sockets and reach open pages (see workshop/admin.py)."""

from django.contrib import admin

from workshop.admin import ReadOnly

from .models import Participant, WorkshopSession


class ParticipantInline(ReadOnly, admin.TabularInline):
    model = Participant
    extra = 0
    fields = ["display_name", "function", "role", "joined_at", "removed_at"]


@admin.register(WorkshopSession)
class WorkshopSessionAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["__str__", "workshop", "number", "started_at", "ended_at"]
    exclude = ["join_token", "observer_token"]
    inlines = [ParticipantInline]
