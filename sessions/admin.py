from django.contrib import admin

from .models import Participant, WorkshopSession


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    fields = ["display_name", "function", "role", "joined_at", "removed_at"]
    readonly_fields = ["joined_at"]


@admin.register(WorkshopSession)
class WorkshopSessionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "workshop", "number", "started_at", "ended_at"]
    exclude = ["join_token", "observer_token"]
    inlines = [ParticipantInline]
