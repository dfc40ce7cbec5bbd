from django.contrib import admin

from . import models


class PhaseInline(admin.TabularInline):
    model = models.AgendaPhase
    extra = 0
    fields = ["position", "title", "minutes", "skipped"]


@admin.register(models.Workshop)
class WorkshopAdmin(admin.ModelAdmin):
    list_display = ["title", "organisation", "owner", "version", "updated_at"]
    search_fields = ["title", "organisation"]
    inlines = [PhaseInline]


@admin.register(models.DataSource)
class DataSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "workshop", "party", "readiness"]
    list_filter = ["party"]


@admin.register(models.Recipe)
class RecipeAdmin(admin.ModelAdmin):
    list_display = ["title", "workshop", "impact", "effort", "quadrant", "phase"]
    list_filter = ["phase", "kind", "content_model"]


@admin.register(models.Risk)
class RiskAdmin(admin.ModelAdmin):
    list_display = ["risk", "workshop", "category", "likelihood", "severity", "status"]
    list_filter = ["category", "status"]


@admin.register(models.BoardEvent)
class BoardEventAdmin(admin.ModelAdmin):
    list_display = ["workshop", "version", "kind", "section", "item_id", "actor", "created_at"]
    readonly_fields = [f.name for f in models.BoardEvent._meta.fields]


for model in (models.NorthStar, models.Stakeholder, models.ExampleInteraction, models.Goal,
              models.Decision, models.ActionItem, models.ParkingLotItem):
    admin.site.register(model)
