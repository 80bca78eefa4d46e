"""The Edusign emulator over real loopback HTTP: what shared/apis/edusign.md §11 promises."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from rollbridge.sandbox.edusign_server import EdusignSandbox, SandboxError

KEY = "key-school-a"
EDUSIGN_ID = re.compile(r"[a-z0-9]{15,16}")
INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture(scope="module")
def server() -> Iterator[EdusignSandbox]:
    with EdusignSandbox.start_in_thread(api_keys=[KEY], seed=7) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(server: EdusignSandbox) -> EdusignSandbox:
    server.reset()
    return server


@pytest.fixture
def api(sandbox: EdusignSandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=5.0) as client:
        yield client


def ok(response: httpx.Response) -> Any:
    """The result of a successful Edusign answer."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success", body
    return body["result"]


def refused(response: httpx.Response) -> str | list[str]:
    """The message of a business error: HTTP 200, status "error"."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "error", body
    message: str | list[str] = body["message"]
    return message


def new_professor(api: httpx.Client, email: str = "prof@ecole.test", **fields: Any) -> str:
    body = {"professor": {"FIRSTNAME": "Ada", "LASTNAME": "Lovelace", "EMAIL": email, **fields}}
    return str(ok(api.post("/v1/professor", json={**body, "dontSendCredentials": True}))["ID"])


def new_student(api: httpx.Client, email: str, **fields: Any) -> str:
    student = {"FIRSTNAME": "Léa", "LASTNAME": "Martin", "EMAIL": email, **fields}
    student.setdefault("SEND_EMAIL_CREDENTIALS", False)
    return str(ok(api.post("/v1/student", json={"student": student}))["ID"])


def new_course(
    api: httpx.Client, professor: str, start: str = "2025-10-06T08:00:00Z", **fields: Any
) -> str:
    end = start.replace("T08:", "T10:")
    course = {"NAME": "Maths", "START": start, "END": end, "PROFESSOR": professor, **fields}
    params = {"fromStudents": "true"} if "STUDENTS" in fields else {}
    return str(ok(api.post("/v1/course", params=params, json={"course": course}))["ID"])


# ----- technical answers --------------------------------------------------------------


def test_health_probe_and_plain_text_technical_errors(sandbox: EdusignSandbox) -> None:
    with httpx.Client(base_url=sandbox.url) as anonymous:
        missing = anonymous.get("/v1/school")
        unknown = anonymous.get("/v1/school", headers={"Authorization": "Bearer nope"})
        no_route = anonymous.get("/v1/nowhere", headers={"Authorization": f"Bearer {KEY}"})
        school = anonymous.get("/v1/school", headers={"Authorization": f"Bearer {KEY}"})

    assert (missing.status_code, missing.text) == (401, "Unauthorized")
    assert (unknown.status_code, unknown.text) == (401, "Unauthorized")
    assert (no_route.status_code, no_route.text) == (404, "Not Found")
    assert EDUSIGN_ID.fullmatch(ok(school)["ID"])


def test_scopes_forbid_other_families_but_not_the_health_probe(sandbox: EdusignSandbox) -> None:
    sandbox.add_school("scoped", scopes=["students"])
    with httpx.Client(base_url=sandbox.url, headers={"Authorization": "Bearer scoped"}) as api:
        assert ok(api.get("/v1/student")) == []
        assert ok(api.get("/v1/school"))["NAME"]
        forbidden = api.get("/v1/course")
    assert (forbidden.status_code, forbidden.text) == (403, "Forbidden")


def test_each_key_sees_its_own_school(sandbox: EdusignSandbox, api: httpx.Client) -> None:
    sandbox.add_school("key-school-b")
    new_student(api, "only.in.a@ecole.test")
    with httpx.Client(base_url=sandbox.url, headers={"Authorization": "Bearer key-school-b"}) as b:
        assert ok(b.get("/v1/student")) == []
    assert len(sandbox.dump(KEY)["students"]) == 1


def test_revoked_key_and_billing_switches(sandbox: EdusignSandbox, api: httpx.Client) -> None:
    sandbox.fault("billing", times=1, api_key=KEY)
    billing = api.get("/v1/school")
    sandbox.fault("unauthorized", times=None)  # revoked until cleared
    revoked = [api.get("/v1/school") for _ in range(3)]
    sandbox.clear_faults()

    assert (billing.status_code, billing.text) == (402, "Payment Required")
    assert [(r.status_code, r.text) for r in revoked] == [(401, "Unauthorized")] * 3
    assert ok(api.get("/v1/school"))


# ----- learners, instructors, groups, tutors -------------------------------------------


def test_student_shape_lookups_and_duplicate_email(api: httpx.Client) -> None:
    sid = new_student(api, "Lea.Martin@ecole.test", API_ID="yp:42", API_TYPE="rollbridge:ypareo")
    student = ok(api.get(f"/v1/student/{sid}"))

    assert EDUSIGN_ID.fullmatch(sid)
    assert student["ID"] == student["id"] == sid
    assert (student["PHONE"], student["BADGE_ID"], student["TAGS"], student["HIDDEN"]) == (
        "",
        "",
        [],
        0,
    )
    assert INSTANT.fullmatch(student["DATE_CREATED"])
    assert ok(api.get("/v1/student/by-email/lea.martin@ecole.test"))["ID"] == sid
    assert ok(api.get("/v1/student/get-id/yp:42")) == {"ID": sid}
    assert refused(api.get("/v1/student/get-id/yp:0")) == "No student with this ID found"
    assert refused(api.get("/v1/student/nosuchid0000000")) == "No student with this ID found"
    duplicate = {"FIRSTNAME": "Autre", "LASTNAME": "Personne", "EMAIL": "lea.martin@ecole.test"}
    assert "already exists" in refused(api.post("/v1/student", json={"student": duplicate}))


def test_validation_errors_are_arrays(api: httpx.Client) -> None:
    missing = refused(api.post("/v1/student", json={"student": {"FIRSTNAME": "Léa"}}))
    bad_email = refused(
        api.post(
            "/v1/student",
            json={"student": {"FIRSTNAME": "L", "LASTNAME": "M", "EMAIL": "not-an-email"}},
        )
    )
    unwrapped = refused(api.post("/v1/student", json={"FIRSTNAME": "L"}))

    assert missing == ['"LASTNAME" is required', '"EMAIL" is required']
    assert bad_email == ['"EMAIL" must be a valid email']
    assert unwrapped == ['"student" is required']


def test_student_patch_replaces_given_fields_and_delete_archives(api: httpx.Client) -> None:
    sid = new_student(api, "a@ecole.test", TAGS=["BTS", "SIO"], PHONE="0600000000")

    no_names = refused(api.patch("/v1/student", json={"student": {"ID": sid, "TAGS": []}}))
    patch = {"ID": sid, "FIRSTNAME": "Léa", "LASTNAME": "Durand", "TAGS": ["SIO2"]}
    patched = ok(api.patch("/v1/student", json={"student": patch}))
    assert ok(api.delete(f"/v1/student/{sid}")) is True
    archived = ok(api.get(f"/v1/student/{sid}"))
    taken = refused(api.post("/v1/student", json={"student": {**patch, "EMAIL": "a@ecole.test"}}))
    ok(api.get(f"/v1/student/restore/{sid}"))

    assert no_names == ['"FIRSTNAME" is required', '"LASTNAME" is required']
    assert (patched["LASTNAME"], patched["TAGS"], patched["PHONE"]) == (
        "Durand",
        ["SIO2"],
        "0600000000",
    )
    assert archived["HIDDEN"] == 1
    assert taken == "Student already exists in this school"
    assert ok(api.get(f"/v1/student/{sid}"))["HIDDEN"] == 0


def test_student_list_pages_by_limit_and_updated_after(
    sandbox: EdusignSandbox, api: httpx.Client
) -> None:
    sandbox.set_now(datetime(2025, 9, 1, 8, tzinfo=UTC))
    ids = [new_student(api, f"s{i}@ecole.test") for i in range(5)]
    sandbox.set_now(datetime(2025, 9, 2, 8, tzinfo=UTC))
    patch = {"ID": ids[3], "FIRSTNAME": "Léa", "LASTNAME": "Neuve"}
    ok(api.patch("/v1/student", json={"student": patch}))

    pages = [ok(api.get("/v1/student", params={"page": p, "limit": 2})) for p in range(4)]
    changed = ok(api.get("/v1/student", params={"updatedAfter": "2025-09-01T12:00:00Z"}))

    assert [len(p) for p in pages] == [2, 2, 1, 0]
    assert [s["ID"] for p in pages for s in p] == ids
    assert [s["ID"] for s in changed] == [ids[3]]
    assert changed[0]["DATE_UPDATED"] == "2025-09-02T08:00:00.000Z"


def test_group_membership_is_kept_on_both_sides(api: httpx.Client) -> None:
    first = new_student(api, "a@ecole.test")
    gid = str(
        ok(api.post("/v1/group", json={"group": {"NAME": "BTS SIO 1", "STUDENTS": [first]}}))["ID"]
    )
    second = new_student(api, "b@ecole.test", GROUPS=[gid])
    assert ok(api.get(f"/v1/group/{gid}"))["STUDENTS"] == [first, second]

    ok(api.patch("/v1/group", json={"group": {"ID": gid, "STUDENTS": [second]}}))

    assert ok(api.get(f"/v1/student/{first}"))["GROUPS"] == []
    assert ok(api.get(f"/v1/student/{second}"))["GROUPS"] == [gid]
    assert ok(api.get(f"/v1/group/{gid}"))["STUDENTS"] == [second]
    assert refused(api.post("/v1/student", json={"student": {
        "FIRSTNAME": "C", "LASTNAME": "D", "EMAIL": "c@ecole.test", "GROUPS": ["nosuchgroup0000"],
    }})) == "No group with this ID found"  # fmt: skip


def test_professor_duplicate_email_and_credentials_emails(
    sandbox: EdusignSandbox, api: httpx.Client
) -> None:
    pid = new_professor(api, "Prof@Ecole.test", API_ID="yp:p1")
    again = {"professor": {"FIRSTNAME": "A", "LASTNAME": "B", "EMAIL": "prof@ecole.test"}}
    careless = {"professor": {"FIRSTNAME": "C", "LASTNAME": "D", "EMAIL": "c@ecole.test"}}
    ok(api.post("/v1/professor", json=careless))  # no dontSendCredentials: e-mails someone
    ok(api.delete(f"/v1/professor/{pid}"))

    assert (
        refused(api.post("/v1/professor", json=again)) == "Professor already exists in this school"
    )
    assert ok(api.get("/v1/professor/by-email/prof@ecole.test"))["HIDDEN"] == 1
    assert ok(api.get("/v1/professor/get-id/yp:p1")) == {"ID": pid}
    assert (
        refused(api.get("/v1/professor/by-email/x@y.test"))
        == "Error - cannot get professor by email"
    )
    assert refused(api.get("/v1/professor/nosuchprof00000")) == "professor not found"
    assert sandbox.dump(KEY)["credential_emails"] == ["c@ecole.test"]


def test_professor_and_group_lists_page_by_100(sandbox: EdusignSandbox, api: httpx.Client) -> None:
    for i in range(101):
        sandbox.seed_professor(KEY, {"FIRSTNAME": "P", "LASTNAME": f"{i}", "EMAIL": f"p{i}@e.test"})
    sandbox.set_page_size("group", 2)
    for name in ("A", "B", "C"):
        ok(api.post("/v1/group", json={"group": {"NAME": name}}))

    assert [len(ok(api.get("/v1/professor", params={"page": p}))) for p in (0, 1)] == [100, 1]
    assert [len(ok(api.get("/v1/group", params={"page": p}))) for p in (0, 1)] == [2, 1]


def test_externals_routes(api: httpx.Client) -> None:
    tutor = {"FIRSTNAME": "Jean", "LASTNAME": "Dupont", "EMAIL": "jd@entreprise.test",
             "COMPANY": "ACME", "API_ID": "yp:t1"}  # fmt: skip
    eid = str(ok(api.post("/v1/externals", json={"external": tutor}))["ID"])
    ok(api.patch("/v1/externals", json={"external": {"ID": eid, "COMPANY": "ACME SA"}}))
    sid = new_student(api, "apprenti@ecole.test", STUDENT_FOLLOWER_ID=[eid])

    assert ok(api.get(f"/v1/externals/{eid}"))["COMPANY"] == "ACME SA"
    assert ok(api.get("/v1/externals/by-email/jd@entreprise.test"))["ID"] == eid
    assert ok(api.get("/v1/externals/get-id/yp:t1")) == {"ID": eid}
    assert [e["ID"] for e in ok(api.get("/v1/externals", params={"page": 0}))] == [eid]
    assert ok(api.get(f"/v1/student/{sid}"))["STUDENT_FOLLOWER_ID"] == [eid]


def test_seeded_archived_learner_can_be_adopted_by_email(
    sandbox: EdusignSandbox, api: httpx.Client
) -> None:
    fields = {"FIRSTNAME": "Léa", "LASTNAME": "Martin", "EMAIL": "lea@ecole.test", "HIDDEN": 1}
    sid = sandbox.seed_student(KEY, fields)

    assert "already exists" in refused(api.post("/v1/student", json={"student": fields}))
    found = ok(api.get("/v1/student/by-email/lea@ecole.test"))
    assert (found["ID"], found["HIDDEN"]) == (sid, 1)
    ok(api.get(f"/v1/student/restore/{sid}"))
    assert ok(api.get(f"/v1/student/{sid}"))["HIDDEN"] == 0
    assert sandbox.counts() == {
        "POST /v1/student": 1,
        "GET /v1/student/by-email/{email}": 1,
        "GET /v1/student/restore/{id}": 1,
        "GET /v1/student/{id}": 1,
    }  # seeding is not API traffic


# ----- courses ------------------------------------------------------------------------


def test_course_create_validation(api: httpx.Client) -> None:
    pid = new_professor(api)
    gone = new_professor(api, "gone@ecole.test")
    ok(api.delete(f"/v1/professor/{gone}"))

    def create(**fields: Any) -> httpx.Response:
        return api.post("/v1/course", json={"course": fields})

    slot = {"NAME": "M", "START": "2025-10-06T08:00:00Z", "END": "2025-10-06T10:00:00Z"}
    assert refused(create(NAME="Maths")) == [
        '"START" is required',
        '"END" is required',
        '"PROFESSOR" is required',
    ]
    assert refused(create(**slot, PROFESSOR="nosuchprof00000")) == "professor not found"
    assert refused(create(**slot, PROFESSOR=gone)) == "professor was deleted"
    assert refused(create(**slot, PROFESSOR=pid, PROFESSOR_2="nosuchprof00000")) == (
        "professor not found"
    )
    assert refused(create(**{**slot, "START": "2025-10-06T08:00:00"}, PROFESSOR=pid)) == [
        '"START" must be an ISO 8601 date with a time zone'
    ]
    assert refused(create(**{**slot, "END": slot["START"]}, PROFESSOR=pid)) == [
        '"END" must be after "START"'
    ]
    assert refused(api.get("/v1/course/nosuchcourse000")) == "No course with this ID found"


def test_course_shape_school_group_and_from_students(api: httpx.Client) -> None:
    pid, pid2 = new_professor(api), new_professor(api, "p2@ecole.test")
    a, b, c = (new_student(api, f"{n}@ecole.test") for n in "abc")
    gid = str(ok(api.post("/v1/group", json={"group": {"NAME": "G", "STUDENTS": [a, b]}}))["ID"])
    by_group = new_course(
        api, pid, PROFESSOR_2=pid2, SCHOOL_GROUP=[gid], CLASSROOM="B204",
        API_ID="yp:s1", START="2025-10-06T06:00:00+00:00", END="2025-10-06T08:00:00.5+00:00",
    )  # fmt: skip
    by_ids = new_course(api, pid, STUDENTS=[c, {"studentId": a}])

    course = ok(api.get(f"/v1/course/{by_group}"))
    assert (course["ID"], course["id"], course["LOCKED"], course["DESCRIPTION"]) == (
        by_group, by_group, 0, "",
    )  # fmt: skip
    assert (course["START"], course["END"]) == (
        "2025-10-06T06:00:00.000Z",
        "2025-10-06T08:00:00.500Z",
    )
    assert (course["PROFESSOR_SIGNATURE"], course["PROFESSOR_SIGNATURE_2"]) == ("", "")
    entry = course["STUDENTS"][0]
    assert [e["studentId"] for e in course["STUDENTS"]] == [a, b]
    assert entry == {
        "_id": entry["_id"], "studentId": a, "courseId": by_group, "schoolId": entry["schoolId"],
        "start": course["START"], "end": course["END"], "state": False, "timestamp": None,
        "signature": "", "delay": 0, "earlyDeparture": None, "excluded": None,
        "absenceId": None, "comment": "",
    }  # fmt: skip
    assert [e["studentId"] for e in ok(api.get(f"/v1/course/{by_ids}"))["STUDENTS"]] == [c, a]
    assert ok(api.get("/v1/course/get-id/yp:s1")) == {"ID": by_group}
    assert ok(api.get("/v1/classrooms"))[0]["NAME"] == "B204"


def test_course_list_pages_by_40_with_students_and_filters(
    sandbox: EdusignSandbox, api: httpx.Client
) -> None:
    pid, other = new_professor(api), new_professor(api, "other@ecole.test")
    sid = new_student(api, "s@ecole.test")
    ids = [new_course(api, pid, f"2025-10-{1 + i % 28:02d}T08:00:00Z") for i in range(44)]
    mine = new_course(api, other, "2025-11-03T08:00:00Z", STUDENTS=[sid])
    ok(api.get(f"/v1/course/lock/{ids[0]}"))

    window = {"start": "2025-10-01", "end": "2025-11-30"}
    pages = [ok(api.get("/v1/course", params={**window, "page": p})) for p in range(3)]
    too_wide = refused(api.get("/v1/course", params={"start": "2025-09-01", "end": "2025-12-01"}))

    def listed(**params: str) -> list[str]:
        return [c["ID"] for c in ok(api.get("/v1/course", params={**window, **params}))]

    assert [len(p) for p in pages] == [40, 5, 0]
    assert all("STUDENTS" in c for p in pages for c in p)
    starts = [c["START"] for p in pages for c in p]
    assert starts == sorted(starts)
    assert "90 days" in str(too_wide)
    assert listed(studentId=sid) == listed(professorId=other) == [mine]
    assert listed(filters="locked") == [ids[0]]
    assert listed(start="2025-10-28", end="2025-10-28") == [ids[27]]
    assert len(listed(filters="unlocked")) == 40  # page 0 of 44 unlocked
    sandbox.set_now(datetime(2030, 1, 1, tzinfo=UTC))
    ok(api.patch("/v1/course", json={"course": {"ID": ids[5], "NAME": "Moved"}}))
    assert listed(dateUpdated="2030-01-01,2030-01-01") == [ids[5]]


def test_patch_clears_every_signature_and_replaces_roster(
    sandbox: EdusignSandbox, api: httpx.Client
) -> None:
    pid, pid2 = new_professor(api), new_professor(api, "p2@ecole.test")
    a, b, c = (new_student(api, f"{n}@ecole.test") for n in "abc")
    cid = new_course(api, pid, PROFESSOR_2=pid2, STUDENTS=[a, b])
    signed = sandbox.sign(KEY, cid, a)
    sandbox.mark_late(KEY, cid, b, 10)
    sandbox.sign_professor(KEY, cid)
    sandbox.sign_professor(KEY, cid, pid2)
    before = ok(api.get(f"/v1/course/{cid}"))
    assert signed["state"] is True
    assert signed["signature"].startswith("https://")
    assert before["PROFESSOR_SIGNATURE"].startswith("https://")
    assert before["PROFESSOR_SIGNATURE_2"].startswith("https://")

    patch = {"ID": cid, "NAME": "Maths (salle changée)", "STUDENTS": [a, c]}
    ok(api.patch("/v1/course", json={"course": patch, "editSurveys": False}))
    after = ok(api.get(f"/v1/course/{cid}"))

    assert after["NAME"] == "Maths (salle changée)"
    assert [e["studentId"] for e in after["STUDENTS"]] == [a, c]
    assert after["STUDENTS"][0]["_id"] == signed["_id"]  # same entry, signature gone
    assert [(e["state"], e["signature"], e["timestamp"]) for e in after["STUDENTS"]] == [
        (False, "", None),
        (False, "", None),
    ]
    assert (after["PROFESSOR_SIGNATURE"], after["PROFESSOR_SIGNATURE_2"]) == ("", "")


def test_lock_unlock_and_locked_course_refuses_writes(api: httpx.Client) -> None:
    pid = new_professor(api)
    sid, other = new_student(api, "a@ecole.test"), new_student(api, "b@ecole.test")
    cid = new_course(api, pid, STUDENTS=[sid])

    link = ok(api.get(f"/v1/course/lock/{cid}"))["link"]
    course = ok(api.get(f"/v1/course/{cid}"))
    assert (course["LOCKED"], course["ATTENDANCE_LIST_GENERATED"]) == (1, link)
    assert refused(api.get(f"/v1/course/lock/{cid}")) == "Course already locked"
    assert refused(api.patch("/v1/course", json={"course": {"ID": cid, "NAME": "X"}})) == (
        "course locked"
    )
    assert refused(api.put(f"/v1/course/attendance/{cid}", json={"studentId": other})) == (
        "course locked"
    )
    assert refused(api.delete(f"/v1/course/{cid}")) == "course locked"
    ok(api.patch(f"/v1/course/unlock/{cid}"))
    assert ok(api.get(f"/v1/course/{cid}"))["LOCKED"] == 0
    assert ok(api.delete(f"/v1/course/{cid}")) is True
    assert refused(api.get(f"/v1/course/{cid}")) == "No course with this ID found"


def test_roster_put_and_delete_with_body(api: httpx.Client) -> None:
    pid, sid = new_professor(api), new_student(api, "a@ecole.test")
    cid = new_course(api, pid)
    url = f"/v1/course/attendance/{cid}"

    entry = ok(api.put(url, json={"studentId": sid}))
    again = refused(api.put(url, json={"studentId": sid}))
    removed = ok(api.request("DELETE", url, json={"studentId": sid}))

    assert (entry["studentId"], entry["courseId"], entry["state"]) == (sid, cid, False)
    assert again == "Student already in the list"
    assert removed is True
    assert ok(api.get(f"/v1/course/{cid}"))["STUDENTS"] == []


def test_presential_state_routes(api: httpx.Client) -> None:
    pid = new_professor(api)
    a, b, c = (new_student(api, f"{n}@ecole.test") for n in "abc")
    cid = new_course(api, pid, STUDENTS=[a, b, c])
    base = "/v1/presential-states"

    absent = ok(api.patch(f"{base}/set-absent/{cid}/{a}", json={"comment": "malade"}))
    late = ok(api.patch(f"{base}/set-delay/{cid}/{b}", json={"delay": 15}))
    early = ok(
        api.patch(
            f"{base}/set-early-departure/{cid}/{c}", json={"earlyDate": "2025-10-06T09:30:00Z"}
        )
    )

    assert (absent["state"], absent["comment"]) == (False, "malade")
    assert (late["state"], late["delay"]) == (True, 15)
    assert (early["state"], early["earlyDeparture"]) == (True, "2025-10-06T09:30:00.000Z")
    assert refused(api.patch(f"{base}/set-delay/{cid}/{b}", json={"delay": "15"})) == [
        '"delay" must be a number'
    ]


def test_justified_absences(sandbox: EdusignSandbox, api: httpx.Client) -> None:
    pid = new_professor(api)
    a, b = new_student(api, "a@ecole.test"), new_student(api, "b@ecole.test")
    cid = new_course(api, pid, STUDENTS=[a, b])
    reasons = ok(api.get("/v1/justified-absence/absence-reason"))
    body = {"STUDENT_ID": a, "COURSE_ID": cid, "TYPE": reasons[0]["ID"], "COMMENT": "certificat"}

    created = ok(api.post("/v1/justified-absence", json=body))
    sandbox.mark_absent(KEY, cid, b, "pas venu")
    from_control = sandbox.justify(KEY, cid, b, reason="Autre")
    entries = {e["studentId"]: e for e in ok(api.get(f"/v1/course/{cid}"))["STUDENTS"]}

    assert {r["NAME"] for r in reasons} >= {"Maladie", "Autre"}
    assert (created["STUDENT_ID"], created["TYPE"], created["START"]) == (
        a, reasons[0]["ID"], "2025-10-06T08:00:00.000Z",
    )  # fmt: skip
    assert entries[a]["absenceId"] == created["ID"]
    assert (entries[b]["absenceId"], entries[b]["state"], entries[b]["comment"]) == (
        from_control, False, "pas venu",
    )  # fmt: skip
    listed = ok(api.get("/v1/justified-absence", params={"page": 0}))
    assert [j["ID"] for j in listed] == [created["ID"], from_control]
    assert refused(api.post("/v1/justified-absence", json={"STUDENT_ID": a})) == [
        '"TYPE" is required',
        '"COURSE_ID" or "START" and "END" are required',
    ]


def test_attendance_controls_use_the_fake_clock(sandbox: EdusignSandbox, api: httpx.Client) -> None:
    pid, a, b = new_professor(api), new_student(api, "a@ecole.test"), new_student(api, "b@e.test")
    cid = new_course(api, pid, STUDENTS=[a, b])
    sandbox.set_now(datetime(2025, 10, 6, 8, 3, tzinfo=UTC))

    signed = sandbox.sign(KEY, cid, a)
    left = sandbox.mark_left_early(KEY, cid, b, datetime(2025, 10, 6, 9, 15, tzinfo=UTC))

    assert signed["timestamp"] == "2025-10-06T08:03:00.000Z"
    assert (left["state"], left["earlyDeparture"]) == (True, "2025-10-06T09:15:00.000Z")
    assert ok(api.get(f"/v1/course/{cid}"))["DATE_UPDATED"] == "2025-10-06T08:03:00.000Z"
    with pytest.raises(SandboxError, match="Student not in the list"):
        sandbox.sign(KEY, cid, "nosuchstudent00")
    with pytest.raises(SandboxError, match="no school has this API key"):
        sandbox.dump("unknown-key")


def test_api_id_is_not_unique_and_duplicates_show(
    sandbox: EdusignSandbox, api: httpx.Client
) -> None:
    pid = new_professor(api)
    first = new_course(api, pid, API_ID="yp:s1")
    second = new_course(api, pid, API_ID="yp:s1")
    new_course(api, pid, API_ID="yp:s2")

    ok(api.patch("/v1/course", json={"course": {"ID": first, "NAME": "Renamed"}}))

    assert first != second
    assert ok(api.get("/v1/course/get-id/yp:s1")) == {"ID": first}  # the oldest holder
    assert sandbox.duplicate_api_ids(KEY) == [
        {"kind": "course", "api_id": "yp:s1", "ids": [first, second]}
    ]


def test_ids_are_reproducible_from_a_seed(sandbox: EdusignSandbox) -> None:
    def first_id() -> str:
        sandbox.add_school("seeded", seed=42)
        return sandbox.seed_student(
            "seeded", {"FIRSTNAME": "A", "LASTNAME": "B", "EMAIL": "a@b.fr"}
        )

    assert first_id() == first_id()


# ----- rate limit and faults ----------------------------------------------------------


def test_rate_limit_reject_mode_answers_429_without_executing(
    sandbox: EdusignSandbox, api: httpx.Client
) -> None:
    sandbox.set_rate_limit(3, "reject")
    answers = [
        api.post("/v1/group", json={"group": {"NAME": f"G{i}"}}).status_code for i in range(4)
    ]
    rejected = api.get("/v1/group")

    assert answers == [200, 200, 200, 429]
    assert rejected.status_code == 429
    assert 1 <= int(rejected.headers["Retry-After"]) <= 60
    assert len(sandbox.dump(KEY)["groups"]) == 3
    assert sandbox.rate_stats() | {"delay_total_s": 0} == {
        "per_minute": 3, "mode": "reject", "requests": 5, "rejected": 2, "delayed": 0,
        "delay_total_s": 0,
    }  # fmt: skip


def test_rate_limit_delay_mode_slows_then_executes(
    sandbox: EdusignSandbox, api: httpx.Client
) -> None:
    sandbox.set_rate_limit(2)
    ok(api.get("/v1/school"))
    ok(api.get("/v1/school"))
    started = time.monotonic()
    ok(api.post("/v1/group", json={"group": {"NAME": "slow"}}))
    ok(api.post("/v1/group", json={"group": {"NAME": "slower"}}))

    assert time.monotonic() - started >= 0.3  # +100 ms, then +200 ms
    stats = sandbox.rate_stats()
    assert (stats["delayed"], stats["rejected"], stats["delay_total_s"]) == (2, 0, 0.3)
    assert len(sandbox.dump(KEY)["groups"]) == 2


def test_status_faults_answer_text_and_do_not_execute(
    sandbox: EdusignSandbox, api: httpx.Client
) -> None:
    sandbox.fault("status", status=502, method="POST", path="/v1/group")
    sandbox.fault("status", times=1, path="/v1/group")
    sandbox.fault("status", status=504, method="GET", path="/v1/school")
    body = {"group": {"NAME": "G"}}

    bad_gateway = api.post("/v1/group", json=body)
    server_error = api.post("/v1/group", json=body)
    gateway_timeout = api.get("/v1/school")

    assert (bad_gateway.status_code, bad_gateway.text) == (502, "Bad Gateway")
    assert (server_error.status_code, server_error.text) == (500, "Internal Server Error")
    assert (gateway_timeout.status_code, gateway_timeout.text) == (504, "Gateway Timeout")
    assert sandbox.dump(KEY)["groups"] == []
    ok(api.post("/v1/group", json=body))
    assert sandbox.pending_faults() == []


def test_malformed_fault_answers_200_without_json(
    api: httpx.Client, sandbox: EdusignSandbox
) -> None:
    sandbox.fault("malformed", path="/v1/student")
    response = api.get("/v1/student")

    assert response.status_code == 200
    with pytest.raises(ValueError, match="Expecting value"):
        response.json()


def test_timeout_fault_stalls_and_does_not_execute(
    sandbox: EdusignSandbox, api: httpx.Client
) -> None:
    sandbox.fault("timeout", method="POST", path="/v1/group", seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        api.post("/v1/group", json={"group": {"NAME": "G"}}, timeout=0.3)

    assert sandbox.dump(KEY)["groups"] == []


def test_apply_then_stall_loses_the_reply_but_keeps_the_write(
    sandbox: EdusignSandbox, api: httpx.Client
) -> None:
    pid = new_professor(api)
    sandbox.fault("apply_then_stall", method="POST", path="/v1/course", seconds=1.0)

    course = {"NAME": "M", "START": "2025-10-06T08:00:00Z", "END": "2025-10-06T10:00:00Z",
              "PROFESSOR": pid, "API_ID": "yp:lost"}  # fmt: skip
    with pytest.raises(httpx.ReadTimeout):
        api.post("/v1/course", json={"course": course}, timeout=0.3)
    found = ok(api.get("/v1/course/get-id/yp:lost"))

    assert [c["ID"] for c in sandbox.dump(KEY)["courses"]] == [found["ID"]]
    assert sandbox.log()[-2:] == [
        {"method": "POST", "template": "/v1/course", "path": "/v1/course", "status": 200},
        {"method": "GET", "template": "/v1/course/get-id/{apiId}",
         "path": "/v1/course/get-id/yp:lost", "status": 200},
    ]  # fmt: skip


def test_latency_applies_to_every_request(sandbox: EdusignSandbox, api: httpx.Client) -> None:
    sandbox.set_latency(150)
    started = time.monotonic()
    ok(api.get("/v1/school"))

    assert time.monotonic() - started >= 0.15


def test_request_log_counts_templates_and_writes(
    sandbox: EdusignSandbox, api: httpx.Client
) -> None:
    pid = new_professor(api)
    cid = new_course(api, pid)
    cid2 = new_course(api, pid, "2025-10-07T08:00:00Z")
    ok(api.get(f"/v1/course/{cid}"))
    ok(api.get(f"/v1/course/{cid2}"))
    api.get("/v1/nowhere")

    assert sandbox.counts() == {
        "POST /v1/professor": 1,
        "POST /v1/course": 2,
        "GET /v1/course/{id}": 2,
        "GET /v1/nowhere": 1,
    }
    assert sandbox.writes() == 3
    assert sandbox.log()[-1]["status"] == 404
    sandbox.clear_log()
    assert (sandbox.counts(), sandbox.writes(), sandbox.log()) == ({}, 0, [])


def test_process_mode_serves_the_same_api() -> None:
    with EdusignSandbox.start_process(api_keys=["proc"], seed=3) as sandbox:
        headers = {"Authorization": "Bearer proc"}
        with httpx.Client(base_url=sandbox.url, headers=headers, timeout=5.0) as api:
            sid = new_student(api, "p@ecole.test")
            assert ok(api.get(f"/v1/student/{sid}"))["EMAIL"] == "p@ecole.test"
        assert sandbox.counts() == {"POST /v1/student": 1, "GET /v1/student/{id}": 1}
        assert sandbox.url.startswith("http://127.0.0.1:")
