"""An independent exact model of a revenue share, for the property test in RevenueShareModelTests.

Reads a JSON list of cases on stdin and writes a JSON list of shares (rounded half-even to the
currency's minor unit) on stdout. Everything is Python's fractions.Fraction: no decimal rounding
until the one at the end. Plans and events use the API's JSON shapes.
"""
import json
import sys
from fractions import Fraction


def exact(text):
    return Fraction(text)


def share(case):
    plan = case["plan"]
    revenue = {product: exact(amount) for product, amount in case["revenue"].items()}
    volume = exact(case.get("volume", "0"))
    total = sum(revenue.values(), Fraction(0))
    model = plan["model"]
    if model == "flat":
        value = total * exact(plan["percent"]) / 100
    elif model == "per_product":
        percents = plan["productPercents"]
        value = sum((amount * exact(percents.get(product, "0")) / 100 for product, amount in revenue.items()), Fraction(0))
    else:
        base = volume if plan.get("tierBasis") == "volume" else total
        earned = Fraction(0)
        for tier in plan["tiers"]:
            low = exact(tier["from"])
            high = exact(tier["upTo"]) if tier.get("upTo") is not None else None
            if base > low:
                top = min(high, base) if high is not None else base
                earned += (top - low) * exact(tier["percent"]) / 100
        if plan.get("tierBasis") == "volume":
            value = earned * total / volume if volume != 0 else Fraction(0)
        else:
            value = earned
    if plan.get("minimumGuarantee") is not None and value < exact(plan["minimumGuarantee"]):
        value = exact(plan["minimumGuarantee"])
    if plan.get("cap") is not None and value > exact(plan["cap"]):
        value = exact(plan["cap"])
    # Half-even to the minor unit: Python's round() on a Fraction is exactly that.
    places = case.get("precision", 2)
    cents = round(value * 10**places)
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    whole, part = divmod(cents, 10**places)
    return f"{sign}{whole}.{part:0{places}d}" if places else f"{sign}{whole}"


json.dump([share(case) for case in json.load(sys.stdin)], sys.stdout)
