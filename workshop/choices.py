"""The vocabulary of the prepersonalization method, in one place."""

from django.db import models


class ScopeLevel(models.TextChoices):
    FUNCTION = "function", "Function"
    FEATURE = "feature", "Feature"
    EXPERIENCE = "experience", "Experience"
    PRODUCT = "product", "Product"


class Function(models.TextChoices):
    PRODUCT = "product", "Product"
    DESIGN = "design", "Design"
    ENGINEERING = "engineering", "Engineering"
    DATA = "data", "Data / analytics"
    MARKETING = "marketing", "Marketing"
    SUPPORT = "support", "Customer support"
    LEGAL = "legal", "Legal / privacy"
    LEADERSHIP = "leadership", "Leadership"
    OTHER = "other", "Other"


class Level(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Sentiment(models.TextChoices):
    ADMIRE = "admire", "Admire"
    FAMILIAR = "familiar", "Familiar"
    DISLIKE = "dislike", "Dislike"


class Party(models.TextChoices):
    ZERO = "zero", "Zero-party (volunteered)"
    FIRST = "first", "First-party (observed)"
    SECOND = "second", "Second-party (partner)"
    THIRD = "third", "Third-party (bought)"


class Quality(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    POOR = "poor", "Poor"
    FAIR = "fair", "Fair"
    GOOD = "good", "Good"


class Readiness(models.TextChoices):
    RED = "red", "Red"
    AMBER = "amber", "Amber"
    GREEN = "green", "Green"


class ContentModel(models.TextChoices):
    ALERT = "alert", "Alert"
    MAKE_EASIER = "make_easier", "Make easier"
    CROSS_SELL = "cross_sell", "Cross-sell"
    ENRICH = "enrich", "Enrich"


class RecipeKind(models.TextChoices):
    CUSTOMIZATION = "customization", "Customization (user chooses)"
    PERSONALIZATION = "personalization", "Personalization (system infers)"
    AUTOMATION = "automation", "Automation"


class Quadrant(models.TextChoices):
    QUICK_WIN = "quick_win", "Quick win"
    BIG_BET = "big_bet", "Big bet"
    FILL_IN = "fill_in", "Fill-in"
    MONEY_PIT = "money_pit", "Money pit"


class RiskCategory(models.TextChoices):
    PRIVACY = "privacy", "Privacy"
    BIAS = "bias", "Bias / fairness"
    FILTER_BUBBLE = "filter_bubble", "Filter bubble"
    CREEPINESS = "creepiness", "Creepiness"
    MANIPULATION = "manipulation", "Manipulation"
    EXCLUSION = "exclusion", "Exclusion"
    SECURITY = "security", "Security"
    DATA_QUALITY = "data_quality", "Data quality"


class Intent(models.TextChoices):
    INTENDED = "intended", "Intended"
    UNINTENDED = "unintended", "Unintended"


class RiskAction(models.TextChoices):
    ACT = "act", "Act"
    INFLUENCE = "influence", "Influence"
    MONITOR = "monitor", "Monitor"


class RiskStatus(models.TextChoices):
    OPEN = "open", "Open"
    MITIGATING = "mitigating", "Mitigation in progress"
    MITIGATED = "mitigated", "Mitigated"
    ACCEPTED = "accepted", "Accepted"
    CLOSED = "closed", "Closed"


class RoadmapPhase(models.TextChoices):
    UNPLANNED = "", "Not placed yet"
    NOW = "now", "Now: experiments and quick wins"
    NEXT = "next", "Next: always-on automations"
    LATER = "later", "Later: product features"
