"""The HPSW emulator's planning edits and injected failures, driven through zeep: what sync
tests and the benchmark use to change the planning between runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import requests
import zeep
from requests.auth import HTTPBasicAuth
from zeep.exceptions import Fault, TransportError
from zeep.transports import Transport

from rollbridge.sandbox.hyperplanning.server import HyperplanningSandbox
from rollbridge.sandbox.runner import SandboxError

YEAR_START = date(2026, 9, 1)
YEAR_END = date(2027, 7, 31)
NEXT_YEAR = timedelta(weeks=52)

Services = dict[str, Any]  # port name -> zeep ServiceProxy


@pytest.fixture(scope="module")
def server() -> Iterator[HyperplanningSandbox]:
    with HyperplanningSandbox.start_in_thread(seed=7, size="small", year_start=YEAR_START) as hp:
        yield hp


@pytest.fixture
def sandbox(server: HyperplanningSandbox) -> HyperplanningSandbox:
    server.reset()
    return server


@pytest.fixture(scope="module")
def ports(server: HyperplanningSandbox) -> Services:
    http = requests.Session()
    http.auth = HTTPBasicAuth(*server.auth)
    client = zeep.Client(server.wsdl_url, transport=Transport(session=http))
    return {
        port: client.bind(name, port)
        for name, service in client.wsdl.services.items()
        for port in service.ports
    }


def keys(name: str, values: list[int]) -> dict[str, list[int]]:
    """An array parameter as zeep takes it: `{"THpSvcWCleCours": [...]}`."""
    return {name: values}


def courses(ports: Services, first: date = YEAR_START, last: date = YEAR_END) -> list[int]:
    return list(ports["PortCours"].TousLesCoursEntre2Dates(first, last))


def seances(ports: Services, course_keys: list[int]) -> list[Any]:
    table = keys("THpSvcWCleCours", course_keys)
    return list(ports["PortCours"].DetailDesSeancesPlaceesTableauDeCours(table))


def simple_course(ports: Services) -> tuple[int, list[int]]:
    """A simple placed course with learners, and its learners."""
    cours = ports["PortCours"]
    for course in courses(ports):
        if cours.CoursEstUnCoursSimple(course) and not cours.EstCoursNonPlace(course):
            learners = cours.EtudiantsDuCours(course)
            if learners:
                return course, learners
    raise AssertionError("no simple course with learners")


def naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def snapshot(ports: Services) -> dict[str, Any]:
    """Every key list a client reads first: edits must leave them alone."""
    return {
        "courses": courses(ports),
        "learners": ports["PortEtudiants"].TousLesEtudiants(),
        "instructors": ports["PortEnseignants"].TousLesEnseignants(),
        "rooms": ports["PortSalles"].ToutesLesSalles(),
        "subjects": ports["PortMatieres"].ToutesLesMatieres(),
    }


# ----- move-seance ---------------------------------------------------------------------------


def test_moved_seance_changes_only_its_own_answer(
    sandbox: HyperplanningSandbox, ports: Services
) -> None:
    cours = ports["PortCours"]
    before = snapshot(ports)
    course, learners = simple_course(ports)
    others = [k for k in before["courses"] if k != course][:25]
    others_before = seances(ports, others)
    original = cours.DetailDesSeancesPlaceesDuCours(course)
    seance = original[1]
    start = naive(seance.JourEtHeureDebut)
    staff = sandbox.add_staff_absence(learners[0], start, start + timedelta(hours=1))
    moved_to = start + timedelta(hours=2, minutes=15)
    sandbox.move_seance(course, seance.Semaine, moved_to)
    after = cours.DetailDesSeancesPlaceesDuCours(course)
    by_week = {s.Semaine: s for s in after}
    assert by_week[seance.Semaine].JourEtHeureDebut == moved_to.replace(tzinfo=UTC)
    assert by_week[seance.Semaine].Duree == seance.Duree
    assert by_week[seance.Semaine].TableauSalle == seance.TableauSalle
    assert by_week[seance.Semaine].TableauEnseignant == seance.TableauEnseignant
    assert [s for s in after if s.Semaine != seance.Semaine] == original[:1] + original[2:]
    in_table = [s for s in seances(ports, [course]) if s.Semaine == seance.Semaine]
    assert in_table[0].JourEtHeureDebut == moved_to.replace(tzinfo=UTC)
    assert seances(ports, others) == others_before
    assert snapshot(ports) == before
    assert [a["key"] for a in sandbox.absences()] == [staff]  # marks survive the edit


def test_seance_moved_into_another_week(sandbox: HyperplanningSandbox, ports: Services) -> None:
    cours = ports["PortCours"]
    course, _ = simple_course(ports)
    weeks = cours.DomaineCours(course)
    free = next(w for w in range(weeks[0], 60) if w not in weeks)
    seance = cours.DetailDesSeancesPlaceesDuCours(course)[0]
    start = naive(seance.JourEtHeureDebut)
    target = datetime.combine(cours.SemaineEnDate(free), start.time()) + timedelta(days=1)
    sandbox.move_seance(course, seance.Semaine, target)
    assert cours.DomaineCours(course) == sorted({*weeks, free} - {seance.Semaine})
    moved = [s for s in cours.DetailDesSeancesPlaceesDuCours(course) if s.Semaine == free]
    assert [s.JourEtHeureDebut for s in moved] == [target.replace(tzinfo=UTC)]
    assert course in cours.TousLesCoursEntre2Dates(target.date(), target.date())
    with pytest.raises(SandboxError, match="no séance in week"):
        sandbox.move_seance(course, seance.Semaine, start)  # that week is empty now
    taken = next(w for w in cours.DomaineCours(course) if w != free)
    with pytest.raises(SandboxError, match="already has a séance"):
        sandbox.move_seance(
            course, free, datetime.combine(cours.SemaineEnDate(taken), start.time())
        )


def test_moving_a_child_seance_moves_its_parent_copy(
    sandbox: HyperplanningSandbox, ports: Services
) -> None:
    cours = ports["PortCours"]
    parent, children = next(iter(sandbox.quirks()["parent_courses"].items()))
    child = children[0]
    seance = cours.DetailDesSeancesPlaceesDuCours(child)[0]
    moved_to = naive(seance.JourEtHeureDebut) + timedelta(hours=1)
    sandbox.move_seance(child, seance.Semaine, moved_to)
    parent_starts = {s.JourEtHeureDebut for s in cours.DetailDesSeancesPlaceesDuCours(parent)}
    assert moved_to.replace(tzinfo=UTC) in parent_starts
    assert seance.JourEtHeureDebut not in parent_starts
    with pytest.raises(SandboxError, match="parent"):
        sandbox.move_seance(int(parent), seance.Semaine, moved_to)


# ----- remove-course -------------------------------------------------------------------------


def test_removed_courses_are_gone_and_their_keys_fault(
    sandbox: HyperplanningSandbox, ports: Services
) -> None:
    cours = ports["PortCours"]
    before = snapshot(ports)
    course, learners = simple_course(ports)
    unplaced = sandbox.quirks()["unplaced_courses"][0]
    kept = [k for k in before["courses"] if k not in (course, unplaced)]
    kept_seances = seances(ports, kept[:20])
    sandbox.remove_courses([course, unplaced])
    assert courses(ports) == kept
    assert course not in cours.CoursEtudiantEntre2Dates(learners[0], YEAR_START, YEAR_END)
    for call in (
        lambda: cours.MatieresTableauDeCours(keys("THpSvcWCleCours", [course])),
        lambda: cours.EtudiantsDuCours(course),
        lambda: cours.DetailDesSeancesPlaceesDuCours(course),
        lambda: cours.EstCoursNonPlace(unplaced),
    ):
        with pytest.raises(Fault, match="inconnue"):
            call()
    assert seances(ports, kept[:20]) == kept_seances  # the others keep keys and answers
    assert sandbox.quirks()["unplaced_courses"] == []
    assert snapshot(ports) == {**before, "courses": kept}
    with pytest.raises(SandboxError):  # already removed: an unknown key
        sandbox.remove_courses([course])
    sandbox.reset()
    assert courses(ports) == before["courses"]


# ----- rename-learner ------------------------------------------------------------------------


def test_renamed_learner_in_every_answer(sandbox: HyperplanningSandbox, ports: Services) -> None:
    etudiants = ports["PortEtudiants"]
    learners = etudiants.TousLesEtudiants()
    table = keys("THpSvcWCleEtudiant", learners)
    names = etudiants.NomsTableauDEtudiants(table)
    emails = etudiants.EMailsTableauDEtudiants(table)
    before = snapshot(ports)
    learner = learners[4]
    sandbox.rename_learner(learner, "Nouveau-Nom")
    assert etudiants.NomEtudiant(learner) == "Nouveau-Nom"
    assert etudiants.NomsTableauDEtudiants(table) == [*names[:4], "Nouveau-Nom", *names[5:]]
    assert etudiants.EMailsTableauDEtudiants(table) == emails  # no e-mail given: kept
    sandbox.rename_learner(learner, "Épouse-Nom", email="epouse.nom@example.org")
    assert etudiants.EMailEtudiant(learner) == "epouse.nom@example.org"
    assert etudiants.NomsTableauDEtudiants(table)[4] == "Épouse-Nom"
    assert snapshot(ports) == before
    sandbox.reset()
    assert etudiants.NomsTableauDEtudiants(table) == names


# ----- injected failures ---------------------------------------------------------------------


def test_http_status_failures_then_normal(sandbox: HyperplanningSandbox, ports: Services) -> None:
    admin = ports["PortAdmin"]
    sandbox.clear_log()
    sandbox.fail("Version", times=2, status=503)
    for _ in range(2):
        with pytest.raises(TransportError) as failed:
            admin.Version()
        assert failed.value.status_code == 503
        assert b"Envelope" not in failed.value.content  # a bare proxy answer
    assert admin.Version()
    assert admin.DatePremierJourBase() == date(2026, 8, 31)  # other operations unaffected
    assert [(e["operation"], e["status"]) for e in sandbox.log()] == [
        ("Version", 503),
        ("Version", 503),
        ("Version", 200),
        ("DatePremierJourBase", 200),
    ]
    assert sandbox.counts()["Version"] == 3


def test_soap_fault_failures(sandbox: HyperplanningSandbox, ports: Services) -> None:
    etudiants = ports["PortEtudiants"]
    sandbox.fail("TousLesEtudiants", fault="Base en cours de maintenance")
    with pytest.raises(Fault, match="Base en cours de maintenance"):
        etudiants.TousLesEtudiants()
    assert etudiants.TousLesEtudiants()
    entry = sandbox.log()[-2]
    assert (entry["status"], entry["fault"]) == (500, "Base en cours de maintenance")


def test_wildcard_failures_and_clearing(sandbox: HyperplanningSandbox, ports: Services) -> None:
    admin, cours = ports["PortAdmin"], ports["PortCours"]
    sandbox.fail("*", times=2, status=502)
    with pytest.raises(TransportError) as first:
        admin.Version()
    with pytest.raises(TransportError) as second:
        cours.SemaineEnDate(1)
    assert first.value.status_code == second.value.status_code == 502
    assert cours.SemaineEnDate(1) == date(2026, 8, 31)
    sandbox.fail("*", times=5, status=500)
    sandbox.fail("Version", fault="occupé")  # the operation's own failure comes first
    with pytest.raises(Fault, match="occupé"):
        admin.Version()
    sandbox.clear_faults()
    assert admin.Version()
    sandbox.fail("*", times=3)
    sandbox.reset()
    assert admin.Version()
    with pytest.raises(SandboxError):
        sandbox.fail("PasUneOperation")


def test_bad_credentials_are_refused_before_injected_failures(
    sandbox: HyperplanningSandbox, ports: Services
) -> None:
    sandbox.fail("Version", times=1, status=503)
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:h="http://www.indexeducation.com/frahtm/hpsvcw">'
        "<s:Body><h:Version/></s:Body></s:Envelope>"
    )
    refused = httpx.post(
        sandbox.soap_url("IHpSvcWAdmin"),
        content=body.encode(),
        auth=(sandbox.username, "wrong"),
        headers={"Content-Type": "text/xml; charset=utf-8"},
    )
    assert refused.status_code == 401
    with pytest.raises(TransportError) as failed:  # the failure was still waiting
        ports["PortAdmin"].Version()
    assert failed.value.status_code == 503


# ----- new-base with shift_weeks -------------------------------------------------------------


def test_new_base_a_year_later(sandbox: HyperplanningSandbox, ports: Services) -> None:
    etudiants, cours = ports["PortEtudiants"], ports["PortCours"]
    learners = etudiants.TousLesEtudiants()
    emails = etudiants.EMailsTableauDEtudiants(keys("THpSvcWCleEtudiant", learners))
    old_courses = courses(ports)
    old_seances = sorted(s.JourEtHeureDebut for s in seances(ports, old_courses))
    old_unplaced = sandbox.quirks()["unplaced_courses"][0]
    old_domain = cours.DomaineCours(old_unplaced)
    info = sandbox.new_base(shift_weeks=52)
    assert info["number"] == 2 and info["first_day"] == "2027-08-23"
    assert ports["PortAdmin"].DatePremierJourBase() == date(2027, 8, 23)
    new_learners = etudiants.TousLesEtudiants()
    assert not set(new_learners) & set(learners)
    assert etudiants.EMailsTableauDEtudiants(keys("THpSvcWCleEtudiant", new_learners)) == emails
    assert courses(ports) == []  # nothing left in the old school year
    new_courses = courses(ports, YEAR_START + NEXT_YEAR, YEAR_END + NEXT_YEAR)
    assert len(new_courses) == len(old_courses) and not set(new_courses) & set(old_courses)
    new_seances = sorted(s.JourEtHeureDebut for s in seances(ports, new_courses))
    assert new_seances == [start + NEXT_YEAR for start in old_seances]
    quirks = sandbox.quirks()
    unplaced = quirks["unplaced_courses"][0]
    domain = cours.DomaineCours(unplaced)  # planned over the whole (next) school year
    assert len(domain) == len(old_domain)
    assert cours.SemaineEnDate(domain[0]) == date(2027, 8, 30)  # the Monday of 2027-08-31
    assert quirks["dst_seances"]
    for found in quirks["dst_seances"]:
        week = {s.Semaine: s for s in cours.DetailDesSeancesPlaceesDuCours(found["course"])}
        assert week[found["week"]].JourEtHeureDebut.date().isoformat() in quirks["dst_days"]
    sandbox.reset()
    assert etudiants.TousLesEtudiants() == learners
    assert courses(ports) == old_courses


def test_edits_carry_into_a_new_base_and_reset_restores_everything(
    sandbox: HyperplanningSandbox, ports: Services
) -> None:
    cours, etudiants = ports["PortCours"], ports["PortEtudiants"]
    before = snapshot(ports)
    every_seance = seances(ports, before["courses"])
    course, _ = simple_course(ports)
    seance = cours.DetailDesSeancesPlaceesDuCours(course)[0]
    learner = before["learners"][0]
    name = etudiants.NomEtudiant(learner)
    sandbox.move_seance(course, seance.Semaine, naive(seance.JourEtHeureDebut) + timedelta(hours=1))
    sandbox.rename_learner(learner, "Renommé")
    sandbox.remove_courses([before["courses"][-1]])
    sandbox.fail("*", times=10, status=503)
    sandbox.reset()
    assert snapshot(ports) == before
    assert seances(ports, before["courses"]) == every_seance
    assert etudiants.NomEtudiant(learner) == name
    sandbox.rename_learner(learner, "Renommé")
    sandbox.new_base()
    renamed = etudiants.TousLesEtudiants()[0]
    assert etudiants.NomEtudiant(renamed) == "Renommé"  # the new base holds the edited people
    sandbox.reset()
    assert etudiants.NomEtudiant(learner) == name
