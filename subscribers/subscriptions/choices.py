"""A person's choices in words, as the sign-up's emails and pages restate them: how often
(with the digest's day and time), and which themes, agencies and boroughs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from service.settings import Settings
from service.taxonomy import FACETS, Taxonomy
from subscribers.subscriptions.models import Subscriber

DAYS = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
EVERYTHING = {"themes": "All themes", "agencies": "All agencies", "boroughs": "All of Merseyside"}
NAMES = {"themes": "Themes", "agencies": "Agencies", "boroughs": "Boroughs"}


@dataclass(frozen=True)
class Schedule:
    """When the digests go: the day of the weekly one and the time of both."""

    daily_at: time
    weekly_on: str

    @classmethod
    def of(cls, settings: Settings) -> Schedule:
        return cls(settings.daily_digest_time, settings.weekly_digest_day)

    def at(self) -> str:
        """7:30am, 12 noon, 6pm."""
        hour = self.daily_at.hour % 12 or 12
        minutes = f":{self.daily_at.minute:02d}" if self.daily_at.minute else ""
        if (self.daily_at.hour, self.daily_at.minute) == (12, 0):
            return "12 noon"
        return f"{hour}{minutes}{'am' if self.daily_at.hour < 12 else 'pm'}"

    def labels(self) -> dict[str, str]:
        """The frequency choices as the forms offer them."""
        return {
            "immediate": "As soon as a brief is published",
            "daily": f"Once a day (at {self.at()})",
            "weekly": f"Once a week (on {DAYS[self.weekly_on]}s, at {self.at()})",
        }

    def sentence(self, frequency: str) -> str:
        """The frequency as the emails and pages restate it."""
        if frequency == "daily":
            return f"Once a day at {self.at()}, when there are new briefs"
        if frequency == "weekly":
            return (
                f"Once a week, on {DAYS[self.weekly_on]}s at {self.at()}, when there are new briefs"
            )
        return "As soon as a brief is published"


def described(
    subscriber: Subscriber, taxonomy: Taxonomy, schedule: Schedule
) -> list[tuple[str, str]]:
    """(what, the choice) lines: How often, Themes, Agencies, Boroughs."""
    lines = [("How often", schedule.sentence(subscriber.frequency))]
    for facet in FACETS:
        codes = set(subscriber.filters(facet))
        labels = [term.label for term in taxonomy.terms(facet) if term.code in codes]
        lines.append((NAMES[facet], ", ".join(labels) if labels else EVERYTHING[facet]))
    return lines
