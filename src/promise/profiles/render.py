"""One endpoint's page and the site's index, from released profiles (docs/profiles.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from promise.profiles import plots
from promise.profiles.measures import AGE_BANDS, ONSET_BANDS, PERIOD_YEARS
from promise.profiles.pages import (
    DASH,
    RATE_HEAD,
    card,
    count,
    document,
    endpoint_title,
    esc,
    per_1000,
    percent,
    proportion_of,
    rate_rows,
    ratio_text,
    section,
    table,
)  # fmt: skip
from promise.profiles.profile import Profile
from promise.profiles.release import proportion, rate


@dataclass(frozen=True)
class SiteFacts:
    """What every page says about where its numbers come from."""

    window: tuple[dt.date, dt.date]
    periods: tuple[dt.date, ...]
    threshold: int
    round_to: int
    persons: int


def band_labels(edges: Sequence[float]) -> list[str]:
    ends = [*edges[1:], None]
    return [
        f"{a:g}+" if b is None else f"{a:g}-{b - 1:g}" for a, b in zip(edges, ends, strict=True)
    ]


def period_labels(facts: SiteFacts) -> list[str]:
    last = facts.window[1].year
    return [f"{p.year}-{min(p.year + PERIOD_YEARS - 1, last)}" for p in facts.periods]


def endpoint_page(profile: Profile, facts: SiteFacts, images: Path) -> str:
    """The page of one endpoint; its figures are written into ``images``."""
    name = profile.endpoint.name
    header = (f'<a href="index.html">All endpoints</a><h1>{esc(name)}</h1>'
              f"<p>{endpoint_title(profile.endpoint)}</p>")  # fmt: skip
    body = "".join([
        _summary(profile, facts), _who(profile, facts, images), _incidence(profile, facts, images),
        _after(profile, facts, images), _method(facts),
    ])  # fmt: skip
    return document(f"{name}: endpoint profile", header, body)


def _summary(p: Profile, facts: SiteFacts) -> str:
    women = proportion(p.status[0, 1], p.status[0, 2])
    cards = [
        card("cases", count(p.cases), f"women {percent(women)}"),
        card("prevalence at the end of data", percent(proportion_of(p.prevalence[:, 2])),
             f"of {count(p.prevalence[2, 2])} residents on {facts.window[1]}"),
        card("incidence per 1,000 person-years", per_1000(rate(p.events[2, -1, -1], p.years[2, -1, -1])),
             f"{facts.window[0].year}-{facts.window[1].year}"),
        card("recurrence within 6 months", percent(proportion_of(p.recurrence))),
        card("5-year case fatality", percent(proportion_of(p.fatality))),
        card("hazard ratio of death after it", ratio_text(p.death), "Cox, age and sex adjusted"),
    ]  # fmt: skip
    return f'<section><div class="cards">{"".join(cards)}</div></section>'


def _who(p: Profile, facts: SiteFacts, images: Path) -> str:
    rows = [[label, *(count(p.status[k, s]) for s in range(3))]
            for k, label in enumerate(("cases", "controls", "cases and controls"))]  # fmt: skip
    labels = band_labels(ONSET_BANDS)
    figure = plots.onset_histogram(p.onset_age, labels, images / f"{p.endpoint.name}-age.png")
    age_rows = [[esc(label), *(count(p.onset_age[k, s]) for s in range(3))] for k, label in enumerate([*labels, "all"])]  # fmt: skip
    return section("Cases and controls", (
        table(("", "men", "women", "all"), rows, (1, 2, 3))
        + '<p class="note">Controls as FinnGen defines them: persons without the endpoint and '
        "without the diagnoses its control exclusions name.</p>"
        + f'<div class="figs"><img alt="age at first event" src="img/{figure.name}"></div>'
        + "<details><summary>Cases by age at first event</summary>"
        + table(("age", "men", "women", "all"), age_rows, (1, 2, 3)) + "</details>"
    ))  # fmt: skip


def _incidence(p: Profile, facts: SiteFacts, images: Path) -> str:
    ages, periods = band_labels(AGE_BANDS), period_labels(facts)
    by_age_e, by_age_y = p.events[:, :-1, -1].T, p.years[:, :-1, -1].T
    by_period_e, by_period_y = p.events[:, -1, :-1].T, p.years[:, -1, :-1].T
    name = p.endpoint.name
    first = plots.rate_plot(by_age_e, by_age_y, ages, "age band (years)", images / f"{name}-incidence-age.png")  # fmt: skip
    second = plots.rate_plot(by_period_e, by_period_y, periods, "calendar period", images / f"{name}-incidence-period.png")  # fmt: skip
    full = []
    for j, period in enumerate(periods):
        for k, age in enumerate(ages):
            row = [esc(period), esc(age)]
            for s in range(3):
                row += [count(p.events[s, k, j]), count(p.years[s, k, j]), per_1000(rate(p.events[s, k, j], p.years[s, k, j]))]  # fmt: skip
            full.append(row)
    return section("Incidence", (
        f"<p>First events per 1,000 person-years at risk (resident, without the endpoint before) "
        f"from {facts.window[0]} to {facts.window[1]}, with exact Poisson (Garwood) 95% CIs.</p>"
        f'<div class="figs"><img alt="incidence by age" src="img/{first.name}">'
        f'<img alt="incidence by period" src="img/{second.name}"></div>'
        + table(("age", *RATE_HEAD[1:]), rate_rows(np.vstack([by_age_e, p.events[:, -1, -1]]), np.vstack([by_age_y, p.years[:, -1, -1]]), [*ages, "all"]), range(1, 10))  # fmt: skip
        + table(("period", *RATE_HEAD[1:]), rate_rows(by_period_e, by_period_y, periods), range(1, 10))  # fmt: skip
        + "<details><summary>By period, age band and sex</summary>"
        + table(("period", "age", *RATE_HEAD[1:]), full, range(2, 11)) + "</details>"
    ))  # fmt: skip


def _after(p: Profile, facts: SiteFacts, images: Path) -> str:
    death = (
        f"<p>Hazard ratio of death after the first event: <b>{ratio_text(p.death)}</b> "
        f"({count(p.deaths_after)} deaths after it). Cox model with age as the time scale, the "
        "endpoint as a time-varying exposure (from the day after the first event) and sex as a "
        "covariate, over residence in the window.</p>"
    )  # fmt: skip
    fatality = (
        f"<p>5-year case fatality: {percent(proportion_of(p.fatality))}: {count(p.fatality[0])} "
        f"of {count(p.fatality[2])} cases with a first event in the window at least 5 years "
        "before the end of data died within 5 years (those who emigrated earlier are left out). "
        f"Recurrence within 6 months: {percent(proportion_of(p.recurrence))}: "
        f"{count(p.recurrence[0])} of {count(p.recurrence[2])} cases resident 182 days after a "
        "first event in the window had another event 1-182 days after it.</p>"
    )
    drugs = table(
        ("ATC", "persons", "share of cases"),
        [[esc(atc), count(n), percent(proportion(n, p.drug_cases or float("nan")))] for atc, n in p.drugs],
        (1, 2),
    ) if p.drugs else f"<p>{DASH}</p>"  # fmt: skip
    drug_text = (
        f"<p>Drugs dispensed from the day of the first event to a year after, among "
        f"{count(p.drug_cases)} cases with a first event from 2005-07-01 (the Prescribed Drug "
        "Register) to a year before the end of data; codes given to fewer persons than the "
        "threshold are not listed.</p>"
    )
    return (
        section("After the endpoint", death + fatality)
        + section("Drugs in the year after", drug_text + drugs)
        + _following(p, images)
    )


def _following(p: Profile, images: Path) -> str:
    if not p.following:
        return section("What follows", f"<p>{DASH}</p>")
    rows = []
    for f in p.following:
        link = f'<a href="{esc(f.name)}.html">{esc(f.name)}</a>' if f.has_page else esc(f.name)
        share = percent(proportion(f.persons, p.cases))
        rows.append([link, count(f.persons), share, ratio_text(f.ratio)])
    forest = [(f.name, f.ratio.ratio, f.ratio.low, f.ratio.high) for f in p.following if f.ratio]
    figure = ""
    if forest:
        path = plots.ratio_plot(forest, images / f"{p.endpoint.name}-following.png")
        figure = f'<div class="figs"><img alt="hazard ratios of what follows" src="img/{path.name}"></div>'  # fmt: skip
    return section("What follows", (
        "<p>Endpoints whose first event comes after this one's (strictly later), by how many cases "
        "have them; the hazard ratio of each after this endpoint (time-varying exposure, age as "
        "the time scale in 5-year bands, sex adjusted: a piecewise-exponential Poisson model).</p>"
        + table(("endpoint", "cases with it after", "share of cases", "hazard ratio (95% CI)"), rows, (1, 2))
        + figure
    ))  # fmt: skip


def _method(facts: SiteFacts) -> str:
    return section("How these numbers were made", (
        f"<p class=\"note\">Registers from {facts.window[0]} to {facts.window[1]} unless said "
        f"otherwise. Disclosure control: counts from 1 to {facts.threshold - 1} are not shown "
        "(–), nor any count from which one could be worked out with the table's totals; shown "
        f"counts and person-years are rounded to a multiple of {facts.round_to}. Rates, shares "
        "and their intervals are computed from the shown values; a hazard ratio is shown only "
        f"when at least {facts.threshold} persons are exposed and at least {facts.threshold} "
        "events fall in each group. Method: docs/profiles.md.</p>"
    ))  # fmt: skip


def index_page(profiles: Sequence[Profile], facts: SiteFacts, evaluated: int) -> str:
    rows = []
    for p in profiles:
        rows.append([
            f'<a href="{esc(p.endpoint.name)}.html">{esc(p.endpoint.name)}</a>',
            esc(p.endpoint.longname), count(p.cases),
            per_1000(rate(p.events[2, -1, -1], p.years[2, -1, -1])),
            percent(proportion_of(p.prevalence[:, 2])), ratio_text(p.death),
        ])  # fmt: skip
    head = ("endpoint", "name", "cases", "incidence per 1,000 person-years", "prevalence", "hazard ratio of death")  # fmt: skip
    body = section("Endpoints", (
        f"<p>{len(profiles)} of the {evaluated} endpoints that Swedish registers evaluate have at "
        f"least {facts.threshold} cases and a page; the others are not listed.</p>"
        + table(head, rows, (2,))
    )) + _method(facts)  # fmt: skip
    header = (f"<h1>Endpoint profiles</h1><p>{facts.persons:,} persons; registers "
              f"{facts.window[0]} to {facts.window[1]}</p>")  # fmt: skip
    return document("Endpoint profiles", header, body)
