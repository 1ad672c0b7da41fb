"""The demo's words: company names by sector, people's names and titles, and the wording of
timeline entries. Public so that ``bench/generate.py`` writes with the same vocabulary."""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.utils.text import slugify

from accounts.models import ActivityKind, ContactRole

PLACES = [
    ("Nordic", "A/S", "dk"), ("Jutland", "A/S", "dk"), ("Skane", "AB", "se"), ("Uppland", "AB", "se"),
    ("Fjordland", "AS", "no"), ("Rhine Valley", "GmbH", "de"), ("Bavarian", "GmbH", "de"),
    ("Black Forest", "GmbH", "de"), ("Alpine", "AG", "ch"), ("Brabant", "B.V.", "nl"), ("Westland", "B.V.", "nl"),
    ("Flevo", "B.V.", "nl"), ("Flanders", "NV", "be"), ("Loire", "SAS", "fr"), ("Provence", "SAS", "fr"),
    ("Ebro", "S.L.", "es"), ("Andalusian", "S.L.", "es"), ("Po Valley", "S.r.l.", "it"), ("Yorkshire", "Ltd", "co.uk"),
    ("Cotswold", "Ltd", "co.uk"), ("Highland", "Ltd", "co.uk"), ("Shannon", "Ltd", "ie"), ("Cascadia", "Inc.", "com"),
    ("Great Lakes", "Inc.", "com"), ("Prairie", "Inc.", "com"), ("Central Valley", "Inc.", "com"),
    ("Ozark", "LLC", "com"), ("Gulf Coast", "LLC", "com"), ("Hudson", "Inc.", "com"), ("Ontario", "Inc.", "ca"),
    ("Fraser", "Ltd", "ca"), ("Murray River", "Pty Ltd", "com.au"), ("Canterbury", "Ltd", "co.nz"),
    ("Waikato", "Ltd", "co.nz"),
]
DESCRIPTORS = [
    "Greenfield", "Sunrise", "Evergreen", "Silverline", "Ironbridge", "Bluewater", "Northstar", "Clearwater",
    "Redwood", "Oakridge", "Summit", "Harvest Moon", "Copperleaf", "Stonebridge", "Meadowbrook", "Windmill",
    "Riverside", "Highfield", "Brightwater", "Granite", "Golden Acre", "Tidewater",
]


@dataclass(frozen=True)
class Sector:
    businesses: tuple[str, ...]
    use_cases: tuple[str, ...]  # what they build with Node-RED on FlowFuse


SECTORS = {
    "growing": Sector(
        ("Hydroponics", "Vertical Farms", "Greenhouses", "Growers", "Aquaponics", "Mushroom Farms", "Orchards",
         "Nurseries", "Berry Farms", "Vineyards", "Seed Company", "Agritech"),
        ("greenhouse climate control", "irrigation scheduling", "nutrient dosing telemetry",
         "grow-light energy optimisation", "cold-room monitoring"),
    ),
    "food": Sector(
        ("Dairy Cooperative", "Creamery", "Poultry", "Meat Processing", "Bakeries", "Brewing Company", "Bottling",
         "Food Processing", "Cold Storage"),
        ("pasteuriser line monitoring", "CIP cycle tracking", "fermentation tank telemetry",
         "OEE dashboards for the filling line", "HACCP temperature logging"),
    ),
    "manufacturing": Sector(
        ("Precision Castings", "Packaging", "Plastics", "Metalworks", "Machine Works", "Automotive Components",
         "Textiles", "Foundry", "Paper Mill", "Glassworks", "Electronics Assembly", "Robotics"),
        ("OEE dashboards on the press line", "replacing a legacy SCADA HMI", "PLC data collection over OPC UA",
         "predictive maintenance alerts", "MES integration for work orders"),
    ),
    "infrastructure": Sector(
        ("Water Utilities", "Energy Systems", "Wind Services", "Biogas", "Pumps & Valves", "Cold Chain Logistics",
         "Industrial Controls", "Sensor Systems"),
        ("pump station telemetry", "remote asset monitoring over MQTT", "energy metering across sites",
         "alarm routing to on-call engineers", "edge gateways on 4G routers"),
    ),
}
SITES = ["Aarhus Plant", "Rotterdam Site", "Lyon Works", "Ohio Plant", "Bremen Site", "Valencia Farm", "Leeds Works",
         "Ghent Plant", "Ontario Site", "Porto Facility", "Malmo Plant", "Krakow Works"]


@dataclass(frozen=True)
class Company:
    name: str
    brand: str  # the name without its legal form, for naming a group's sites
    domain: str
    sector: str
    use_case: str


def company(rng: random.Random) -> Company:
    """A made-up customer: "Westland Greenhouses B.V.", westland-greenhouses.nl."""
    sector_name = rng.choice(list(SECTORS))
    sector = SECTORS[sector_name]
    business = rng.choice(sector.businesses)
    place, legal, tld = rng.choice(PLACES)
    first = place if rng.random() < 0.5 else rng.choice(DESCRIPTORS)
    brand = f"{first} {business}"
    name = brand + (f" {legal}" if rng.random() < 0.4 else "")
    domain = f"{slugify(f'{first} {business.split()[0]}')}.{tld}"
    return Company(name=name, brand=brand, domain=domain, sector=sector_name, use_case=rng.choice(sector.use_cases))


FIRST_NAMES = [
    "Anna", "Lars", "Sanne", "Jonas", "Emma", "Pieter", "Ingrid", "Mateo", "Lucia", "Henrik", "Freya", "Tobias",
    "Claire", "Marco", "Aisha", "Ravi", "Chloe", "Ethan", "Mia", "Noah", "Olivia", "Liam", "Hannah", "Felix",
    "Nora", "Jakob", "Elena", "Hugo", "Zoe", "Samuel", "Ines", "Oscar", "Maja", "Daniel", "Leila", "Kenji",
]
LAST_NAMES = [
    "Jensen", "Bakker", "de Vries", "Muller", "Schmidt", "Nielsen", "Andersson", "Garcia", "Rossi", "Dubois",
    "Murphy", "Walsh", "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Martin", "Lindqvist", "Hansen",
    "Visser", "Peeters", "Moreau", "Fischer", "Weber", "Kowalski", "Novak", "Silva", "Costa", "Tanaka",
]
TITLES = {
    ContactRole.CHAMPION: ["Automation Engineer", "OT Lead", "Head of Digital Operations", "Controls Engineer",
                           "Greenhouse Systems Manager", "Industry 4.0 Lead"],
    ContactRole.EXECUTIVE_SPONSOR: ["VP Operations", "COO", "Plant Director", "CTO", "Head of Manufacturing",
                                    "Managing Director"],
    ContactRole.ADMIN: ["IT Administrator", "Systems Administrator", "Network Engineer"],
    ContactRole.USER: ["Process Engineer", "Head Grower", "Maintenance Technician", "Data Analyst",
                       "Production Supervisor", "Quality Engineer"],
    ContactRole.BILLING: ["Finance Manager", "Accounts Payable", "Procurement Lead"],
}


def person(rng: random.Random, domain: str) -> tuple[str, str]:
    """A name and a work e-mail address at ``domain``."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return f"{first} {last}", f"{slugify(first)}.{slugify(last).replace('-', '')}@{domain}"


# --- Timeline wording ---------------------------------------------------------------

TIMELINE = {
    ActivityKind.NOTE: [
        ("Usage review: {n} Node-RED instances running", "Growth is steady; the team is building on {use_case}."),
        ("Internal: {use_case} rollout on track", "Champion is positive; next step is the second site."),
        ("Device agent offline on {n} devices", "Firmware update on their gateways; support ticket opened."),
        ("Flagged: instance count dropped", "Fewer active flows this month. Ask at the next check-in."),
        ("Expansion idea", "They asked about high availability for production flows."),
    ],
    ActivityKind.CALL: [
        ("Check-in call", "Walked through {use_case}; no blockers."),
        ("Call: MQTT connection drops", "Broker keep-alive too low on their side; shared the fix."),
        ("Renewal conversation", "Budget confirmed; they want a multi-year option."),
        ("Call with the champion", "They need help convincing IT about the device agent."),
    ],
    ActivityKind.MEETING: [
        ("Kickoff: onboarding plan", "Goals and success criteria confirmed; first flows this week."),
        ("QBR: {use_case}", "Reviewed value delivered, instance growth and the roadmap."),
        ("Workshop: dashboards with FlowFuse", "Built a first dashboard together; recording shared."),
        ("Architecture review", "High availability and snapshots for production flows."),
        ("Executive business review", "Sponsor wants {use_case} at every site next year."),
    ],
    ActivityKind.EMAIL_SENT: [
        ("Node-RED best practices for {use_case}", ""),
        ("Your onboarding checklist", "Connect your first device, invite your team, take a snapshot."),
        ("Follow-up: action items from our call", ""),
        ("FlowFuse release notes: new device agent features", ""),
    ],
    ActivityKind.EMAIL_RECEIVED: [
        ("Re: provisioning the device agent", "How do we enrol 50 gateways at once?"),
        ("Re: SSO setup", "Our IT team wants SAML with Entra ID."),
        ("Question: pricing for more instances", ""),
        ("Re: snapshot rollback", "Worked perfectly, thanks."),
    ],
}
# Trials are tech touch: their timeline is mostly the automated nurture sequence (seed 002).
TRIAL_NURTURE = [
    ("Trial nurture: connect your first device", "Automated e-mail."),
    ("Trial nurture: build a dashboard in ten minutes", "Automated e-mail."),
    ("Trial nurture: invite your team", "Automated e-mail."),
    ("Your trial ends soon", "Automated e-mail: upgrade prompt."),
]
KIND_WEIGHTS = {
    ActivityKind.NOTE: 25, ActivityKind.CALL: 18, ActivityKind.MEETING: 14,
    ActivityKind.EMAIL_SENT: 26, ActivityKind.EMAIL_RECEIVED: 17,
}


def timeline_entry(rng: random.Random, kind: str, use_case: str) -> tuple[str, str]:
    subject, body = rng.choice(TIMELINE[kind])
    n = rng.randint(3, 60)
    return subject.format(n=n, use_case=use_case), body.format(n=n, use_case=use_case)
