"""Request times → integer seconds from local midnight of the plan's date, and back.

The only module that turns wall-clock text into numbers; ISO 8601 comes back
only when a plan is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_CLOCK = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2}))?$")


@dataclass(frozen=True, slots=True)
class Timebase:
    """The plan's day: ``origin`` is local midnight of ``day`` in ``zone``."""

    day: date
    zone: ZoneInfo

    @classmethod
    def parse(cls, day_text: str, zone_text: str) -> Timebase:
        """Raises ValueError with a message naming what is wrong."""
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise ValueError(f"not a date in YYYY-MM-DD form: {day_text!r}") from None
        try:
            if not re.fullmatch(r"[A-Za-z0-9_+\-/]{1,64}", zone_text) or ".." in zone_text:
                raise ZoneInfoNotFoundError(zone_text)
            zone = ZoneInfo(zone_text)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"unknown IANA time zone: {zone_text!r}") from None
        return cls(day, zone)

    @property
    def origin(self) -> datetime:
        return datetime.combine(self.day, time(0), tzinfo=self.zone)

    def seconds(self, text: str) -> int:
        """'HH:MM', 'HH:MM:SS' (on the plan's day) or ISO 8601 datetime → seconds."""
        m = _CLOCK.match(text)
        if m:
            hh, mm, ss = int(m[1]), int(m[2]), int(m[3] or 0)
            if hh == 24 and mm == 0 and ss == 0:
                local = datetime.combine(self.day + timedelta(days=1), time(0), tzinfo=self.zone)
            elif hh > 23 or mm > 59 or ss > 59:
                raise ValueError(f"not a valid time of day: {text!r}")
            else:
                local = datetime.combine(self.day, time(hh, mm, ss), tzinfo=self.zone)
            return self._delta(local)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a time: {text!r} (use HH:MM, HH:MM:SS or an ISO 8601 datetime)") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return self._delta(moment)

    def seconds_of(self, moment: datetime) -> int:
        """An aware datetime → seconds from the origin."""
        return self._delta(moment)

    def _delta(self, moment: datetime) -> int:
        # Subtracting aware datetimes in different zones gives real elapsed time.
        utc_origin = self.origin.astimezone(ZoneInfo("UTC"))
        return round((moment.astimezone(ZoneInfo("UTC")) - utc_origin).total_seconds())

    def iso(self, seconds: int) -> str:
        """Seconds from the origin → ISO 8601 with the local UTC offset at that moment."""
        utc = self.origin.astimezone(ZoneInfo("UTC")) + timedelta(seconds=int(seconds))
        return utc.astimezone(self.zone).isoformat()
