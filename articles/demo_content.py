"""Demo articles for ``seed_demo``: editorial Markdown as the publisher's writers would deliver it.

Each names its language (ISO 639-1) and its categories (slugs of ``DEMO_CATEGORIES``, comma-separated).
"""

# slug: (name, description)
DEMO_CATEGORIES: dict[str, tuple[str, str]] = {
    "home-office": ("Home office", "Desks, chairs and the rooms people work in."),
    "health": ("Health", "Sleep, posture, movement and feeling well."),
    "food-drink": ("Food & drink", "Cooking, coffee, tea and eating well at home."),
    "work-careers": ("Work & careers", "Teams, habits and the working day."),
    "garden": ("Garden & balcony", "Growing plants in small outdoor spaces."),
}

DEMO_ARTICLES: list[dict[str, str]] = [
    {
        "title": "How to Choose a Standing Desk That Actually Fits Your Day",
        "slug": "choose-a-standing-desk",
        "price": "79.00",
        "language": "en",
        "categories": "home-office,health",
        "body": """# How to Choose a Standing Desk That Actually Fits Your Day

Standing desks promise better posture and more energy, but the wrong one ends up as an expensive shelf. The trick is to match the desk to how you really work, not to how you imagine you will.

## Start with your height range

Measure your elbow height while standing in the shoes you wear at home. A good desk reaches that height with a couple of centimetres to spare, and drops low enough for you to sit with your thighs level.

Many budget frames stop short at either end. If you are very tall or very short, check the published range before anything else.

## Stability matters more than speed

A desk that wobbles when you type will drive you back to sitting within a week. Look for a crossbar or a heavy steel frame, and read reviews that mention the top at full height.

Motor speed is nice to have, but a few seconds either way makes no difference once the novelty wears off.

## Build the habit slowly

Alternate every thirty to sixty minutes at first. Research from the [Cornell ergonomics group](https://ergo.human.cornell.edu/) suggests that switching often beats standing for hours at a stretch.

An anti-fatigue mat and a monitor arm finish the setup. Together they cost less than most upgrades to the desk itself.
""",
    },
    {
        "title": "A Beginner's Guide to Brewing Better Coffee at Home",
        "slug": "brewing-better-coffee-at-home",
        "price": "59.00",
        "language": "en",
        "categories": "food-drink",
        "body": """# A Beginner's Guide to Brewing Better Coffee at Home

Great coffee at home does not need an espresso machine the size of a microwave. It needs fresh beans, a decent grinder and a little attention to water and time.

## Buy whole beans, and buy less

Coffee loses most of its aroma within a few weeks of roasting. Buy a bag you will finish in two weeks and grind only what you need for each brew.

## The grinder is the real upgrade

A burr grinder gives even particles, which means even extraction. Blade grinders make dust and boulders at the same time, and no recipe can fix that.

## Water and ratio

Start with one gram of coffee for every sixteen grams of water, just off the boil. Adjust one thing at a time: finer if it tastes sour, coarser if it tastes bitter.

Filtered water helps more than most people expect, especially in hard-water areas where scale dulls the flavour.
""",
    },
    {
        "title": "Five Habits That Make Remote Teams Work",
        "slug": "habits-of-remote-teams",
        "price": "99.00",
        "language": "en",
        "categories": "work-careers,home-office",
        "body": """# Five Habits That Make Remote Teams Work

Remote work succeeds or fails on habits, not tools. The teams that thrive write things down, agree on response times and protect time for deep work.

## Write it down

Decisions made in a call vanish unless someone records them. A short written summary, shared in a known place, saves hours of repeated questions later.

## Agree on response times

Not every message is urgent. Teams that agree what needs an answer within the hour, and what can wait until tomorrow, suffer far less from constant interruptions.

## Protect deep work

Block focus time in shared calendars and respect it. Meetings should cluster on a few days, leaving long uninterrupted stretches for the work that matters most.

## Meet in person sometimes

A few days together each year builds the trust that makes the rest of the year easier. Budget for it as seriously as for software.
""",
    },
    {
        "title": "Kräuter auf dem Balkon: So gelingt der kleine Garten",
        "slug": "kraeuter-auf-dem-balkon",
        "price": "45.00",
        "language": "de",
        "categories": "garden,food-drink",
        "body": """# Kräuter auf dem Balkon: So gelingt der kleine Garten

Frische Kräuter brauchen keinen großen Garten. Ein sonniger Balkon, ein paar Töpfe und gute Erde reichen, damit Basilikum, Thymian und Schnittlauch den ganzen Sommer wachsen.

## Der richtige Standort

Die meisten mediterranen Kräuter lieben die Sonne. Ein Balkon nach Süden oder Westen ist ideal, während Petersilie und Minze auch mit etwas Halbschatten zufrieden sind.

## Töpfe und Erde

Jeder Topf braucht ein Abzugsloch, denn Staunässe ist der häufigste Grund für eingehende Pflanzen. Spezielle Kräutererde ist nährstoffarm und durchlässig, genau wie es Rosmarin und Salbei mögen.

## Gießen mit Gefühl

Lieber selten und gründlich gießen als jeden Tag ein wenig. Die Erde darf zwischen zwei Wassergaben an der Oberfläche antrocknen.

Wer regelmäßig erntet, fördert den Wuchs: Triebspitzen abschneiden, dann verzweigt sich die Pflanze und bleibt buschig.
""",
    },
]
