"""The Hyperplanning (HPSW) emulator over real loopback HTTP, driven by zeep as the connector
will be: what shared/apis/hyperplanning.md §11 promises."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from datetime import UTC, date, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
import zeep
from requests.auth import HTTPBasicAuth
from zeep.exceptions import Fault
from zeep.transports import Transport

from rollbridge.sandbox.hyperplanning.server import HyperplanningSandbox
from rollbridge.sandbox.school import SyntheticSchool, generate_school
from rollbridge.timeconv import utc_to_local

YEAR_START = date(2026, 9, 1)
WRONG_HOST = "http://hpsw-interne.invalid:8080"
ENVELOPE = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:h="{ns}">'
    "<s:Body><h:{op}>{inner}</h:{op}></s:Body></s:Envelope>"
)

Services = dict[str, Any]  # port name -> zeep ServiceProxy


@pytest.fixture(scope="module")
def school() -> SyntheticSchool:
    return generate_school(7, "small", year_start=YEAR_START)


@pytest.fixture(scope="module")
def server(school: SyntheticSchool) -> Iterator[HyperplanningSandbox]:
    with HyperplanningSandbox.start_in_thread(school=school, soap_address=WRONG_HOST) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(server: HyperplanningSandbox) -> HyperplanningSandbox:
    server.reset()
    return server


def session(username: str, password: str) -> requests.Session:
    http = requests.Session()
    http.auth = HTTPBasicAuth(username, password)
    return http


@pytest.fixture(scope="module")
def client(server: HyperplanningSandbox) -> zeep.Client:
    return zeep.Client(server.wsdl_url, transport=Transport(session=session(*server.auth)))


def rewritten(client: zeep.Client, base_url: str) -> Services:
    """Every port of the WSDL, its address rewritten to `base_url` keeping the path (§2)."""
    out: Services = {}
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            path = urlsplit(port.binding_options["address"]).path
            out[port.name] = client.create_service(port.binding.name, base_url + path)
    return out


@pytest.fixture(scope="module")
def ports(client: zeep.Client, server: HyperplanningSandbox) -> Services:
    return rewritten(client, server.url)


def tns(client: zeep.Client) -> str:
    """The target namespace, read from the WSDL (never hard-coded, §12)."""
    binding = next(iter(client.wsdl.bindings))
    return str(binding).partition("}")[0].lstrip("{")


def raw_call(
    sandbox: HyperplanningSandbox, namespace: str, interface: str, op: str, inner: str = ""
) -> httpx.Response:
    body = ENVELOPE.format(ns=namespace, op=op, inner=inner)
    return httpx.post(
        sandbox.soap_url(interface),
        content=body.encode(),
        auth=sandbox.auth,
        headers={"Content-Type": "text/xml; charset=utf-8"},
    )


def keys(name: str, values: list[int]) -> dict[str, list[int]]:
    """An array parameter as zeep takes it: `{"THpSvcWCleCours": [...]}`."""
    return {name: values}


def year_courses(ports: Services) -> list[int]:
    return list(ports["PortCours"].TousLesCoursEntre2Dates(YEAR_START, date(2027, 7, 31)))


# ----- WSDL, addresses and authentication -----------------------------------------------


def test_wsdl_declares_both_services_and_the_wrong_soap_address(client: zeep.Client) -> None:
    services = client.wsdl.services
    assert set(services) == {"HpSvcWDonnees", "HpSvcWAdmin"}
    assert list(services["HpSvcWAdmin"].ports) == ["PortAdmin"]
    data_ports = set(services["HpSvcWDonnees"].ports)
    assert {
        "PortCours",
        "PortEtudiants",
        "PortAbsences",
        "PortFamilles",
        "PortStages",
    } <= data_ports
    for service in services.values():
        for port in service.ports.values():
            assert port.binding_options["address"].startswith(WRONG_HOST + "/hpsw/soap/IHpSvcW")
    assert tns(client) == "http://www.indexeducation.com/frahtm/hpsvcw"


def test_partial_wsdl_per_interface(server: HyperplanningSandbox) -> None:
    transport = Transport(session=session(*server.auth))
    partial = zeep.Client(server.interface_wsdl_url("IHpSvcWCours"), transport=transport)
    assert list(partial.wsdl.services) == ["HpSvcWDonnees"]
    assert list(partial.wsdl.services["HpSvcWDonnees"].ports) == ["PortCours"]
    service = rewritten(partial, server.url)["PortCours"]
    assert service.SemaineEnDate(1) == date(2026, 8, 31)
    admin = zeep.Client(server.interface_wsdl_url("IHpSvcWAdmin"), transport=transport)
    assert list(admin.wsdl.services) == ["HpSvcWAdmin"]
    missing = requests.get(server.interface_wsdl_url("IHpSvcWNope"), auth=server.auth, timeout=5)
    assert missing.status_code == 404


def test_soap_address_switch(sandbox: HyperplanningSandbox) -> None:
    sandbox.set_soap_address(None)
    own = zeep.Client(sandbox.wsdl_url, transport=Transport(session=session(*sandbox.auth)))
    assert own.bind("HpSvcWAdmin", "PortAdmin").Version()  # the WSDL's address is ours again
    sandbox.set_soap_address("http://autre-hote.invalid")
    wsdl = requests.get(sandbox.wsdl_url, auth=sandbox.auth, timeout=5).text
    assert 'location="http://autre-hote.invalid/hpsw/soap/IHpSvcWCours"' in wsdl


def test_basic_auth_guards_wsdl_and_calls(
    sandbox: HyperplanningSandbox, client: zeep.Client
) -> None:
    assert "\\" in sandbox.username  # hosted servers: ORGANISATION\login, passed verbatim
    for auth in (None, (sandbox.username, "wrong"), (sandbox.username.split("\\")[1], "x")):
        response = requests.get(sandbox.wsdl_url, auth=auth, timeout=5)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    call = raw_call(sandbox, tns(client), "IHpSvcWAdmin", "Version")
    assert call.status_code == 200
    refused = httpx.post(sandbox.soap_url("IHpSvcWAdmin"), content=b"<x/>")
    assert refused.status_code == 401
    with pytest.raises(requests.HTTPError):
        zeep.Client(sandbox.wsdl_url, transport=Transport(session=session("ECOLE\\x", "y")))
    wrong = session(sandbox.username, "nope")
    service = client.create_service(
        f"{{{tns(client)}}}IHpSvcWAdminBinding", sandbox.soap_url("IHpSvcWAdmin")
    )
    client.transport.session, saved = wrong, client.transport.session
    try:
        with pytest.raises(zeep.exceptions.TransportError) as refused_call:
            service.Version()
        assert refused_call.value.status_code == 401
    finally:
        client.transport.session = saved


def test_service_page_needs_no_credentials(sandbox: HyperplanningSandbox) -> None:
    page = httpx.get(sandbox.url + "/hpsw")
    assert page.status_code == 200 and "HYPERPLANNING Service web" in page.text


# ----- admin, weeks and durations ----------------------------------------------------------


def test_admin_calls(ports: Services) -> None:
    admin = ports["PortAdmin"]
    assert isinstance(admin.Version(), str)
    assert admin.DatePremierJourBase() == date(2026, 8, 31)  # the Monday of year_start's week
    for fraction, expected in ((0.0625, (1, 30)), (2 / 24, (2, 0)), (0.0, (0, 0))):
        answer = admin.HpSvcWDureeEnHeureMinute(fraction)
        assert (answer.AHeure, answer.AMinute) == expected


def test_weeks_and_domain(ports: Services) -> None:
    cours = ports["PortCours"]
    assert cours.SemaineEnDate(1) == date(2026, 8, 31)
    assert cours.SemaineEnDate(8) == date(2026, 10, 19)
    course = year_courses(ports)[0]
    weeks = cours.DomaineCours(course)
    seances = cours.DetailDesSeancesPlaceesDuCours(course)
    assert sorted({s.Semaine for s in seances}) == weeks
    for seance in seances:
        monday = cours.SemaineEnDate(seance.Semaine)
        assert monday <= seance.JourEtHeureDebut.date() < monday + timedelta(days=7)
    with pytest.raises(Fault):
        cours.SemaineEnDate(99)


# ----- courses and séances -----------------------------------------------------------------


def test_parents_unplaced_and_simple_courses(
    sandbox: HyperplanningSandbox, ports: Services
) -> None:
    cours = ports["PortCours"]
    quirks = sandbox.quirks()
    parents = {int(k): v for k, v in quirks["parent_courses"].items()}
    unplaced = quirks["unplaced_courses"]
    assert parents and len(unplaced) == 1
    listed = year_courses(ports)
    assert set(parents) <= set(listed) and set(unplaced) <= set(listed)
    assert listed == sorted(listed)
    placed = cours.RestreindreTableauDeCoursAuxCoursPlaces(keys("THpSvcWCleCours", listed[::-1]))
    assert placed == [k for k in listed[::-1] if k not in unplaced]  # order kept
    flags = cours.SontCoursPeres(keys("THpSvcWCleCours", placed))
    assert {k for k, is_parent in zip(placed, flags, strict=True) if is_parent} == set(parents)
    parent, children = next(iter(parents.items()))
    assert cours.CoursEstUnCoursPere(parent) and not cours.CoursEstUnCoursSimple(parent)
    assert all(cours.CoursEstUnCoursFils(child) for child in children)
    assert cours.EstCoursNonPlace(unplaced[0]) and not cours.EstCoursNonPlace(children[0])
    assert cours.SontCoursNonPlaces(keys("THpSvcWCleCours", [unplaced[0], children[0]])) == [
        True,
        False,
    ]
    assert cours.DetailDesSeancesPlaceesDuCours(unplaced[0]) == []
    # A parent's séances duplicate its children's: skipping parents avoids double sessions.
    parent_starts = sorted(s.JourEtHeureDebut for s in cours.DetailDesSeancesPlaceesDuCours(parent))
    child_starts = sorted(
        s.JourEtHeureDebut
        for s in cours.DetailDesSeancesPlaceesTableauDeCours(keys("THpSvcWCleCours", children))
    )
    assert parent_starts == child_starts


def test_seances_match_the_generated_sessions(
    sandbox: HyperplanningSandbox, ports: Services, school: SyntheticSchool
) -> None:
    cours = ports["PortCours"]
    wanted = school.sessions[:40]
    where = sandbox.keys("session", [s.source_id for s in wanted])
    course_keys = sorted({where[s.source_id]["course"] for s in wanted})
    seances = cours.DetailDesSeancesPlaceesTableauDeCours(keys("THpSvcWCleCours", course_keys))
    assert [s.Cours for s in seances] == sorted(
        (s.Cours for s in seances), key=course_keys.index
    )  # grouped in the asked order
    by_slot = {(s.Cours, s.Semaine): s for s in seances}
    assert len(by_slot) == len(seances)  # one séance per (course, week)
    rooms = set(ports["PortSalles"].ToutesLesSalles())
    instructors = set(ports["PortEnseignants"].TousLesEnseignants())
    for session in wanted:
        place = where[session.source_id]
        seance = by_slot[(place["course"], place["week"])]
        local = utc_to_local(session.start_at, school.tz)
        assert seance.JourEtHeureDebut == local.replace(tzinfo=UTC)  # wall clock labelled Z
        minutes = (session.end_at - session.start_at).total_seconds() / 60
        assert seance.Duree == pytest.approx(minutes / 1440)  # a day fraction
        assert round(seance.Duree * 1440) == minutes
        assert seance.Matiere == cours.MatiereCours(seance.Cours)
        assert seance.TypeCours in ("CM", "TD", "TP")
        assert set(seance.TableauSalle.THpSvcWCleSalle) <= rooms
        teachers = seance.TableauEnseignant
        assert set(teachers.THpSvcWCleEnseignant if teachers else []) <= instructors
        assert len(teachers.THpSvcWCleEnseignant if teachers else []) == len(session.instructor_ids)


def test_dst_seances_keep_their_wall_clock(
    sandbox: HyperplanningSandbox, ports: Services, client: zeep.Client
) -> None:
    cours = ports["PortCours"]
    quirks = sandbox.quirks()
    days = {date.fromisoformat(d) for d in quirks["dst_days"]}
    assert len(days) == 4  # both sides of both changes
    seen = set()
    for found in quirks["dst_seances"]:
        seances = cours.DetailDesSeancesPlaceesDuCours(found["course"])
        seance = next(s for s in seances if s.Semaine == found["week"])
        start = seance.JourEtHeureDebut
        assert (start.hour, start.minute, start.utcoffset()) == (8, 30, timedelta(0))
        seen.add(start.date())
        raw = raw_call(
            sandbox,
            tns(client),
            "IHpSvcWCours",
            "DetailDesSeancesPlaceesDuCours",
            f"<h:ACours>{found['course']}</h:ACours>",
        )
        assert f"{start.date().isoformat()}T08:30:00Z".encode() in raw.content
    assert seen == days


def test_course_whose_time_varies(sandbox: HyperplanningSandbox, ports: Services) -> None:
    course = sandbox.quirks()["varying_time_course"]
    seances = ports["PortCours"].DetailDesSeancesPlaceesDuCours(course)
    assert len({(s.JourEtHeureDebut.time(), s.Duree) for s in seances}) > 1
    assert len({s.Semaine for s in seances}) == len(seances)  # the week stays the identity


def test_course_links(
    sandbox: HyperplanningSandbox, ports: Services, school: SyntheticSchool
) -> None:
    cours = ports["PortCours"]
    session = school.sessions[0]
    course = sandbox.keys("session", [session.source_id])[session.source_id]["course"]
    group = sandbox.keys("group", [session.group_ids[0]])[session.group_ids[0]]
    members = [m.learner_id for m in school.memberships if m.group_id == session.group_ids[0]]
    learner_keys = sandbox.keys("learner", members)
    assert cours.EtudiantsDuCours(course) == sorted(learner_keys.values())
    attached = cours.PromotionsDuCours(course) + cours.TDOptionsDuCours(course)
    assert attached == [group["promotion"] if group["tdoption"] is None else group["tdoption"]]
    instructor_keys = sandbox.keys("instructor", list(session.instructor_ids))
    assert set(instructor_keys.values()) <= set(cours.EnseignantsDuCours(course))
    assert cours.MemoCours(course) == session.description
    assert cours.TypeCours(course) in ("CM", "TD", "TP")
    assert cours.DureeCours(course) > 0
    assert cours.SallesDuCours(course)
    assert cours.MatieresTableauDeCours(keys("THpSvcWCleCours", [course])) == [
        cours.MatiereCours(course)
    ]
    without = sandbox.quirks()["courses_without_instructor"]
    assert without and cours.EnseignantsDuCours(without[0]) == []
    learner = next(iter(learner_keys.values()))
    window = (session.start_at.date(), session.start_at.date())
    assert course in cours.CoursEtudiantEntre2Dates(learner, *window)
    teacher = next(iter(instructor_keys.values()))
    assert course in cours.CoursEnseignantEntre2Dates(teacher, *window)
    with pytest.raises(Fault):
        cours.TousLesCoursEntre2Dates(date(2027, 1, 2), date(2027, 1, 1))


# ----- people, groups, rooms, subjects -------------------------------------------------------


def test_bulk_twins_answer_in_parallel_order(ports: Services) -> None:
    etudiants = ports["PortEtudiants"]
    learners = etudiants.TousLesEtudiants()
    assert learners == sorted(learners) and len(learners) == 60
    asked = learners[::-3]
    table = keys("THpSvcWCleEtudiant", asked)
    names = etudiants.NomsTableauDEtudiants(table)
    first_names = etudiants.PrenomsTableauDEtudiants(table)
    emails = etudiants.EMailsTableauDEtudiants(table)
    badges = etudiants.NumerosBadgeTableauDEtudiants(table)
    promotions = etudiants.PromotionsTableauDEtudiants(table)
    for i, key in enumerate(asked):
        assert names[i] == etudiants.NomEtudiant(key)
        assert first_names[i] == etudiants.PrenomEtudiant(key)
        assert emails[i] == etudiants.EMailEtudiant(key)
        assert promotions[i] == etudiants.PromotionEtudiant(key)
    assert any(b for b in badges) and any(b in ("", None) for b in badges)  # badge may be empty
    assert etudiants.NomsTableauDEtudiants(keys("THpSvcWCleEtudiant", [])) in ([], None)
    enseignants = ports["PortEnseignants"]
    teachers = enseignants.TousLesEnseignants()[::-1]
    codes = enseignants.CodesTableauDEnseignants(keys("THpSvcWCleEnseignant", teachers))
    assert len(codes) == len(teachers) == len(set(codes))


def test_people_traps(sandbox: HyperplanningSandbox, ports: Services) -> None:
    quirks = sandbox.quirks()
    enseignants = ports["PortEnseignants"]
    silent = quirks["instructor_without_email"]
    assert enseignants.EMailsTableauDEnseignants(keys("THpSvcWCleEnseignant", [silent])) in (
        [""],
        [None],
    )
    twins = keys("THpSvcWCleEnseignant", quirks["homonym_instructors"])
    last = enseignants.NomsTableauDEnseignants(twins)
    first = enseignants.PrenomsTableauDEnseignants(twins)
    codes = enseignants.CodesTableauDEnseignants(twins)
    assert last[0] == last[1] and first[0] == first[1] and codes[0] != codes[1]
    found = enseignants.AccederEnseignantParNomPrenomEtCode(last[1], first[1], codes[1])
    assert found == quirks["homonym_instructors"][1]
    etudiants = ports["PortEtudiants"]
    pair = keys("THpSvcWCleEtudiant", quirks["homonym_learners"])
    assert len(set(etudiants.NomsTableauDEtudiants(pair))) == 1
    assert len(set(etudiants.EMailsTableauDEtudiants(pair))) == 2  # e-mail tells them apart
    learner = quirks["homonym_learners"][1]
    login = etudiants.IdentifiantConnexionEtudiant(learner)
    assert etudiants.AccederEtudiantParIdentifiant(login) == learner
    with pytest.raises(Fault):
        etudiants.AccederEtudiantParIdentifiant("personne")


def test_promotions_and_td_options(ports: Services, school: SyntheticSchool) -> None:
    promotions = ports["PortPromotions"]
    tds = ports["PortTDOptions"]
    promotion_keys = promotions.ToutesLesPromotions()
    names = promotions.NomsTableauDePromotions(keys("THpSvcWClePromotion", promotion_keys))
    assert len(names) == len(set(names)) == 3
    options = tds.TousLesTDOptions()
    assert len(options) == 1  # small: one group per promotion; the study group is an option
    option = options[0]
    assert tds.NomTDOption(option).startswith("Étude dirigée — ")
    parent = tds.PromotionTDOption(option)
    assert parent in promotion_keys
    assert set(tds.EtudiantsDuTDOption(option)) < set(promotions.EtudiantsDeLaPromotion(parent))
    assert tds.NomsTableauDeTDOptions(keys("THpSvcWCleTDOption", options)) == [
        tds.NomTDOption(option)
    ]


def test_rooms_and_subjects(ports: Services) -> None:
    salles = ports["PortSalles"]
    rooms = salles.ToutesLesSalles()
    table = keys("THpSvcWCleSalle", rooms)
    for room, name, code in zip(
        rooms, salles.NomsTableauDeSalles(table), salles.CodesTableauDeSalles(table), strict=True
    ):
        label = salles.LibelleLongSalle(room)
        assert len({name, code, label}) == 3 and salles.NomSalle(room) == name
    matieres = ports["PortMatieres"]
    subjects = keys("THpSvcWCleMatiere", matieres.ToutesLesMatieres())
    labels = matieres.LibellesTableauDeMatieres(subjects)
    assert "Étude dirigée" in labels
    assert matieres.CodesTableauDeMatieres(subjects)[labels.index("Étude dirigée")] == "ETUDE"


def test_families_and_multi_section_membership(
    sandbox: HyperplanningSandbox, ports: Services
) -> None:
    familles = ports["PortFamilles"]
    quirks = sandbox.quirks()

    def families(genre: str) -> dict[str, int]:
        found = familles.ToutesLesFamillesDuGenre(genre)
        labels = familles.LibellesTableauDeFamilles(keys("THpSvcWCleFamille", found))
        return dict(zip(labels, found, strict=True))

    def sections(family: int) -> dict[int, str]:
        found = familles.ToutesLesRubriquesDeLaFamille(family)
        labels = familles.LibellesTableauDeRubriques(keys("THpSvcWCleRubrique", found))
        return dict(zip(found, labels, strict=True))

    learner_families = families("gfEtudiant")
    assert set(learner_families) == {"Formation", "Site"}
    course_families = families("gfCours")
    assert set(course_families) == {"Modalité"}
    modes = sections(course_families["Modalité"])
    assert set(modes.values()) == {"Présentiel", "Distanciel", "Autonomie"}
    assert families("gfSalle") == {}
    site = learner_families["Site"]
    learner = quirks["multi_section_learner"]
    assert len(familles.RubriquesDeLEtudiantDeFamille(site, learner)) == 2
    modality = course_families["Modalité"]
    course = quirks["multi_section_course"]
    both = familles.RubriquesDuCoursDeFamille(modality, course)
    assert {modes[k] for k in both} == {"Présentiel", "Distanciel"}
    study = quirks["courses_without_instructor"][0]  # self-study
    assert [modes[k] for k in familles.RubriquesDuCoursDeFamille(modality, study)] == ["Autonomie"]
    unplaced = quirks["unplaced_courses"][0]  # no section at all
    assert familles.RubriquesDuCoursDeFamille(modality, unplaced) == []
    with pytest.raises(Fault):  # a learner family asked about a course
        familles.RubriquesDuCoursDeFamille(site, course)
    statut = families("gfEnseignant")["Statut"]
    teacher = ports["PortEnseignants"].TousLesEnseignants()[0]
    assert len(familles.RubriqueDeLEnseignantDeFamille(statut, teacher)) == 1


def test_exemptions_and_apprenticeship_masters(
    sandbox: HyperplanningSandbox, ports: Services
) -> None:
    quirks = sandbox.quirks()
    learner, subjects = next(iter(quirks["exemptions"].items()))
    assert ports["PortDispenses"].MatieresDispenseesEtudiant(int(learner)) == subjects
    stages = ports["PortStages"]
    masters = stages.MaitresDApprentissageEtudiant(quirks["apprentices"][0])
    assert len(masters) == 1
    master = masters[0]
    assert master.Nom and master.Prenom and "@" in master.EMail and master.Entreprise
    others = set(ports["PortEtudiants"].TousLesEtudiants()) - set(quirks["apprentices"])
    assert stages.MaitresDApprentissageEtudiant(min(others)) in ([], None)


# ----- faults and switches -------------------------------------------------------------------


def test_unknown_keys_and_wrong_ports_fault(
    sandbox: HyperplanningSandbox, ports: Services, client: zeep.Client
) -> None:
    with pytest.raises(Fault, match="inconnue"):
        ports["PortCours"].EtudiantsDuCours(999_999_999)
    learners = ports["PortEtudiants"].TousLesEtudiants()
    with pytest.raises(Fault):
        ports["PortEtudiants"].NomsTableauDEtudiants(keys("THpSvcWCleEtudiant", [learners[0], 4]))
    raw = raw_call(sandbox, tns(client), "IHpSvcWCours", "MemoCours", "<h:ACours>4</h:ACours>")
    assert raw.status_code == 500 and b"faultstring" in raw.content
    wrong_port = raw_call(sandbox, tns(client), "IHpSvcWEtudiants", "Version")
    assert wrong_port.status_code == 500
    assert sandbox.log()[-1] == {**sandbox.log()[-1], "operation": "Version", "status": 500}


def test_learner_module_off(sandbox: HyperplanningSandbox, ports: Services) -> None:
    course = year_courses(ports)[0]
    sandbox.set_learner_module(False)
    for call in (
        lambda: ports["PortEtudiants"].TousLesEtudiants(),
        lambda: ports["PortCours"].EtudiantsDuCours(course),
        lambda: ports["PortAbsences"].TousLesMotifs(),
    ):
        with pytest.raises(Fault, match="module"):
            call()
    assert ports["PortEnseignants"].TousLesEnseignants()  # other modules still answer
    sandbox.set_learner_module(True)
    assert ports["PortEtudiants"].TousLesEtudiants()


def test_new_base_changes_keys_and_first_day(
    sandbox: HyperplanningSandbox, ports: Services
) -> None:
    etudiants = ports["PortEtudiants"]
    before = etudiants.TousLesEtudiants()
    emails = etudiants.EMailsTableauDEtudiants(keys("THpSvcWCleEtudiant", before))
    course = year_courses(ports)[0]
    weeks = ports["PortCours"].DomaineCours(course)
    info = sandbox.new_base()
    assert info["number"] == 2 and info["first_day"] == "2026-08-24"
    assert ports["PortAdmin"].DatePremierJourBase() == date(2026, 8, 24)
    after = etudiants.TousLesEtudiants()
    assert not set(before) & set(after)
    assert etudiants.EMailsTableauDEtudiants(keys("THpSvcWCleEtudiant", after)) == emails
    with pytest.raises(Fault):
        etudiants.NomEtudiant(before[0])
    moved = year_courses(ports)[0]
    assert moved != course
    assert ports["PortCours"].DomaineCours(moved) == [w + 1 for w in weeks]
    sandbox.reset()
    assert etudiants.TousLesEtudiants() == before


def test_latency_and_call_log(sandbox: HyperplanningSandbox, ports: Services) -> None:
    sandbox.clear_log()
    ports["PortAdmin"].Version()
    ports["PortAdmin"].Version()
    ports["PortAdmin"].DatePremierJourBase()
    assert sandbox.counts() == {"Version": 2, "DatePremierJourBase": 1}
    assert [e["operation"] for e in sandbox.log()] == ["Version", "Version", "DatePremierJourBase"]
    sandbox.set_latency(150)
    started = time.perf_counter()
    ports["PortAdmin"].Version()
    assert time.perf_counter() - started >= 0.15


# ----- attendance written back ---------------------------------------------------------------


def _a_seance(sandbox: HyperplanningSandbox, ports: Services) -> tuple[int, int, Any]:
    """(course, learner, séance) of a simple course with learners."""
    cours = ports["PortCours"]
    for course in year_courses(ports):
        if not cours.CoursEstUnCoursSimple(course) or cours.EstCoursNonPlace(course):
            continue
        learners = cours.EtudiantsDuCours(course)
        if learners:
            return course, learners[0], cours.DetailDesSeancesPlaceesDuCours(course)[0]
    raise AssertionError("no simple course with learners")


def test_absence_round_trip(sandbox: HyperplanningSandbox, ports: Services) -> None:
    absences = ports["PortAbsences"]
    course, learner, seance = _a_seance(sandbox, ports)
    start = seance.JourEtHeureDebut.replace(tzinfo=None)  # clients send naive local times
    end = start + timedelta(minutes=round(seance.Duree * 1440))
    key = absences.AjouterAbsenceEtudiant(learner, start, end, False)
    assert absences.AbsencesEtudiantEntre2Dates(learner, start, end) == [key]
    assert key in absences.AbsencesEntre2Dates(start - timedelta(days=1), end)
    assert absences.EtudiantAbsenceEtudiant(key) == learner
    assert absences.DateHeureDebutAbsenceEtudiant(key) == start.replace(tzinfo=UTC)
    assert absences.DateHeureFinAbsenceEtudiant(key) == end.replace(tzinfo=UTC)
    assert absences.AbsenceEtudiantEstJustifiee(key) is False
    assert course in absences.CoursManquesAbsenceEtudiant(key)
    with pytest.raises(Fault, match="chevauche"):  # read before write: no overlapping span
        absences.AjouterAbsenceEtudiant(learner, start, end, True)
    assert [a["key"] for a in sandbox.absences()] == [key]
    absences.EnleverAbsenceEtudiant(learner, start, end)
    assert absences.AbsencesEtudiantEntre2Dates(learner, start, end) == []
    writes = sandbox.writes()
    assert [w["op"] for w in writes] == ["AjouterAbsenceEtudiant", "EnleverAbsenceEtudiant"]
    assert writes[0] == {
        "op": "AjouterAbsenceEtudiant",
        "learner": learner,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "zone_sent": False,
        "justified": False,
        "key": key,
    }
    assert writes[1]["removed"] == [key]


def test_staff_absence_is_never_split(sandbox: HyperplanningSandbox, ports: Services) -> None:
    absences = ports["PortAbsences"]
    _, learner, seance = _a_seance(sandbox, ports)
    day = seance.JourEtHeureDebut.replace(tzinfo=None)
    morning, evening = day.replace(hour=0, minute=0), day.replace(hour=23, minute=59)
    staff = sandbox.add_staff_absence(learner, morning, evening, justified=True, motif="Maladie")
    assert absences.MotifAbsenceEtudiant(staff) == "Maladie"
    absences.EnleverAbsenceEtudiant(learner, day, day + timedelta(hours=1))
    assert absences.AbsencesEtudiantEntre2Dates(learner, morning, evening) == [staff]
    assert sandbox.absences()[0]["origin"] == "staff"
    assert sandbox.writes()[0]["removed"] == []


def test_lateness_and_reasons(sandbox: HyperplanningSandbox, ports: Services) -> None:
    absences = ports["PortAbsences"]
    _, learner, seance = _a_seance(sandbox, ports)
    start = seance.JourEtHeureDebut.replace(tzinfo=None)
    late = absences.CreerRetardEtudiant(learner, start, start + timedelta(minutes=10), False)
    assert absences.RetardsEtudiantEntre2Dates(learner, start, start + timedelta(hours=1)) == [late]
    assert round(absences.DureeRetardEtudiant(late) * 1440) == 10
    assert absences.DateHeureRetardEtudiant(late) == start.replace(tzinfo=UTC)
    assert absences.EtudiantRetardEtudiant(late) == learner
    assert absences.RetardEtudiantEstJustifie(late) is False
    assert sandbox.lateness()[0]["key"] == late
    assert "Maladie" in absences.TousLesMotifs()


def test_roll_call_flag_and_presence(sandbox: HyperplanningSandbox, ports: Services) -> None:
    absences = ports["PortAbsences"]
    course, _, seance = _a_seance(sandbox, ports)
    assert absences.AppelTermineCours(course, seance.Semaine) is False
    absences.ModifierAppelTermineCours(course, seance.Semaine, True)
    assert absences.AppelTermineCours(course, seance.Semaine) is True
    assert sandbox.roll_calls() == [{"course": course, "week": seance.Semaine}]
    with pytest.raises(Fault):
        absences.AppelTermineCours(course, 60)
    study = sandbox.quirks()["courses_without_instructor"][0]
    assert absences.PresenceObligatoireCours(study) is False
    assert absences.PresenceObligatoireCours(course) is True


# ----- process mode and the large school -----------------------------------------------------


def test_process_mode_serves_the_same_api() -> None:
    with HyperplanningSandbox.start_process(soap_address=WRONG_HOST) as sandbox:
        client = zeep.Client(sandbox.wsdl_url, transport=Transport(session=session(*sandbox.auth)))
        ports = rewritten(client, sandbox.url)
        assert ports["PortAdmin"].DatePremierJourBase() == date(2026, 8, 31)
        assert len(ports["PortEtudiants"].TousLesEtudiants()) == 60


def test_large_school_answers_seance_chunks_fast() -> None:
    with HyperplanningSandbox.start_in_thread(size="large") as sandbox:
        namespace = "http://www.indexeducation.com/frahtm/hpsvcw"
        window = "<h:ADate1>2026-08-01</h:ADate1><h:ADate2>2027-07-31</h:ADate2>"
        listing = raw_call(sandbox, namespace, "IHpSvcWCours", "TousLesCoursEntre2Dates", window)
        course_keys = [
            int(part.split(b"<", 1)[0])
            for part in listing.content.split(b"<hp:THpSvcWCleCours>")[1:]
        ]
        assert len(course_keys) > 8000
        timings = []
        with httpx.Client(auth=sandbox.auth) as http:
            for i in range(0, 4000, 200):
                items = "".join(
                    f"<h:THpSvcWCleCours>{k}</h:THpSvcWCleCours>" for k in course_keys[i : i + 200]
                )
                body = ENVELOPE.format(
                    ns=namespace,
                    op="DetailDesSeancesPlaceesTableauDeCours",
                    inner=f"<h:ATableau>{items}</h:ATableau>",
                )
                started = time.perf_counter()
                answer = http.post(sandbox.soap_url("IHpSvcWCours"), content=body.encode())
                timings.append(time.perf_counter() - started)
                assert answer.status_code == 200
                assert answer.content.count(b"<hp:THpSvcWTypeSeance>") > 200
        assert statistics.median(timings) < 0.05
        # Promotions split into TD groups ("Groupe A", "Groupe B"…), each under its promotion.
        client = zeep.Client(sandbox.wsdl_url, transport=Transport(session=session(*sandbox.auth)))
        ports = rewritten(client, sandbox.url)
        tds = ports["PortTDOptions"].TousLesTDOptions()
        names = ports["PortTDOptions"].NomsTableauDeTDOptions(keys("THpSvcWCleTDOption", tds))
        split = [(td, name) for td, name in zip(tds, names, strict=True) if " — Groupe " in name]
        assert len(split) > 100
        td, name = split[0]
        promotion = ports["PortTDOptions"].PromotionTDOption(td)
        assert name.startswith(ports["PortPromotions"].NomPromotion(promotion) + " — Groupe ")
