"""OneRoster bundles: 1.2 and 1.1 columns, bulk and delta, zip, and every real-world quirk."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from rollbridge.errors import SourceError
from rollbridge.model import Membership, Person, TutorLink
from rollbridge.sources.files.csvio import BadRow, read_csv
from rollbridge.sources.files.oneroster import RosterState, load_bundle, parse_bundle
from rollbridge.sources.files.roster import Roster, badge_of, build_roster

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "files"
_REAL = Path(__file__).resolve().parents[3] / "shared" / "real-world"
REAL = _REAL if _REAL.exists() else Path("/work/shared/real-world")
needs_real = pytest.mark.skipif(not REAL.exists(), reason="no shared real-world samples here")


def roster_of(*paths: Path, tutor_roles: tuple[str, ...] = ("relative",)) -> Roster:
    state = RosterState()
    for path in paths:
        state.apply(parse_bundle(str(path), load_bundle(path)))
    return build_roster(state, tutor_roles)


def person(roster: Roster, role: str, key: str) -> Person:
    found = [p for p in roster.people if p.role == role and p.source_id == key]
    assert len(found) == 1, f"{role} {key}: {found}"
    return found[0]


def kinds(roster: Roster) -> set[tuple[str, str]]:
    return {(p.role, p.source_id) for p in roster.people}


# --------------------------------------------------------------------------- 1.2 bulk


def test_fixture_really_has_the_quirks() -> None:
    users = (FIXTURES / "school_v12" / "users.csv").read_bytes()
    roles = (FIXTURES / "school_v12" / "roles.csv").read_bytes()
    assert users.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in users
    assert roles.splitlines()[0].endswith(b",,")
    assert not roles.endswith(b"\n")


def test_v12_bulk_people_take_their_roles_from_roles_csv() -> None:
    roster = roster_of(FIXTURES / "school_v12")
    assert kinds(roster) == {
        ("instructor", "t-dupont"),
        ("instructor", "t-martin"),
        ("learner", "s-leroy"),
        ("learner", "s-nguyen"),  # empty status and date: active
        ("tutor", "p-leroy"),  # role "relative", the default tutor role
    }
    # Not synced and not rejected: disabled (s-bernard), tobedeleted (s-petit), a guardian
    # outside tutor_roles (p-garcia) and an administrator (a-admin).
    leroy = person(roster, "learner", "s-leroy")
    assert (leroy.first_name, leroy.last_name) == ("Élodie", "Leroy")
    assert leroy.email == "elodie.leroy@eleves.fr"
    assert leroy.badge_id == "04A1B2C3"  # {NFC:...}, type compared without case
    assert leroy.phone == "0612345678"  # sms before phone: Edusign texts the link
    assert leroy.file_number == "INE-123"
    assert leroy.attrs == {
        ("org", "org-lycee"),
        ("org_name", "Lycée Jean Moulin"),
        ("grade", "11"),
        ("grade", "12"),
    }
    dupont = person(roster, "instructor", "t-dupont")
    assert dupont.badge_id == "B-0042"
    assert dupont.phone == "0140000001"
    nguyen = person(roster, "learner", "s-nguyen")
    # primaryOrgSourcedId and the orgs of both roles rows.
    assert {v for k, v in nguyen.attrs if k == "org"} == {"org-cfa", "org-lycee"}
    assert roster.tutor_links == (TutorLink("s-leroy", "p-leroy"),)


def test_a_user_without_any_name_is_rejected_with_where() -> None:
    roster = roster_of(FIXTURES / "school_v12")
    rejected = [r for r in roster.rejected if r.source_id == "s-noname"]
    assert len(rejected) == 1
    assert rejected[0].kind == "learner"
    assert "no givenName nor familyName" in rejected[0].reason
    assert "users.csv:7" in rejected[0].reason


def test_classes_become_groups_with_routing_attrs() -> None:
    roster = roster_of(FIXTURES / "school_v12")
    groups = {g.source_id: g for g in roster.groups}
    assert set(groups) == {"cls-sio1", "cls-sio2", "cls-cap"}  # cls-old is tobedeleted
    sio1 = groups["cls-sio1"]
    assert (sio1.name, sio1.description) == ("BTS SIO 1", "SIO1")
    assert sio1.attrs == {
        ("org", "org-lycee"),
        ("org_name", "Lycée Jean Moulin"),
        ("course", "crs-sio"),
        ("term", "trm-s1"),
        ("term", "trm-s2"),
        ("subject", "Informatique"),
        ("subject", "Réseaux"),
    }
    assert ("org_name", "CFA Jean Moulin") in groups["cls-cap"].attrs


def test_enrollments_give_memberships_and_teachers_primary_first() -> None:
    roster = roster_of(FIXTURES / "school_v12")
    assert set(roster.memberships) == {
        Membership("s-leroy", "cls-sio1"),
        Membership("s-nguyen", "cls-sio2"),
        Membership("s-nguyen", "cls-cap"),
    }
    assert roster.teachers["cls-sio1"] == ("t-dupont", "t-martin")  # e-3 is primary
    assert roster.teachers["cls-sio2"] == ("t-martin",)
    reasons = {r.source_id: r.reason for r in roster.rejected if r.kind == "membership"}
    assert set(reasons) == {"e-9", "e-10"}  # e-7 (disabled user), e-8 (deleted class): quiet
    assert "t-dupont is enrolled as student in cls-sio1 but is not a student" in reasons["e-9"]
    assert "unknown user s-ghost" in reasons["e-10"]


def test_bulk_tobedeleted_rows_are_reported_deleted() -> None:
    roster = roster_of(FIXTURES / "school_v12")
    assert ("group", "cls-old") in roster.deleted
    assert ("learner", "s-petit") in roster.deleted


def test_guardian_becomes_a_tutor_when_configured() -> None:
    roster = roster_of(FIXTURES / "school_v12", tutor_roles=("relative", "Guardian"))
    assert ("tutor", "p-garcia") in kinds(roster)
    # p-garcia's agentSourcedIds names the learner: links are read from both sides.
    assert TutorLink("s-nguyen", "p-garcia") in roster.tutor_links


def test_manifest_modes_and_counts() -> None:
    bundle = parse_bundle("school_v12", load_bundle(FIXTURES / "school_v12"))
    assert bundle.version == "1.2"
    assert bundle.is_whole
    assert bundle.modes["users"] == "bulk"
    assert bundle.counts() == {
        "users": 10,
        "roles": 11,
        "classes": 4,
        "enrollments": 10,
        "orgs": 2,
    }
    assert bundle.rejected == ()


# --------------------------------------------------------------------------- zip


@pytest.mark.parametrize("folder_inside", ["", "export-2026/"])
def test_zip_bundle_reads_like_the_folder(tmp_path: Path, folder_inside: str) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for file in sorted((FIXTURES / "school_v12").iterdir()):
            out.write(file, folder_inside + file.name)
    assert roster_of(archive) == roster_of(FIXTURES / "school_v12")


def test_unreadable_bundles_raise_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        load_bundle(tmp_path / "missing.zip")
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SourceError, match="cannot read OneRoster bundle"):
        load_bundle(broken)


# --------------------------------------------------------------------------- malformed


def test_malformed_rows_are_rejected_with_file_and_line_and_the_rest_is_read(
    tmp_path: Path,
) -> None:
    bundle_dir = tmp_path / "bundle"
    shutil.copytree(FIXTURES / "school_v12", bundle_dir)
    users = bundle_dir / "users.csv"
    lines = users.read_bytes().split(b"\r\n")
    lines.insert(3, b"s-short,active,TRUE")  # too few columns: line 4
    lines.insert(5, b's-quote,active,TRUE,2026-08-20,q,"Broken,Quote,' + b"," * 19)  # line 6
    users.write_bytes(b"\r\n".join(lines))

    bundle = parse_bundle(str(bundle_dir), load_bundle(bundle_dir))

    rows = {r.source_id: r.reason for r in bundle.rejected if r.kind == "row"}
    assert set(rows) == {"users.csv:4", "users.csv:6"}
    assert "has 3 fields, the header has 23" in rows["users.csv:4"]
    assert not bundle.is_whole
    roster = roster_of(bundle_dir)
    assert {"t-dupont", "t-martin", "s-leroy", "s-nguyen", "p-leroy"} <= {
        p.source_id for p in roster.people
    }


def test_csv_reader_resynchronises_after_a_runaway_quote() -> None:
    text = 'a,b,c\r\n1,2,3\r\n4,"5,6\r\n7,8,9\r\n10,"x\ny",12\r\n'
    header, rows = read_csv(text)
    assert header == ["a", "b", "c"]
    found = list(rows)
    assert found[0] == (2, ["1", "2", "3"])
    assert isinstance(found[1], BadRow)
    assert found[1].line == 3
    assert "badly quoted field" in found[1].reason
    assert found[2:] == [(4, ["7", "8", "9"]), (5, ["10", "x\ny", "12"])]  # quoted newline: fine


def test_a_file_the_manifest_promises_but_is_missing_makes_the_bundle_partial(
    tmp_path: Path,
) -> None:
    bundle_dir = tmp_path / "bundle"
    shutil.copytree(FIXTURES / "school_v12", bundle_dir)
    (bundle_dir / "enrollments.csv").unlink()
    bundle = parse_bundle(str(bundle_dir), load_bundle(bundle_dir))
    assert not bundle.is_whole
    assert any("enrollments.csv" in r.source_id and "missing" in r.reason for r in bundle.rejected)


def test_a_bundle_without_manifest_is_read_as_bulk_with_a_note(tmp_path: Path) -> None:
    bundle_dir = tmp_path / "bundle"
    shutil.copytree(FIXTURES / "school_v12", bundle_dir)
    (bundle_dir / "manifest.csv").unlink()
    bundle = parse_bundle(str(bundle_dir), load_bundle(bundle_dir))
    assert bundle.modes["users"] == "bulk"
    assert bundle.is_whole
    assert any("manifest.csv" in r.source_id for r in bundle.rejected)


# --------------------------------------------------------------------------- 1.1


def test_v11_bundle_reads_users_role_and_vendor_columns() -> None:
    bundle = parse_bundle("v11", load_bundle(FIXTURES / "school_v11"))
    assert bundle.version == "1.1"
    assert bundle.modes["roles"] == "absent"
    assert bundle.is_whole
    roster = roster_of(FIXTURES / "school_v11")
    assert kinds(roster) == {("learner", "u-stu"), ("instructor", "u-tea")}  # u-off disabled
    chloe = person(roster, "learner", "u-stu")
    assert (chloe.first_name, chloe.badge_id, chloe.phone) == ("Chloé", "9001", "0611111111")
    assert chloe.attrs == {
        ("org", "org-a"),
        ("org", "org-b"),
        ("org_name", "École A"),
        ("org_name", "École B"),
        ("grade", "10"),  # the 1.0 `grade` column
    }
    assert set(roster.memberships) == {Membership("u-stu", "c-1"), Membership("u-stu", "c-2")}
    assert roster.teachers == {"c-1": ("u-tea",)}


def test_v11_agents_column_links_a_guardian_when_configured() -> None:
    roster = roster_of(FIXTURES / "school_v11", tutor_roles=("guardian",))
    assert ("tutor", "u-guard") in kinds(roster)
    assert roster.tutor_links == (TutorLink("u-stu", "u-guard"),)


# --------------------------------------------------------------------------- deltas


def test_delta_upserts_replace_and_tobedeleted_removes() -> None:
    base = roster_of(FIXTURES / "school_v12")
    merged = roster_of(FIXTURES / "school_v12", FIXTURES / "delta_v12")

    assert person(base, "instructor", "t-martin").email == "francois.martin@lycee-jm.fr"
    assert person(merged, "instructor", "t-martin").email == "f.martin@lycee-jm.fr"
    durand = person(merged, "learner", "s-durand")
    assert (durand.first_name, durand.badge_id) == ("Jade", "7781")
    assert ("learner", "s-nguyen") not in kinds(merged)
    assert {g.source_id for g in merged.groups} == {"cls-sio1", "cls-cap", "cls-bac"}
    assert set(merged.memberships) == {
        Membership("s-leroy", "cls-bac"),  # e-1 (sio1) deleted, e-22 added
        Membership("s-durand", "cls-bac"),
    }
    assert merged.teachers["cls-bac"] == ("t-dupont",)
    assert {("learner", "s-nguyen"), ("group", "cls-sio2")} <= merged.deleted
    # Kept records are never listed as deleted.
    assert not {("learner", "s-leroy"), ("instructor", "t-martin")} & merged.deleted


def test_a_later_delta_that_restores_a_record_wins(tmp_path: Path) -> None:
    again = tmp_path / "delta2"
    again.mkdir()
    (again / "manifest.csv").write_text(
        "propertyName,value\noneroster.version,1.2\nfile.users,delta\nfile.roles,absent\n"
    )
    (again / "users.csv").write_text(
        "sourcedId,status,givenName,familyName,email,role\n"
        "s-nguyen,active,Minh,Nguyen,minh.nguyen@eleves.fr,student\n"
    )
    merged = roster_of(FIXTURES / "school_v12", FIXTURES / "delta_v12", again)
    assert ("learner", "s-nguyen") in kinds(merged)
    assert ("learner", "s-nguyen") not in merged.deleted


def test_a_delta_bundle_declares_its_files_as_delta() -> None:
    bundle = parse_bundle("delta", load_bundle(FIXTURES / "delta_v12"))
    assert bundle.modes == {
        "users": "delta",
        "roles": "delta",
        "classes": "delta",
        "enrollments": "delta",
        "orgs": "absent",
    }


def test_badge_of_reads_typed_user_ids() -> None:
    assert badge_of("{LDAP:12},{badge:B-1}") == "B-1"
    assert badge_of("{Fed:urn:x:1},{BADGE: 77 }") == "77"
    assert badge_of("{LDAP:12}") is None
    assert badge_of("") is None


# --------------------------------------------------------------------------- real world


@needs_real
def test_real_catalyst_bulk_zip_and_folder_agree() -> None:
    folder = REAL / "oneroster" / "catalyst_v1p2_bulk"
    zipped = roster_of(folder / "v1p2_full_dataset.zip")
    assert zipped == roster_of(folder / "extracted")
    assert kinds(zipped) == {
        ("instructor", "usr-222-123456"),
        ("instructor", "usr-222-987654"),
        ("learner", "usr-222-66778899"),  # empty status and date
        ("learner", "usr-222-1234561232"),
        ("learner", "usr-222-567891"),
    }  # usr-222-1234561 is a siteAdministrator: not synced
    mary = person(zipped, "learner", "usr-222-66778899")
    assert (mary.first_name, mary.email) == ("Mary", "mary.jones@myschool.com")
    assert ("org_name", "History Department") in mary.attrs
    assert zipped.memberships == (Membership("usr-222-1234561232", "cls-222-123456"),)
    # The bulk file's own tobedeleted class is gone and reported.
    assert [g.source_id for g in zipped.groups] == ["cls-222-123456"]
    assert ("group", "cls-222-123478") in zipped.deleted
    # usr-222-987654 is a teacher in roles.csv but enrolled as a student: said, not guessed.
    assert any(
        r.source_id == "enr-s-222-12345-987654" and "is not a student" in r.reason
        for r in zipped.rejected
    )


@needs_real
def test_real_catalyst_bulk_is_whole_despite_its_typos() -> None:
    path = REAL / "oneroster" / "catalyst_v1p2_bulk" / "v1p2_full_dataset.zip"
    bundle = parse_bundle(str(path), load_bundle(path))
    assert bundle.is_whole
    assert bundle.rejected == ()
    assert bundle.counts()["roles"] == 7  # header with two empty trailing names


@needs_real
def test_real_catalyst_delta_bundle() -> None:
    path = REAL / "oneroster" / "catalyst_v1p2_delta" / "oneroster_test_data.zip"
    bundle = parse_bundle(str(path), load_bundle(path))
    assert bundle.modes["users"] == "delta"
    roster = roster_of(path)
    bruce = person(roster, "learner", "USER_0")
    assert (bruce.first_name, bruce.last_name, bruce.email) == ("Bruce", "Wayne", None)
    assert roster.memberships == (Membership("USER_0", "CLASS_001"),)
    assert ("org_name", "Gotham High School") in bruce.attrs
    # A delta applied on top of the unrelated bulk bundle only adds.
    bulk = REAL / "oneroster" / "catalyst_v1p2_bulk" / "extracted"
    assert kinds(roster_of(bulk, path)) == kinds(roster_of(bulk)) | {("learner", "USER_0")}


@needs_real
def test_real_oat_sa_v11_bundle() -> None:
    path = REAL / "oneroster" / "oat-sa_v1p1"
    bundle = parse_bundle(str(path), load_bundle(path))
    assert (bundle.version, bundle.is_whole) == ("1.1", True)
    roster = roster_of(path)
    assert kinds(roster) == {("learner", "user1"), ("learner", "user2")}
    assert {g.source_id for g in roster.groups} == {"class1", "class2", "class3"}
    assert len(roster.memberships) == 3
    assert ("org_name", "School 1") in person(roster, "learner", "user1").attrs
