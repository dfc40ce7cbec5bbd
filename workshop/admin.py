"""The admin shows the board's content read-only.

Every change to a board goes through a service, which bumps the board version, logs an
event and reaches every open page; an admin form saving a model directly would do none
of that. So the admin is for looking (support, debugging); changes happen on the board.
"""

from django.contrib import admin
from django.http import HttpRequest

from . import models


class ReadOnly:
    """Admin pages that show a model but never add, change or delete it."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class PhaseInline(ReadOnly, admin.TabularInline):
    model = models.AgendaPhase
    extra = 0
    fields = ["position", "title", "minutes", "skipped"]


@admin.register(models.Workshop)
class WorkshopAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["title", "organisation", "owner", "version", "updated_at"]
    search_fields = ["title", "organisation"]
    inlines = [PhaseInline]


@admin.register(models.DataSource)
class DataSourceAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["name", "workshop", "party", "readiness"]
    list_filter = ["party"]


@admin.register(models.Recipe)
class RecipeAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["title", "workshop", "impact", "effort", "quadrant", "phase"]
    list_filter = ["phase", "kind", "content_model"]


@admin.register(models.Risk)
class RiskAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["risk", "workshop", "category", "likelihood", "severity", "status"]
    list_filter = ["category", "status"]


@admin.register(models.BoardEvent)
class BoardEventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["workshop", "version", "kind", "section", "item_id", "actor", "created_at"]


class ItemAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["__str__", "workshop", "author_name", "updated_at"]


for model in (models.NorthStar, models.Stakeholder, models.ExampleInteraction, models.Goal,
              models.Decision, models.ActionItem, models.ParkingLotItem):
    admin.site.register(model, ItemAdmin)
