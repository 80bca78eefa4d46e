"""`HpswClient`'s lean read path against zeep's, over the HPSW emulator (small school, seed 7,
a WSDL naming an internal host): every read answers exactly what zeep answers, faults and
HTTP failures are translated and retried the same, writes still go through zeep; plus the
codec on crafted answers and the `http.client` HTTP layer on a scripted server (chunked,
gzip, deflate, close-delimited, interim, cut short, stale, timed out and TLS connections)."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import http.client
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import zeep
from lxml import etree
from pydantic import SecretStr
from requests.auth import HTTPBasicAuth
from zeep.transports import Transport
from zeep.wsdl.bindings.soap import Soap11Binding

from rollbridge.errors import AuthError, RollbridgeError
from rollbridge.sandbox.hyperplanning.server import HyperplanningSandbox
from rollbridge.sources.hyperplanning import client as client_module
from rollbridge.sources.hyperplanning.client import READ_ATTEMPTS, HpswClient, HpswUnreachable
from rollbridge.sources.hyperplanning.soapcodec import Unsupported, compile_operation
from rollbridge.sources.hyperplanning.soaphttp import (
    HttpFailure,
    SocketPoster,
    basic_authorization,
    tls_context,
)

YEAR = (date(2026, 9, 1), date(2027, 7, 31))
SPAN = (datetime(2026, 9, 1), datetime(2027, 7, 31, 23))
WRITES = ("Ajouter", "Enlever", "Creer", "Modifier")
COURS, ETUDIANTS, ABSENCES = "PortCours", "PortEtudiants", "PortAbsences"


def make(hp: HyperplanningSandbox, *, lean: bool, **kwargs: Any) -> HpswClient:
    return HpswClient(hp.url, hp.username, SecretStr(hp.password), lean=lean, **kwargs)


def same(a: object, b: object) -> bool:
    """Equal, of the same types all the way down, dict keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, datetime):
        assert isinstance(b, datetime)
        return a == b and type(a.tzinfo) is type(b.tzinfo) and a.utcoffset() == b.utcoffset()
    return a == b


def outcome(client: HpswClient, port: str, operation: str, *args: object) -> tuple[Any, ...]:
    try:
        return ("ok", client.call(port, operation, *args))
    except RollbridgeError as exc:
        return ("error", type(exc).__name__, str(exc))


@dataclass
class Spy:
    """zeep answers parsed and requests sent through requests, while it is on."""

    zeep_replies: int = 0
    requests_sent: int = 0


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    counts = Spy()
    reply, send = Soap11Binding.process_reply, requests.Session.send

    def counted_reply(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts.zeep_replies += 1
        return reply(self, *args, **kwargs)

    def counted_send(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts.requests_sent += 1
        return send(self, *args, **kwargs)

    monkeypatch.setattr(Soap11Binding, "process_reply", counted_reply)
    monkeypatch.setattr(requests.Session, "send", counted_send)
    return counts


@pytest.fixture(scope="module")
def lean(hp_server: HyperplanningSandbox) -> HpswClient:
    client = make(hp_server, lean=True)
    client.version()
    return client


@pytest.fixture(scope="module")
def ref(hp_server: HyperplanningSandbox) -> HpswClient:
    client = make(hp_server, lean=False)
    client.version()
    return client


@dataclass
class Keys:
    """Keys of the small school's base 1, read through zeep."""

    courses: list[int]
    placed: list[int]
    learners: list[int]
    teachers: list[int]
    rooms: list[int]
    subjects: list[int]
    promotions: list[int]
    tds: list[int]
    families: list[int]
    sections: list[int]
    quirks: dict[str, Any]

    def one(self, entity: str) -> int:
        return self.many(entity)[0]

    def many(self, entity: str) -> list[int]:
        return {
            "Cours": self.placed,
            "Etudiant": self.learners,
            "Enseignant": self.teachers,
            "Salle": self.rooms,
            "Matiere": self.subjects,
            "Promotion": self.promotions,
            "TDOption": self.tds,
            "Famille": self.families,
            "Rubrique": self.sections,
        }[entity]


def _keys(client: HpswClient, port: str, operation: str, *args: object) -> list[int]:
    return [int(k) for k in client.keys(port, operation, *args)]  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def keys(hp_server: HyperplanningSandbox, ref: HpswClient) -> Keys:
    hp_server.reset()
    courses = _keys(ref, COURS, "TousLesCoursEntre2Dates", *YEAR)
    placed = [
        int(k)  # type: ignore[call-overload]
        for k in ref.chunked(
            COURS, "RestreindreTableauDeCoursAuxCoursPlaces", "THpSvcWCleCours", courses
        )
    ]
    families = _keys(ref, "PortFamilles", "ToutesLesFamillesDuGenre", "gfEtudiant")
    families += _keys(ref, "PortFamilles", "ToutesLesFamillesDuGenre", "gfCours")
    sections = [
        s for f in families for s in _keys(ref, "PortFamilles", "ToutesLesRubriquesDeLaFamille", f)
    ]
    return Keys(
        courses=courses,
        placed=placed,
        learners=_keys(ref, ETUDIANTS, "TousLesEtudiants"),
        teachers=_keys(ref, "PortEnseignants", "TousLesEnseignants"),
        rooms=_keys(ref, "PortSalles", "ToutesLesSalles"),
        subjects=_keys(ref, "PortMatieres", "ToutesLesMatieres"),
        promotions=_keys(ref, "PortPromotions", "ToutesLesPromotions"),
        tds=_keys(ref, "PortTDOptions", "TousLesTDOptions"),
        families=families,
        sections=sections,
        quirks=hp_server.quirks(),
    )


@dataclass
class Marks:
    absence: int
    lateness: int
    learner: int


@pytest.fixture
def marks(hp: HyperplanningSandbox, ref: HpswClient, keys: Keys) -> Marks:
    """One staff absence (justified, with a reason) and one lateness, on one learner."""
    learner = keys.learners[3]
    absence = hp.add_staff_absence(
        learner, datetime(2026, 10, 5, 8), datetime(2026, 10, 5, 12), justified=True, motif="Grippe"
    )
    start = datetime(2026, 10, 6, 8, 30)
    late = ref.call(
        ABSENCES,
        "CreerRetardEtudiant",
        learner,
        start,
        start + timedelta(minutes=10),
        False,
        write=True,
    )
    return Marks(absence, int(late), learner)  # type: ignore[call-overload]


# ----- every read answers as zeep --------------------------------------------------------

T = "THpSvcWCleCours"
Call = tuple[str, str, Callable[[Keys, Marks], tuple[object, ...]]]
CALLS: list[Call] = [
    (COURS, "TousLesCoursEntre2Dates", lambda k, m: YEAR),
    (COURS, "TousLesCoursEntre2Dates", lambda k, m: (date(2025, 1, 1), date(2025, 1, 2))),
    (COURS, "RestreindreTableauDeCoursAuxCoursPlaces", lambda k, m: ({T: k.courses},)),
    (COURS, "RestreindreTableauDeCoursAuxCoursPlaces", lambda k, m: ({T: []},)),
    (COURS, "SontCoursPeres", lambda k, m: ({T: k.placed},)),
    (COURS, "DetailDesSeancesPlaceesTableauDeCours", lambda k, m: ({T: k.placed},)),
    (COURS, "DetailDesSeancesPlaceesTableauDeCours", lambda k, m: ({T: k.placed[:1]},)),
    (COURS, "DetailDesSeancesPlaceesDuCours", lambda k, m: (k.quirks["varying_time_course"],)),
    (COURS, "DetailDesSeancesPlaceesDuCours", lambda k, m: (k.quirks["unplaced_courses"][0],)),
    (COURS, "DetailDesSeancesPlaceesDuCours", lambda k, m: (1,)),  # unknown: a Fault
    (COURS, "MatieresTableauDeCours", lambda k, m: ({T: k.placed},)),
    (COURS, "PromotionsDuCours", lambda k, m: (k.placed[0],)),
    (COURS, "TDOptionsDuCours", lambda k, m: (k.placed[0],)),
    (COURS, "EtudiantsDuCours", lambda k, m: (k.placed[0],)),
    (COURS, "EtudiantsDuCours", lambda k, m: (k.quirks["multi_section_course"],)),
    (COURS, "MemoCours", lambda k, m: (k.placed[0],)),
    ("PortFamilles", "ToutesLesFamillesDuGenre", lambda k, m: ("gfCours",)),
    ("PortFamilles", "ToutesLesFamillesDuGenre", lambda k, m: ("gfSalle",)),
    (
        "PortFamilles",
        "LibellesTableauDeFamilles",
        lambda k, m: ({"THpSvcWCleFamille": k.families},),
    ),
    ("PortFamilles", "ToutesLesRubriquesDeLaFamille", lambda k, m: (k.families[0],)),
    (
        "PortFamilles",
        "LibellesTableauDeRubriques",
        lambda k, m: ({"THpSvcWCleRubrique": k.sections},),
    ),
    (
        "PortFamilles",
        "RubriquesDuCoursDeFamille",
        lambda k, m: (k.families[-1], k.quirks["multi_section_course"]),
    ),
    (
        "PortFamilles",
        "RubriquesDeLEtudiantDeFamille",
        lambda k, m: (k.families[0], k.quirks["multi_section_learner"]),
    ),
    (ETUDIANTS, "TousLesEtudiants", lambda k, m: ()),
    (ETUDIANTS, "NomsTableauDEtudiants", lambda k, m: ({"THpSvcWCleEtudiant": k.learners},)),
    (ETUDIANTS, "PrenomsTableauDEtudiants", lambda k, m: ({"THpSvcWCleEtudiant": k.learners},)),
    (ETUDIANTS, "EMailsTableauDEtudiants", lambda k, m: ({"THpSvcWCleEtudiant": k.learners},)),
    (
        ETUDIANTS,
        "NumerosBadgeTableauDEtudiants",
        lambda k, m: ({"THpSvcWCleEtudiant": k.learners},),
    ),
    (
        ETUDIANTS,
        "PromotionsTableauDEtudiants",
        lambda k, m: ({"THpSvcWCleEtudiant": k.learners},),
    ),
    ("PortEnseignants", "TousLesEnseignants", lambda k, m: ()),
    *(
        (
            "PortEnseignants",
            f"{what}TableauDEnseignants",
            lambda k, m: ({"THpSvcWCleEnseignant": k.teachers},),
        )
        for what in ("Noms", "Prenoms", "Codes", "EMails")
    ),
    ("PortSalles", "ToutesLesSalles", lambda k, m: ()),
    ("PortSalles", "NomsTableauDeSalles", lambda k, m: ({"THpSvcWCleSalle": k.rooms},)),
    ("PortSalles", "CodesTableauDeSalles", lambda k, m: ({"THpSvcWCleSalle": k.rooms},)),
    ("PortSalles", "LibelleLongSalle", lambda k, m: (k.rooms[0],)),
    ("PortSalles", "LibelleLongSalle", lambda k, m: (1,)),
    ("PortMatieres", "ToutesLesMatieres", lambda k, m: ()),
    (
        "PortMatieres",
        "LibellesTableauDeMatieres",
        lambda k, m: ({"THpSvcWCleMatiere": k.subjects},),
    ),
    ("PortMatieres", "CodesTableauDeMatieres", lambda k, m: ({"THpSvcWCleMatiere": k.subjects},)),
    ("PortPromotions", "ToutesLesPromotions", lambda k, m: ()),
    (
        "PortPromotions",
        "NomsTableauDePromotions",
        lambda k, m: ({"THpSvcWClePromotion": k.promotions},),
    ),
    ("PortTDOptions", "TousLesTDOptions", lambda k, m: ()),
    ("PortTDOptions", "NomsTableauDeTDOptions", lambda k, m: ({"THpSvcWCleTDOption": k.tds},)),
    ("PortTDOptions", "PromotionTDOption", lambda k, m: (k.tds[0],)),
    ("PortTDOptions", "EtudiantsDuTDOption", lambda k, m: (k.tds[0],)),
    (
        "PortDispenses",
        "MatieresDispenseesEtudiant",
        lambda k, m: (int(next(iter(k.quirks["exemptions"]))),),
    ),
    ("PortDispenses", "MatieresDispenseesEtudiant", lambda k, m: (k.learners[0],)),
    ("PortStages", "MaitresDApprentissageEtudiant", lambda k, m: (k.quirks["apprentices"][0],)),
    ("PortStages", "MaitresDApprentissageEtudiant", lambda k, m: (k.learners[-1],)),
    (ABSENCES, "AbsencesEtudiantEntre2Dates", lambda k, m: (m.learner, *SPAN)),
    (ABSENCES, "AbsencesEtudiantEntre2Dates", lambda k, m: (k.learners[0], *SPAN)),
    (ABSENCES, "DateHeureDebutAbsenceEtudiant", lambda k, m: (m.absence,)),
    (ABSENCES, "DateHeureFinAbsenceEtudiant", lambda k, m: (m.absence,)),
    (ABSENCES, "AbsenceEtudiantEstJustifiee", lambda k, m: (m.absence,)),
    (ABSENCES, "MotifAbsenceEtudiant", lambda k, m: (m.absence,)),
    (ABSENCES, "RetardsEtudiantEntre2Dates", lambda k, m: (m.learner, *SPAN)),
    (ABSENCES, "DateHeureRetardEtudiant", lambda k, m: (m.lateness,)),
    (ABSENCES, "DureeRetardEtudiant", lambda k, m: (m.lateness,)),
    (ABSENCES, "RetardEtudiantEstJustifie", lambda k, m: (m.lateness,)),
    (ABSENCES, "MotifRetardEtudiant", lambda k, m: (m.lateness,)),
    (ABSENCES, "PresenceObligatoireCours", lambda k, m: (k.placed[0],)),
    ("PortAdmin", "Version", lambda k, m: ()),
    ("PortAdmin", "DatePremierJourBase", lambda k, m: ()),
    ("PortAdmin", "HpSvcWDureeEnHeureMinute", lambda k, m: (0.0625,)),
]


@pytest.mark.parametrize(
    ("port", "operation", "args"), CALLS, ids=[f"{op}-{i}" for i, (_, op, _) in enumerate(CALLS)]
)
def test_a_read_answers_exactly_as_zeep(
    lean: HpswClient,
    ref: HpswClient,
    keys: Keys,
    marks: Marks,
    spy: Spy,
    port: str,
    operation: str,
    args: Callable[[Keys, Marks], tuple[object, ...]],
) -> None:
    given = args(keys, marks)
    expected = outcome(ref, port, operation, *given)
    spy.zeep_replies = spy.requests_sent = 0
    got = outcome(lean, port, operation, *given)
    assert same(got, expected), (got, expected)
    assert spy.requests_sent == 0  # over the socket layer, never requests
    # The lean codec read the answer itself; zeep only reads Faults.
    assert spy.zeep_replies == (0 if expected[0] == "ok" else 1)


def test_every_read_operation_of_the_wsdl_answers_as_zeep(
    hp: HyperplanningSandbox, lean: HpswClient, ref: HpswClient, keys: Keys, marks: Marks
) -> None:
    """Arguments made from each read operation's declared parameter types."""
    zc = zeep.Client(hp.wsdl_url, transport=Transport(session=_session(hp)))
    compared = 0
    for service in zc.wsdl.services.values():
        for port in service.ports.values():
            for name, operation in port.binding.all().items():
                if name.startswith(WRITES):
                    continue
                args = [_sample(e, keys, marks) for _, e in operation.input.body.type.elements]
                expected = outcome(ref, port.name, name, *args)
                got = outcome(lean, port.name, name, *args)
                assert same(got, expected), (name, got, expected)
                compared += 1
    assert compared >= 80


def _sample(element: Any, keys: Keys, marks: Marks) -> object:
    """A value for a parameter of this element's type."""
    type_name = element.type.qname.localname
    if type_name.startswith("THpSvcWCle"):
        return _key(type_name, keys, marks)
    if type_name == "THpSvcWSemaine":
        return 5
    if type_name.startswith("THpSvcWTableau"):
        (item_name, item), *_ = element.type.elements
        item_type = item.type.qname.localname
        if item_type == "THpSvcWSemaine":
            return {item_name: [3, 4]}
        entity = item_type.removeprefix("THpSvcWCle")
        if entity in ("AbsenceEtudiant", "RetardEtudiant"):
            return {item_name: [_key(item_type, keys, marks)]}
        return {item_name: keys.many(entity)[:30]}
    return {
        "date": YEAR[0] if element.name.endswith("1") else YEAR[1],
        "dateTime": SPAN[0] if "Debut" in element.name else SPAN[1],
        "boolean": True,
        "double": 0.0625,
        "string": "inconnu",
        "THpSvcWGenreFamille": "gfEtudiant",
    }[type_name]


def _key(type_name: str, keys: Keys, marks: Marks) -> int:
    entity = type_name.removeprefix("THpSvcWCle")
    if entity == "AbsenceEtudiant":
        return marks.absence
    if entity == "RetardEtudiant":
        return marks.lateness
    return keys.one(entity)


def _session(hp: HyperplanningSandbox) -> requests.Session:
    http = requests.Session()
    http.auth = HTTPBasicAuth(*hp.auth)
    return http


def test_the_request_is_the_envelope_zeep_sends(hp: HyperplanningSandbox) -> None:
    zc = zeep.Client(hp.wsdl_url, transport=Transport(session=_session(hp)))
    service = zc.bind("HpSvcWDonnees", "PortCours")
    binding = service._binding
    cases: list[tuple[str, tuple[object, ...]]] = [
        ("EtudiantsDuCours", (100011,)),
        ("TousLesCoursEntre2Dates", YEAR),
        ("RestreindreTableauDeCoursAuxCoursPlaces", ({T: [3, 1, 2]},)),
        ("RestreindreTableauDeCoursAuxCoursPlaces", ({T: []},)),
        ("SemaineEnDate", (7,)),
    ]
    absences = zc.bind("HpSvcWDonnees", "PortAbsences")
    for name, args in cases:
        codec = compile_operation(binding, name)
        assert codec.encode(args) == _zeep_envelope(zc, service, name, args)
    for name, args in [
        ("AbsencesEtudiantEntre2Dates", (7, *SPAN)),
        ("AbsencesEtudiantEntre2Dates", (7, datetime(2026, 9, 1, 8, 30, 15, 250), SPAN[1])),
    ]:
        codec = compile_operation(absences._binding, name)
        assert codec.encode(args) == _zeep_envelope(zc, absences, name, args)
    texts = zc.bind("HpSvcWDonnees", "PortEtudiants")
    codec = compile_operation(texts._binding, "AccederEtudiantParIdentifiant")
    for text in ("a&b<c>d\r\"e'f", "Zoé\\x", ""):
        assert codec.encode((text,)) == _zeep_envelope(
            zc, texts, "AccederEtudiantParIdentifiant", (text,)
        )
    # What the template does not render goes to zeep: wrong arity, None, a tuple of keys.
    plain = compile_operation(binding, "EtudiantsDuCours")
    tables = compile_operation(binding, "RestreindreTableauDeCoursAuxCoursPlaces")
    assert plain.encode(()) is None and plain.encode((None,)) is None
    assert tables.encode(({T: (1, 2)},)) is None and tables.encode(([1, 2],)) is None
    assert compile_operation(binding, "EtudiantsDuCours").headers == {
        "SOAPAction": '"urn:HpSvcW-IHpSvcWCours#EtudiantsDuCours"',
        "Content-Type": "text/xml; charset=utf-8",
    }


def _zeep_envelope(zc: zeep.Client, service: Any, name: str, args: tuple[object, ...]) -> bytes:
    message = zc.create_message(service, name, *args)
    return bytes(etree.tostring(message, xml_declaration=True, encoding="utf-8"))


# ----- crafted answers: the codec reads them as zeep does, or leaves them to zeep ---------

NS = "http://www.indexeducation.com/frahtm/hpsvcw"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SEANCE = (
    "<h:Cours>1</h:Cours><h:Semaine>2</h:Semaine>"
    "<h:JourEtHeureDebut>2026-09-01T08:00:00Z</h:JourEtHeureDebut><h:Duree>0.5</h:Duree>"
    "<h:Matiere>3</h:Matiere><h:TypeCours>TD</h:TypeCours>"
    "<h:TableauSalle><h:THpSvcWCleSalle>4</h:THpSvcWCleSalle>"
    "<h:THpSvcWCleSalle>5</h:THpSvcWCleSalle></h:TableauSalle><h:TableauEnseignant/>"
)
D = "DetailDesSeancesPlaceesDuCours"


def _envelope(inner: str) -> bytes:
    """An answer envelope; `xsi` declared only when used (else the codec's fast paths)."""
    xsi = (
        f' xmlns:xsi="{XSI}" xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        if "xsi:" in inner
        else ""
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?>\n<S:Envelope "
        f'xmlns:S="http://schemas.xmlsoap.org/soap/envelope/" xmlns:h="{NS}"{xsi}>'
        f"<S:Body>{inner}</S:Body></S:Envelope>"
    ).encode()


def _seances(*records: str) -> bytes:
    inner = "".join(f"<h:THpSvcWTypeSeance>{r}</h:THpSvcWTypeSeance>" for r in records)
    return _envelope(f"<h:{D}Response>{inner}</h:{D}Response>")


# (operation, answer, whether the codec must read it itself)
CRAFTED: list[tuple[str, bytes, bool]] = [
    (D, _seances(SEANCE), True),
    (D, _seances(SEANCE, SEANCE.replace("08:00:00Z", "09:15:00")), True),
    (D, _envelope(f"<h:{D}Response/>"), True),
    (D, _seances(""), True),  # an empty séance: None, as zeep has it
    (D, _seances("<h:Cours>1</h:Cours><h:Semaine>2</h:Semaine>"), True),  # the rest: defaults
    (D, _seances("<h:Cours> 7 </h:Cours>"), True),
    (D, _seances("<Cours>1</Cours><Semaine>2</Semaine>"), True),  # unqualified
    (D, _seances(SEANCE.replace("<h:TypeCours>TD", "<h:TypeCours>  T&amp;D<![CDATA[<x>]]>")), True),
    (D, _seances(SEANCE.replace("<h:TypeCours>TD</h:TypeCours>", "<h:TypeCours/>")), True),
    (D, _seances(SEANCE.replace("<h:Matiere>3</h:Matiere>", "<h:Matiere></h:Matiere>")), True),
    (D, _seances(SEANCE.replace("08:00:00Z", "08:00:00.5+02:00")), True),
    (D, _seances(SEANCE.replace("2026-09-01T08:00:00Z", "2026-09-01")), True),
    (D, _seances(SEANCE.replace("2026-09-01T08:00:00Z", "lundi")), False),
    (D, _seances(SEANCE.replace("<h:Cours>1", "<h:Cours>x")), False),
    (D, _seances(SEANCE.replace("<h:Cours>1</h:Cours>", "")), False),  # a required one missing
    (D, _seances(SEANCE + "<h:Autre>1</h:Autre>"), False),
    (D, _seances(SEANCE.replace("<h:Duree>", '<h:Duree xsi:type="xsd:double">')), True),
    (D, _seances(SEANCE.replace("<h:Duree>", '<h:Duree xsi:type="xsd:string">')), False),
    (D, _seances(SEANCE.replace("<h:Matiere>3", '<h:Matiere xsi:nil="true">')), True),
    (D, _seances(SEANCE.replace("<h:TableauEnseignant/>", '<h:TableauEnseignant a="1"/>')), True),
    (D, _seances(SEANCE.replace("<h:Cours>1</h:Cours>", "<h:Cours>1<!-- c --></h:Cours>")), True),
    (D, _seances(SEANCE.replace("<h:Semaine>", "<?pi x?><h:Semaine>")), False),
    (
        D,
        _seances(
            SEANCE.replace("<h:Cours>", '<x:Cours xmlns:x="urn:x">').replace(
                "</h:Cours>", "</x:Cours>"
            )
        ),
        False,
    ),
    (D, _seances(SEANCE).replace(b"<S:Body>", b"<S:Header><h:X/></S:Header><S:Body>"), False),
    (
        D,
        _envelope(
            "<S:Fault><faultcode>S:Server</faultcode><faultstring>Non</faultstring></S:Fault>"
        ),
        False,
    ),
    (D, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "1">]>' + _seances(SEANCE)[39:], False),
    (D, _seances(SEANCE).decode().replace("utf-8", "utf-16").encode("utf-16"), False),
    (D, b"<html>Service Unavailable</html>", False),
    (D, b"", False),
    ("EtudiantsDuCours", _envelope("<h:EtudiantsDuCoursResponse/>"), True),
    (
        "EtudiantsDuCours",
        _envelope(
            "<h:EtudiantsDuCoursResponse>\n  <h:THpSvcWCleEtudiant>9</h:THpSvcWCleEtudiant>\n"
            "  <h:THpSvcWCleEtudiant>8</h:THpSvcWCleEtudiant>\n</h:EtudiantsDuCoursResponse>"
        ),
        True,
    ),
    (
        "MemoCours",
        _envelope("<h:MemoCoursResponse><h:return> x </h:return></h:MemoCoursResponse>"),
        True,
    ),
    ("MemoCours", _envelope("<h:MemoCoursResponse><h:return/></h:MemoCoursResponse>"), True),
    ("MemoCours", _envelope("<h:MemoCoursResponse/>"), True),
    (
        "SontCoursPeres",
        _envelope(
            "<h:SontCoursPeresResponse><h:boolean>1</h:boolean><h:boolean> true </h:boolean>"
            "<h:boolean>non</h:boolean><h:boolean/></h:SontCoursPeresResponse>"
        ),
        True,
    ),
    (
        "SemaineEnDate",
        _envelope(
            "<h:SemaineEnDateResponse><h:return>2026-09-07Z</h:return></h:SemaineEnDateResponse>"
        ),
        True,
    ),
    (
        "DureeCours",
        _envelope("<h:DureeCoursResponse><h:return>INF</h:return></h:DureeCoursResponse>"),
        True,
    ),
]


@pytest.mark.parametrize(("operation", "answer", "fast"), CRAFTED)
def test_a_crafted_answer_reads_as_zeep_reads_it(
    hp: HyperplanningSandbox, operation: str, answer: bytes, fast: bool
) -> None:
    zc = zeep.Client(hp.wsdl_url, transport=Transport(session=_session(hp)))
    binding = zc.bind("HpSvcWDonnees", "PortCours")._binding
    response = requests.Response()
    response.status_code, response._content = 200, answer
    response.headers["Content-Type"] = "text/xml; charset=utf-8"
    try:
        expected: tuple[Any, ...] = (
            "ok",
            client_module._plain(binding.process_reply(zc, binding.get(operation), response)),
        )
    except Exception as exc:  # whatever zeep raises, the codec must not answer
        expected = ("raises", type(exc).__name__)
    codec = compile_operation(binding, operation)
    try:
        got: tuple[Any, ...] = ("ok", codec.decode(answer))
    except Unsupported:
        got = ("zeep",)
    if fast:
        assert same(got, expected), (got, expected)
    else:
        assert got == ("zeep",), (got, expected)


# ----- errors, retries, writes, threads ---------------------------------------------------


def test_an_injected_fault_and_a_module_off_are_the_same_hpswfault(
    hp: HyperplanningSandbox, lean: HpswClient, ref: HpswClient, keys: Keys
) -> None:
    hp.fail("EtudiantsDuCours", times=2, fault="Le module est désactivé")
    got = [outcome(c, COURS, "EtudiantsDuCours", keys.placed[0]) for c in (lean, ref)]
    assert got[0] == got[1] and got[0][1] == "HpswFault"
    assert got[0][2].startswith("EtudiantsDuCours: Le module est désactivé")
    hp.set_learner_module(False)
    got = [outcome(c, ETUDIANTS, "TousLesEtudiants") for c in (lean, ref)]
    assert got[0] == got[1] and got[0][1] == "HpswFault"


def test_a_wrong_password_is_an_auth_error(
    hp: HyperplanningSandbox, monkeypatch: pytest.MonkeyPatch, keys: Keys
) -> None:
    with pytest.raises(AuthError) as first:
        HpswClient(hp.url, hp.username, SecretStr("not-it"), lean=True).version()
    # The WSDL read, lean calls refused: the same error as zeep's.
    real = basic_authorization
    monkeypatch.setattr(client_module, "basic_authorization", lambda u, p: real(u, "not-it"))
    lean = make(hp, lean=True)
    ref = make(hp, lean=False)
    ref.version()
    ref._transport.session.auth = HTTPBasicAuth(hp.username, "not-it")
    got = [outcome(c, COURS, "EtudiantsDuCours", keys.placed[0]) for c in (lean, ref)]
    assert got[0] == got[1] and got[0][1] == "AuthError" and "HTTP 401" in got[0][2]
    assert "not-it" not in str(first.value)


def test_a_503_is_retried_and_ten_are_unreachable(
    hp: HyperplanningSandbox, keys: Keys, ref: HpswClient
) -> None:
    slept: list[float] = []
    lean = make(hp, lean=True, sleep=slept.append)
    expected = ref.call(COURS, "EtudiantsDuCours", keys.placed[0])
    hp.fail("EtudiantsDuCours", times=1, status=503)
    assert same(lean.call(COURS, "EtudiantsDuCours", keys.placed[0]), expected)
    assert slept == [0.5]
    slept.clear()
    hp.fail("EtudiantsDuCours", times=10, status=503)
    with pytest.raises(HpswUnreachable, match="answered HTTP 503 to EtudiantsDuCours"):
        lean.call(COURS, "EtudiantsDuCours", keys.placed[0])
    assert len(slept) == READ_ATTEMPTS - 1
    zeep_slept: list[float] = []
    zeep_path = make(hp, lean=False, sleep=zeep_slept.append)
    with pytest.raises(HpswUnreachable) as zeep_error:
        zeep_path.call(COURS, "EtudiantsDuCours", keys.placed[0])
    assert zeep_slept == slept
    assert "answered HTTP 503 to EtudiantsDuCours" in str(zeep_error.value)
    hp.fail("EtudiantsDuCours", times=1, status=404)
    assert same(
        outcome(lean, COURS, "EtudiantsDuCours", 1),
        ("error", "SourceError", "Hyperplanning answered HTTP 404 while calling EtudiantsDuCours"),
    )


def test_an_unreachable_server_is_retried_then_unreachable(
    hp: HyperplanningSandbox, keys: Keys
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(HpswUnreachable, match="cannot reach"):
        HpswClient(f"http://127.0.0.1:{port}", "u", SecretStr("p")).version()
    slept: list[float] = []
    lean = make(hp, lean=True, sleep=slept.append)
    lean.version()
    lean._http = SocketPoster(f"http://127.0.0.1:{port}", timeout_s=1.0)  # HPSW went away
    with pytest.raises(HpswUnreachable) as failed:
        lean.call(COURS, "EtudiantsDuCours", keys.placed[0])
    assert str(failed.value).startswith(
        "Hyperplanning did not answer EtudiantsDuCours (ConnectionError)"
    )
    assert slept == [0.5, 1.0]


def test_a_write_goes_through_zeep_once_and_is_not_retried(
    hp: HyperplanningSandbox, keys: Keys, spy: Spy
) -> None:
    slept: list[float] = []
    lean = make(hp, lean=True, sleep=slept.append)
    lean.version()
    learner, start = keys.learners[5], datetime(2026, 10, 7, 8)
    args = (learner, start, start + timedelta(hours=2), False)
    hp.fail("AjouterAbsenceEtudiant", times=1, status=503)
    with pytest.raises(HpswUnreachable, match="503"):
        lean.call(ABSENCES, "AjouterAbsenceEtudiant", *args, write=True)
    assert slept == [] and hp.counts()["AjouterAbsenceEtudiant"] == 1
    spy.requests_sent = 0
    key = lean.call(ABSENCES, "AjouterAbsenceEtudiant", *args, write=True)
    assert spy.requests_sent == 1  # zeep over requests
    assert isinstance(key, int) and [a["learner"] for a in hp.absences()] == [learner]


def test_four_threads_at_once_get_the_right_answers(
    lean: HpswClient, ref: HpswClient, keys: Keys
) -> None:
    courses = keys.placed[:60]
    expected = {k: ref.call(COURS, "EtudiantsDuCours", k) for k in courses}
    seances = {k: ref.call(COURS, D, k) for k in courses[:20]}

    def one(key: int) -> tuple[object, object]:
        return lean.call(COURS, "EtudiantsDuCours", key), (
            lean.call(COURS, D, key) if key in seances else None
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        for key, (learners, found) in zip(courses * 3, pool.map(one, courses * 3), strict=True):
            assert same(learners, expected[key])
            if key in seances:
                assert same(found, seances[key])


# ----- the HTTP layer on a scripted server ------------------------------------------------

# (request number, request) → answer, close; an answer in pieces is sent with PAUSE_S between
# them, `RESET` as the answer closes the connection with a TCP reset.
Script = Callable[[int, bytes], tuple[bytes | list[bytes], bool]]
PAUSE_S = 0.2
RESET = b"<reset>"


class ScriptedServer:
    """A loopback HTTP server answering each request with the script's bytes."""

    def __init__(self, script: Script, context: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.context = context
        self.requests: list[bytes] = []
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        try:
            if self.context is not None:
                conn = self.context.wrap_socket(conn, server_side=True)
            reader = conn.makefile("rb")
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    head += line
                length = next(
                    int(h.split(b":")[1])
                    for h in head.split(b"\r\n")
                    if h.lower().startswith(b"content-length:")
                )
                request = head + reader.read(length)
                self.requests.append(request)
                answer, close = self.script(len(self.requests), request)
                if answer == RESET:
                    linger = struct.pack("ii", 1, 0)  # close() sends a reset
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                    return
                for i, piece in enumerate([answer] if isinstance(answer, bytes) else answer):
                    if i:
                        time.sleep(PAUSE_S)
                    conn.sendall(piece)
                if close:
                    return
        except (OSError, ssl.SSLError):
            return
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def scripted() -> Iterator[Callable[..., ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(script: Script, context: ssl.SSLContext | None = None) -> ScriptedServer:
        servers.append(ScriptedServer(script, context))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _ok(body: bytes, *headers: str, version: str = "HTTP/1.1") -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"{version} 200 OK\r\n{head}\r\n".encode() + body


def _poster(server: ScriptedServer, timeout_s: float = 5.0, **kwargs: Any) -> SocketPoster:
    return SocketPoster(f"http://127.0.0.1:{server.port}", timeout_s=timeout_s, **kwargs)


def _post(poster: SocketPoster, *, idempotent: bool = True) -> bytes:
    url = f"{'https' if poster.https else 'http'}://127.0.0.1:{poster.port}/hpsw/soap/X?a=1"
    answer = poster.post(url, b"<x/>", {"SOAPAction": '"a"'}, idempotent=idempotent)
    assert answer.status == 200
    return answer.content


def test_sized_answers_reuse_one_connection(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(lambda n, r: (_ok(b"<a>%d</a>" % n, "Content-Length: 8"), False))
    poster = _poster(server)
    assert [_post(poster) for _ in range(3)] == [b"<a>1</a>", b"<a>2</a>", b"<a>3</a>"]
    assert server.connections == 1
    request = server.requests[0]
    assert request.startswith(b"POST /hpsw/soap/X?a=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b'SOAPAction: "a"\r\n' in request and request.endswith(b"Content-Length: 4\r\n\r\n<x/>")


def test_chunked_gzip_deflate_interim_and_close_delimited_answers(
    scripted: Callable[..., ScriptedServer],
) -> None:
    packed = gzip.compress(b"<gzipped/>") + gzip.compress(b"<more/>")
    wrapped = zlib.compress(b"<deflated/>")
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    bare = raw.compress(b"<raw/>") + raw.flush()
    answers = {
        1: (
            _ok(
                b"4;ext=1\r\n<a>x\r\n5\r\n</a>x\r\n0\r\nTrailer: 1\r\n\r\n",
                "Transfer-Encoding: chunked",
            ),
            False,
        ),
        2: (_ok(packed, "Content-Encoding: gzip", f"Content-Length: {len(packed)}"), False),
        3: (b"HTTP/1.1 100 Continue\r\n\r\n" + _ok(b"<b/>", "Content-Length: 4"), False),
        4: (_ok(b"<until-close/>", version="HTTP/1.0"), True),
        5: (_ok(b"<c/>", "Content-Length: 4", "Connection: close"), True),
        6: (_ok(b"<d/>", "Content-Length: 4"), False),
        7: (_ok(wrapped, "Content-Encoding: deflate", f"Content-Length: {len(wrapped)}"), False),
        8: (_ok(bare, "Content-Encoding: Deflate", f"Content-Length: {len(bare)}"), False),
        9: (_ok(b"<e/>", "Content-Length: 4", "X-Twice: 1", "X-Twice: 2"), False),
    }
    server = scripted(lambda n, r: answers[n])
    poster = _poster(server)
    got = [_post(poster) for _ in range(8)]
    assert got == [
        b"<a>x</a>x",
        b"<gzipped/><more/>",
        b"<b/>",
        b"<until-close/>",
        b"<c/>",
        b"<d/>",
        b"<deflated/>",
        b"<raw/>",
    ]
    answer = poster.post(f"http://127.0.0.1:{server.port}/", b"", {}, idempotent=True)
    assert answer.status == 200 and answer.content == b"<e/>"
    assert answer.headers["X-Twice"] == "1, 2" and answer.media_type == ""
    assert server.connections == 3  # after the close-delimited answer and `Connection: close`


def test_an_interim_answer_other_than_100_ends_its_connection(
    scripted: Callable[..., ScriptedServer],
) -> None:
    """http.client skips 100 Continue only (as requests and urllib3 do): another 1xx is the
    answer, and its connection, the final answer still unread on it, is not reused."""
    early = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + _ok(b"<a/>", "Content-Length: 4")
    server = scripted(lambda n, r: (early if n == 1 else _ok(b"<b/>", "Content-Length: 4"), False))
    poster = _poster(server)
    first = poster.post(f"http://127.0.0.1:{server.port}/", b"<x/>", {}, idempotent=True)
    assert first.status == 103 and first.content == b""
    assert _post(poster) == b"<b/>" and server.connections == 2


def test_a_connection_closed_by_the_server_is_replaced(
    scripted: Callable[..., ScriptedServer],
) -> None:
    # The server closes after each answer without saying so: noticed before reuse.
    server = scripted(lambda n, r: (_ok(b"<a/>", "Content-Length: 4"), True))
    poster = _poster(server)
    assert [_post(poster) for _ in range(3)] == [b"<a/>"] * 3
    assert server.connections == 3


@pytest.mark.parametrize(
    "closing", [b"", RESET], ids=["RemoteDisconnected", "ConnectionResetError"]
)
def test_a_reused_connection_closed_before_answering_is_replaced_once_for_reads(
    scripted: Callable[..., ScriptedServer], closing: bytes
) -> None:
    """Closed right after reading the second request, quietly or with a reset: a read is sent
    again once on a new connection, a write not."""

    def script(n: int, request: bytes) -> tuple[bytes, bool]:
        return (closing if n == 2 else _ok(b"<a/>", "Content-Length: 4")), n == 2

    dropping = scripted(script)
    poster = _poster(dropping)
    assert _post(poster) == b"<a/>" and _post(poster) == b"<a/>"
    assert dropping.connections == 2 and len(dropping.requests) == 3
    writes = scripted(script)
    poster = _poster(writes)
    _post(poster, idempotent=False)
    with pytest.raises(HttpFailure) as failed:
        _post(poster, idempotent=False)
    assert failed.value.kind == "ConnectionError" and len(writes.requests) == 2


@pytest.mark.parametrize("idempotent", [True, False], ids=["read", "write"])
def test_a_broken_pipe_on_a_reused_connection_is_replaced_once_for_reads(
    scripted: Callable[..., ScriptedServer], monkeypatch: pytest.MonkeyPatch, idempotent: bool
) -> None:
    server = scripted(lambda n, r: (_ok(b"<a/>", "Content-Length: 4"), False))
    poster = _poster(server)
    request = http.client.HTTPConnection.request
    used: list[http.client.HTTPConnection] = []

    def sending(self: http.client.HTTPConnection, *args: Any, **kwargs: Any) -> None:
        if used and self is used[0]:  # the first connection, reused
            raise BrokenPipeError
        used.append(self)
        request(self, *args, **kwargs)

    monkeypatch.setattr(http.client.HTTPConnection, "request", sending)
    assert _post(poster, idempotent=idempotent) == b"<a/>"
    if idempotent:
        assert _post(poster) == b"<a/>" and _post(poster) == b"<a/>"
        assert server.connections == 2 and len(server.requests) == 3
    else:
        with pytest.raises(HttpFailure) as failed:
            _post(poster, idempotent=False)
        assert failed.value.kind == "ConnectionError"
        assert server.connections == 1 and len(server.requests) == 1


def test_no_answer_in_time_and_no_server_are_failures(
    scripted: Callable[..., ScriptedServer],
) -> None:
    silent = scripted(lambda n, r: (b"", False))
    with pytest.raises(HttpFailure) as late:
        _post(_poster(silent, timeout_s=0.3))
    assert late.value.kind == "ReadTimeout"
    # Cut short (http.client.IncompleteRead), not HTTP, not decodable: failures retried.
    for answer, kind in [
        (_ok(b"<a", "Content-Length: 40"), "ConnectionError"),
        (_ok(b"10\r\n<a", "Transfer-Encoding: chunked"), "ConnectionError"),
        (b"SMTP ready\r\n\r\n", "ConnectionError"),
        (_ok(b"<a/>", "Content-Encoding: gzip", "Content-Length: 4"), "ContentDecodingError"),
    ]:
        cut = scripted(lambda n, r, answer=answer: (answer, True))
        with pytest.raises(HttpFailure) as short:
            _post(_poster(cut))
        assert short.value.kind == kind, answer
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(HttpFailure) as refused:
        _post(SocketPoster(f"http://127.0.0.1:{port}", timeout_s=1.0))
    assert refused.value.kind == "ConnectionError"


def test_the_timeout_is_for_each_read_not_the_whole_answer(
    scripted: Callable[..., ScriptedServer],
) -> None:
    pieces = [b"HTTP/1.1 200 OK\r\n", b"Content-Length: 8\r\n\r\n", b"<a>", b"1", b"</a>"]
    slow = scripted(lambda n, r: (pieces, False))
    poster = _poster(slow, timeout_s=2.5 * PAUSE_S)
    started = time.perf_counter()
    assert _post(poster) == b"<a>1</a>"
    assert time.perf_counter() - started > poster.timeout_s  # every read in time, not all


def test_no_tls_handshake_in_time_is_a_connect_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as mute:  # connects, never answers
        port = mute.getsockname()[1]
        with pytest.raises(HttpFailure) as late:
            _post(SocketPoster(f"https://127.0.0.1:{port}", timeout_s=0.3))
    assert late.value.kind == "ConnectTimeout"


def test_no_connection_in_time_is_a_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A TCP connect that times out (a firewall dropping packets); whether a full accept
    queue makes one depends on the system, so the socket layer says so directly."""

    def late(*args: object, **kwargs: object) -> socket.socket:
        raise TimeoutError("timed out")

    monkeypatch.setattr(http.client.socket, "create_connection", late)
    with pytest.raises(HttpFailure) as failed:
        _post(SocketPoster("http://127.0.0.1:9", timeout_s=0.3))
    assert failed.value.kind == "ConnectTimeout"


def test_basic_credentials_are_utf8_verbatim() -> None:
    value = basic_authorization("ÉCOLE\\rollbridge", "mot:de passe")
    assert value.startswith("Basic ")
    assert base64.b64decode(value[6:]) == "ÉCOLE\\rollbridge:mot:de passe".encode()


def test_tls_verifies_the_certificate(
    scripted: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    cert, key = _self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    server = scripted(lambda n, r: (_ok(b"<tls/>", "Content-Length: 6"), False), server_context)
    origin = f"https://localhost:{server.port}"
    with pytest.raises(HttpFailure) as refused:  # not signed by a known authority
        _post(SocketPoster(origin, timeout_s=5.0))
    assert refused.value.kind == "SSLError"
    trusted = SocketPoster(origin, timeout_s=5.0, context=tls_context(str(cert)))
    assert _post(trusted) == b"<tls/>" and _post(trusted) == b"<tls/>"
    assert server.requests[-1].startswith(b"POST /hpsw/soap/X?a=1 HTTP/1.1\r\nHost: localhost:")
    wrong_name = SocketPoster(  # the certificate names localhost only
        f"https://127.0.0.1:{server.port}", timeout_s=5.0, context=tls_context(str(cert))
    )
    with pytest.raises(HttpFailure) as mismatch:
        _post(wrong_name)
    assert mismatch.value.kind == "SSLError"


def test_the_lean_path_trusts_requests_ca_bundle(
    scripted: Callable[..., ScriptedServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    server = scripted(lambda n, r: (_ok(b"<tls/>", "Content-Length: 6"), False), server_context)
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    url = f"https://localhost:{server.port}/hpsw"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    poster, headers = HpswClient(url, "u", SecretStr("p"))._poster()
    assert isinstance(poster, SocketPoster) and _post(poster) == b"<tls/>"
    assert headers["Accept-Encoding"] == "gzip, deflate"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")  # requests' own bundle does not know it
    poster, _ = HpswClient(url, "u", SecretStr("p"))._poster()
    with pytest.raises(HttpFailure) as refused:
        _post(poster)
    assert refused.value.kind == "SSLError"


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
