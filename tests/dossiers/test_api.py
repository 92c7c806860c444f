"""The dossier API: every endpoint with an allowed and a forbidden persona, one error shape."""

from __future__ import annotations

import pytest

from chinhquyenso.core.services import apikeys
from chinhquyenso.dossiers import services
from chinhquyenso.dossiers.models import Dossier, Status
from tests.conftest import sign_in
from tests.dossiers.conftest import applicant, checklist, local, receive

pytestmark = pytest.mark.django_db

BASE = "/api/v1/dossiers"


def intake_body(organisation, **overrides):
    body = {
        "organisation_id": organisation.pk,
        "procedure": "1.001193",
        "applicant": applicant(),
        "documents": checklist(),
        "channel": 1,
        "result_delivery": "post",
    }
    body.update(overrides)
    return body


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def error(response, status, code):
    assert response.status_code == status, response.content
    data = response.json()
    assert data["code"] == code, data
    assert set(data) == {"code", "message", "details"}
    return data


@pytest.fixture
def api_key(province_admin, commune_a):
    """Make an API key (of Xã A by default) with the given scopes."""

    def make(scopes, organisation=commune_a):
        _, raw = apikeys.create_api_key(
            actor=province_admin, organisation=organisation, name="Cổng DVC tỉnh", scopes=scopes
        )
        return raw

    return make


# --- Intake -------------------------------------------------------------------------------------


def test_intake_by_the_desk(client, clock, birth, desk_officer, desk_unit_a):
    response = post(sign_in(client, desk_officer), BASE, intake_body(desk_unit_a))
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["code"] == "000.01.39.H39-260309-0001"
    assert data["status"] == {"code": 2, "name": "Được tiếp nhận"}
    assert data["due_at"] == "2026-03-12T09:00:00+07:00"
    assert data["timeliness"]["state"] == "in_time"
    assert [e["action"] for e in data["events"]] == ["received"]
    assert "forward" in data["actions"]


def test_intake_answers_the_dossier_as_it_reads_back(client, clock, birth, desk_unit_a, api_key):
    """The 201 body is built from what the intake wrote, without reading it back: it must be
    the dossier exactly as GET shows it. The second intake of a procedure at a desk reads no
    more than the key, the organisation, the procedure, the current process id, the code's
    organisation (the desk unit has no code of its own) and the audit chain head: the version
    and the process come from the per-process cache, the number from one upsert."""
    from django.db import connection

    key = api_key(["dossiers:write", "dossiers:read"])
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    def intake():
        return client.post(
            BASE, intake_body(desk_unit_a), content_type="application/json", HTTP_X_API_KEY=key
        )

    intake()
    # (CaptureQueriesContext would miss them: the test client's request resets the log.)
    with connection.execute_wrapper(record):
        response = intake()
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["code"].endswith("-0002")
    assert [d["name"] for d in created["documents"]] == [
        "Tờ khai đăng ký khai sinh",
        "Giấy chứng sinh",
        "Giấy tờ chứng minh nơi cư trú",
    ]
    assert all(d["id"] for d in created["documents"])
    assert [e["action"] for e in created["events"]] == ["received"]
    assert [r["step"]["order"] for r in created["step_runs"]] == [1]
    read = client.get(f"{BASE}/{created['code']}", HTTP_X_API_KEY=key)
    assert read.status_code == 200
    assert created == read.json()
    reads = [sql for sql in statements if sql.startswith("SELECT")]
    assert not [q for q in reads if 'FROM "dossiers_' in q]
    assert len(reads) <= 6, "\n".join(r[:90] for r in reads)


@pytest.mark.parametrize(
    "persona", ["responsible", "desk_officer_b", "other_commune_official", "citizen"]
)
def test_intake_forbidden(client, clock, birth, desk_unit_a, persona, request):
    response = post(
        sign_in(client, request.getfixturevalue(persona)), BASE, intake_body(desk_unit_a)
    )
    assert response.status_code in (403, 404)
    assert response.json()["code"] in ("permission_denied", "organisation_not_found")
    assert not Dossier.objects.exists()


def test_intake_anonymous(client, clock, birth, desk_unit_a):
    error(post(client, BASE, intake_body(desk_unit_a)), 401, "not_authenticated")


def test_intake_bad_input(client, clock, birth, desk_officer, desk_unit_a):
    sign_in(client, desk_officer)
    bad_id = intake_body(desk_unit_a, applicant=applicant(id_number="12345"))
    data = error(post(client, BASE, bad_id), 400, "invalid_personal_id")
    assert "12 chữ số" in data["message"]
    missing = intake_body(desk_unit_a, documents=[{"index": 0}])
    data = error(post(client, BASE, missing), 400, "missing_document")
    assert "Giấy chứng sinh" in data["message"]
    error(post(client, BASE, {"organisation_id": "x"}), 422, "invalid_request")
    assert not Dossier.objects.exists()


def test_intake_by_api_key(client, clock, birth, desk_unit_a, commune_b, api_key):
    key = api_key(["dossiers:write"])
    response = client.post(
        BASE, intake_body(desk_unit_a), content_type="application/json", HTTP_X_API_KEY=key
    )
    assert response.status_code == 201, response.content
    assert Dossier.objects.get().received_by is None
    no_scope = api_key(["organisations:read"])
    error(
        client.post(
            BASE, intake_body(desk_unit_a), content_type="application/json", HTTP_X_API_KEY=no_scope
        ),
        403,
        "scope_missing",
    )
    elsewhere = api_key(["dossiers:write"], organisation=commune_b)
    error(
        client.post(
            BASE,
            intake_body(desk_unit_a),
            content_type="application/json",
            HTTP_X_API_KEY=elsewhere,
        ),
        404,
        "organisation_not_found",
    )
    assert Dossier.objects.count() == 1


# --- Lists, queues, detail ------------------------------------------------------------------------


def test_queue_and_list(client, received, desk_officer, desk_officer_b):
    data = sign_in(client, desk_officer).get(BASE, {"queue": "to_handle"}).json()
    assert (data["count"], data["items"][0]["code"]) == (1, received.code)
    assert client.get(BASE, {"status": 2}).json()["count"] == 1
    error(client.get(BASE, {"queue": "all"}), 400, "invalid_queue")
    error(client.get(BASE, {"progress": "sideways"}), 400, "invalid_filter")
    error(client.get(BASE, {"limit": 1000}), 400, "bad_request")
    sign_in(client, desk_officer_b)
    assert client.get(BASE, {"queue": "to_handle"}).json()["count"] == 0
    assert client.get(BASE).json()["count"] == 0


def test_list_anonymous(client):
    error(client.get(BASE), 401, "not_authenticated")


def test_detail(client, received, desk_officer, other_commune_official, desk_officer_b):
    data = sign_in(client, desk_officer).get(f"{BASE}/{received.code}").json()
    assert data["code"] == received.code
    assert [r["step"]["order"] for r in data["step_runs"]] == [1]
    assert len(data["documents"]) == 3
    for persona in (other_commune_official, desk_officer_b):
        sign_in(client, persona)
        error(client.get(f"{BASE}/{received.code}"), 404, "dossier_not_found")
    error(client.get(f"{BASE}/000.01.39.H39-260309-0099"), 404, "dossier_not_found")
    client.logout()
    error(client.get(f"{BASE}/{received.code}"), 401, "not_authenticated")


def test_history_labels_are_words(client, received, desk_officer):
    """Every history code has its label: the API never answers a code as its own label."""
    from chinhquyenso.dossiers.models import DossierEvent

    DossierEvent.objects.create(
        dossier=received, at=received.received_at, actor=None, action="result_signed"
    )
    services.withdraw(actor=desk_officer, dossier=received, reason="Đơn xin rút hồ sơ")
    data = sign_in(client, desk_officer).get(f"{BASE}/{received.code}").json()
    labels = {e["action"]: e["label"] for e in data["events"]}
    assert labels["result_signed"] == "Ký số kết quả giải quyết"
    assert labels["withdrawn"] == "Người nộp rút hồ sơ"


def test_read_with_api_key_needs_the_read_scope(client, received, api_key):
    error(
        client.get(f"{BASE}/{received.code}", HTTP_X_API_KEY=api_key(["dossiers:write"])),
        403,
        "scope_missing",
    )
    response = client.get(f"{BASE}/{received.code}", HTTP_X_API_KEY=api_key(["dossiers:read"]))
    assert response.status_code == 200


# --- Supervision ---------------------------------------------------------------------------------


def test_supervision(
    client, received, commune_leader, responsible, desk_officer, commune_a, desk_unit_a
):
    data = sign_in(client, commune_leader).get(
        f"{BASE}/supervision", {"organisation": commune_a.pk}
    )
    assert data.status_code == 200, data.content
    figures = data.json()
    assert figures["received_today"]["total"]["value"] == 1
    assert figures["received_today"]["total"]["filters"]["organisation"] == commune_a.pk
    listed = client.get(BASE, figures["received_today"]["1"]["filters"]).json()
    assert [d["code"] for d in listed["items"]] == [received.code]
    sign_in(client, desk_officer)
    error(
        client.get(f"{BASE}/supervision", {"organisation": desk_unit_a.pk}),
        403,
        "permission_denied",
    )
    sign_in(client, responsible)
    error(
        client.get(f"{BASE}/supervision", {"organisation": commune_a.pk}),
        404,
        "organisation_not_found",
    )


# --- Transitions ----------------------------------------------------------------------------


@pytest.fixture
def states(
    clock, birth, desk_officer, desk_unit_a, responsible, unit_head, commune_leader, citizen
):
    """Build a dossier in the named state."""

    def build(name):
        if name == "submitted":
            return services.submit_online(
                actor=citizen,
                organisation=desk_unit_a,
                procedure=birth.procedure,
                applicant={},
                documents=checklist(),
            )
        d = receive(desk_officer, desk_unit_a, birth.procedure)
        if name == "received":
            return d
        d = services.forward(actor=desk_officer, dossier=d)
        if name == "at_step2":
            return d
        d = services.claim(actor=responsible, dossier=d)
        if name == "claimed":
            return d
        if name == "supplement":
            return services.request_supplement(
                actor=responsible, dossier=d, reason="Thiếu", missing_documents=["Tờ khai"]
            )
        if name == "payment":
            return services.request_payment(actor=responsible, dossier=d, reason="Phí")
        d = services.forward(actor=responsible, dossier=d)
        d = services.forward(actor=unit_head, dossier=d)
        if name == "at_approval":
            return d
        return services.approve(actor=commune_leader, dossier=d)  # resolved

    return build


REASON = {"reason": "Lý do cụ thể"}
ACTIONS = [
    # action, state, allowed persona, body, forbidden persona, status after
    ("accept", "submitted", "desk_officer", {}, "desk_officer_b", Status.RECEIVED),
    ("refuse", "received", "desk_officer", REASON, "desk_officer_b", Status.REFUSED),
    ("claim", "at_step2", "responsible", {}, "desk_officer", Status.PROCESSING),
    ("assign", "at_step2", "unit_head", {"handler_id": "colleague"}, "colleague", None),
    ("forward", "claimed", "responsible", {"comment": "Đã thẩm định"}, "colleague", None),
    ("send_back", "at_approval", "commune_leader", {"comment": "Sửa"}, "responsible", None),
    ("approve", "at_approval", "commune_leader", {}, "unit_head", Status.RESOLVED),
    ("return_to_desk", "at_approval", "commune_leader", {}, "responsible", Status.RESOLVED),
    (
        "return_result",
        "resolved",
        "desk_officer",
        {"method": "desk", "recipient_signature_name": "Đặng Thị Hoa"},
        "responsible",
        Status.RETURNED,
    ),
    (
        "request_supplement",
        "claimed",
        "responsible",
        {**REASON, "missing_documents": ["Tờ khai"]},
        "colleague",
        Status.AWAITING_SUPPLEMENT,
    ),
    ("receive_supplement", "supplement", "desk_officer", {}, "other_commune_official", 4),
    ("request_payment", "claimed", "responsible", REASON, "colleague", Status.AWAITING_PAYMENT),
    ("confirm_payment", "payment", "desk_officer", {}, "other_commune_official", 4),
    ("stop", "claimed", "commune_leader", REASON, "responsible", Status.STOPPED),
    ("withdraw", "received", "desk_officer", REASON, "desk_officer_b", Status.WITHDRAWN),
    (
        "issue_apology",
        "claimed",
        "commune_leader",
        {**REASON, "new_due_at": "2026-03-20T16:00:00+07:00"},
        "other_commune_official",
        None,
    ),
]


def _body(body, request, revision):
    out = {"expected_revision": revision}
    for key, value in body.items():
        out[key] = request.getfixturevalue(value).pk if key == "handler_id" else value
    return out


@pytest.mark.parametrize(
    ("action", "state", "allowed", "body", "forbidden", "status_after"),
    ACTIONS,
    ids=[a[0] for a in ACTIONS],
)
def test_action_allowed_and_forbidden(
    client, states, request, action, state, allowed, body, forbidden, status_after
):
    d = states(state)
    url = f"{BASE}/{d.code}/actions/{action}"
    sign_in(client, request.getfixturevalue(forbidden))
    response = post(client, url, _body(body, request, d.revision))
    assert response.status_code in (403, 404), response.content
    assert response.json()["code"] in (
        "permission_denied",
        "step_role_required",
        "assigned_to_other",
        "dossier_not_found",
    )
    assert Dossier.objects.get(pk=d.pk).revision == d.revision
    sign_in(client, request.getfixturevalue(allowed))
    response = post(client, url, _body(body, request, d.revision))
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["revision"] > d.revision
    if status_after is not None:
        assert data["status"]["code"] == status_after
    # The same request again carries a stale revision.
    error(post(client, url, _body(body, request, d.revision)), 409, "dossier_changed")


def test_action_bad_input(client, states, desk_officer, responsible, api_key):
    d = states("received")
    url = f"{BASE}/{d.code}/actions"
    sign_in(client, desk_officer)
    data = error(
        post(client, f"{url}/forward", {"expected_revision": d.revision, "to_step": 4}),
        400,
        "transition_not_allowed",
    )
    assert "Lãnh đạo phê duyệt" in data["message"]
    error(post(client, f"{url}/forward", {}), 422, "invalid_request")
    error(
        post(client, f"{url}/return_result", {"expected_revision": d.revision, "method": "desk"}),
        400,
        "transition_not_allowed",
    )
    client.logout()
    error(
        client.post(
            f"{url}/forward",
            {"expected_revision": d.revision},
            content_type="application/json",
            HTTP_X_API_KEY=api_key(["dossiers:write"]),
        ),
        403,
        "person_required",
    )
    assert Dossier.objects.get(pk=d.pk).revision == d.revision


def test_transfer_through_the_api(
    client, clock, transfer_world, desk_officer, desk_unit_a, responsible, department, colleague
):
    d = receive(desk_officer, desk_unit_a, transfer_world.procedure)
    d = services.forward(actor=desk_officer, dossier=d)
    d = services.claim(actor=responsible, dossier=d)
    url = f"{BASE}/{d.code}/actions/transfer"
    body = {"expected_revision": d.revision, "to_organisation_id": department.pk}
    sign_in(client, colleague)
    error(post(client, url, body), 403, "assigned_to_other")
    sign_in(client, responsible)
    response = post(client, url, body)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["children"][0]["code"] == "000.00.12.H39-260309-0001"
    assert data["children"][0]["organisation"]["name"] == "Sở Tư pháp"
    assert data["status"]["code"] == Status.PROCESSING


def test_apology_through_the_api(client, states, clock, commune_leader):
    d = states("claimed")
    clock.set(local(2026, 3, 12, 10, 0))
    sign_in(client, commune_leader)
    response = post(
        client,
        f"{BASE}/{d.code}/actions/issue_apology",
        {
            "expected_revision": d.revision,
            "reason": "Chậm",
            "new_due_at": "2026-03-11T10:00:00+07:00",
        },
    )
    error(response, 400, "invalid_new_due")


def test_list_query_count_does_not_grow(client, clock, birth, desk_officer, desk_unit_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(BASE, {"queue": "to_handle", "limit": 100})
        assert response.status_code == 200
        return len(ctx.captured_queries), response.json()["count"]

    sign_in(client, desk_officer)
    receive(desk_officer, desk_unit_a, birth.procedure)
    few = count_queries()
    for _ in range(12):
        receive(desk_officer, desk_unit_a, birth.procedure)
    many = count_queries()
    assert (few[1], many[1]) == (1, 13)
    assert many[0] == few[0] <= 8


# --- Reuse of earlier documents (digitisation) is held to the visibility rule (F5) -----------


@pytest.fixture
def scan_of_commune_a(clock, birth, birth_b, commune_b, desk_officer, desk_unit_a, scan):
    """The applicant's birth registration at Xã A with a scanned Giấy chứng sinh; the same
    procedure is received at Xã B too."""
    birth.procedure.organisations.add(commune_b)
    d = receive(
        desk_officer,
        desk_unit_a,
        birth.procedure,
        documents=[{"index": 0, "provided": True}, {"index": 1, "file_id": scan.pk}],
    )
    return d.documents.get(name="Giấy chứng sinh")


def test_another_commune_cannot_reuse_a_document_it_cannot_see(
    client, scan_of_commune_a, commune_b, desk_officer_b
):
    from django.urls import reverse

    from chinhquyenso.dossiers.models import DossierDocument

    sign_in(client, desk_officer_b)
    answers = []
    for document_id in (scan_of_commune_a.pk, 987654):  # out of sight, and no such document
        body = intake_body(
            commune_b,
            documents=[
                {"index": 0, "provided": True},
                {"index": 1, "provided": False, "reused_from": document_id},
            ],
        )
        answers.append(error(post(client, BASE, body), 400, "reuse_not_allowed"))
    # The same answer either way: it does not tell whether the document exists.
    assert answers[0] == answers[1]
    assert "chính người nộp" in answers[0]["message"]
    assert list(Dossier.objects.values_list("pk", flat=True)) == [scan_of_commune_a.dossier_id]
    assert DossierDocument.objects.filter(file=scan_of_commune_a.file).count() == 1
    download = reverse("core:file_download", args=[scan_of_commune_a.file_id])
    assert client.get(download).status_code == 404
    # Without the reuse, the same intake goes through.
    assert post(client, BASE, intake_body(commune_b)).status_code == 201


def test_another_commune_cannot_reuse_it_in_a_supplement_either(
    client, clock, scan_of_commune_a, birth, commune_b, desk_officer_b, other_commune_official
):
    from django.urls import reverse

    from chinhquyenso.dossiers.models import DossierDocument

    d = receive(desk_officer_b, commune_b, birth.procedure)
    d = services.forward(actor=desk_officer_b, dossier=d)
    d = services.claim(actor=other_commune_official, dossier=d)
    d = services.request_supplement(
        actor=other_commune_official, dossier=d, reason="Thiếu", missing_documents=["Giấy"]
    )
    documents = DossierDocument.objects.count()
    sign_in(client, desk_officer_b)
    body = {
        "expected_revision": d.revision,
        "documents": [{"name": "Giấy chứng sinh", "reused_from": scan_of_commune_a.pk}],
    }
    error(
        post(client, f"{BASE}/{d.code}/actions/receive_supplement", body), 400, "reuse_not_allowed"
    )
    after = Dossier.objects.get(pk=d.pk)
    assert (after.status, after.revision) == (Status.AWAITING_SUPPLEMENT, d.revision)
    assert DossierDocument.objects.count() == documents
    download = reverse("core:file_download", args=[scan_of_commune_a.file_id])
    assert client.get(download).status_code == 404


def test_the_desk_that_sees_the_earlier_dossier_reuses_its_document(
    client, scan_of_commune_a, desk_unit_a, desk_officer
):
    body = intake_body(
        desk_unit_a,
        documents=[
            {"index": 0, "provided": True},
            {"index": 1, "provided": False, "reused_from": scan_of_commune_a.pk},
        ],
    )
    response = post(sign_in(client, desk_officer), BASE, body)
    assert response.status_code == 201, response.content
    new = Dossier.objects.get(code=response.json()["code"])
    doc = new.documents.get(name="Giấy chứng sinh")
    assert (doc.reused_from, doc.file_id) == (scan_of_commune_a, scan_of_commune_a.file_id)


# --- Refusal belongs to the desk at reception only (F6) ------------------------------------------


def test_the_desk_cannot_refuse_a_dossier_being_processed(
    client, states, desk_officer, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from chinhquyenso.core.models import Notification
    from chinhquyenso.dossiers.models import DossierEvent

    d = states("claimed")  # at step 2, claimed by the specialist

    def unchanged():
        after = Dossier.objects.get(pk=d.pk)
        assert (after.status, after.revision) == (Status.PROCESSING, d.revision)
        assert DossierEvent.objects.filter(dossier=d).count() == events
        assert Notification.objects.filter(object_id=str(d.pk)).count() == notifications

    events = DossierEvent.objects.filter(dossier=d).count()
    notifications = Notification.objects.filter(object_id=str(d.pk)).count()
    sign_in(client, desk_officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client, f"{BASE}/{d.code}/actions/refuse", {"expected_revision": d.revision, **REASON}
        )
    data = error(response, 403, "refuse_after_reception")
    assert "Thẩm định hồ sơ" in data["message"]
    unchanged()
    # The page says the same and changes nothing either.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("dossiers:act", args=[d.code, "refuse"]),
            {"refuse-expected_revision": d.revision, "refuse-reason": "Lý do cụ thể"},
        )
    assert response.status_code == 403
    assert data["message"] in response.content.decode()
    unchanged()


XML = '<?xml version="1.0" encoding="UTF-8"?><ho-so><ten>Đặng Thị Hoa</ten></ho-so>\n'.encode()


def upload_attachment(client, name, data):
    """A file uploaded through the API as an attachment (DOCX, XLSX, ODT, XML are allowed
    there), as a client would before naming it in a dossier."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        "/api/v1/files",
        {"file": SimpleUploadedFile(name, data), "purpose": "attachment"},
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_scan_named_in_an_intake_must_be_a_scan(client, clock, birth, desk_officer, desk_unit_a):
    """The page accepts PDF, JPEG, PNG, TIFF for a document's scan; the API the same, whatever
    the file was uploaded as (here XML named .pdf)."""
    sign_in(client, desk_officer)
    xml = upload_attachment(client, "giay-chung-sinh.pdf", XML)
    assert xml["content_type"] == "application/xml"
    body = intake_body(
        desk_unit_a, documents=[{"index": 0, "provided": True}, {"index": 1, "file_id": xml["id"]}]
    )
    data = error(post(client, BASE, body), 400, "file_type_not_allowed")
    assert data["message"] == (
        "Tệp “giay-chung-sinh.pdf” là dữ liệu XML, không được dùng làm bản chụp, bản quét giấy "
        "tờ. Chỉ chấp nhận: PDF, ảnh JPEG, ảnh PNG, ảnh TIFF."
    )
    assert Dossier.objects.count() == 0


def test_a_result_must_be_a_pdf_or_a_scan(client, states, commune_leader, responsible):
    from chinhquyenso.core.models import AuditEntry

    d = states("at_approval")  # the leader returns it to the desk with the result
    sign_in(client, commune_leader)
    xml = upload_attachment(client, "ket-qua.pdf", XML)
    before = (d.status, d.revision, d.result_file_id, AuditEntry.objects.count())
    response = post(
        client,
        f"{BASE}/{d.code}/actions/return_to_desk",
        {"expected_revision": d.revision, "result_file_id": xml["id"]},
    )
    error(response, 400, "file_type_not_allowed")
    d.refresh_from_db()
    assert (d.status, d.revision, d.result_file_id, AuditEntry.objects.count()) == before


def test_the_same_intake_sent_twice_receives_one_dossier(
    client, clock, birth, desk_officer, desk_unit_a
):
    from chinhquyenso.dossiers.models import DossierCounter

    sign_in(client, desk_officer)
    key = {"HTTP_IDEMPOTENCY_KEY": "4f1c2a9e-retry-0001"}
    body = intake_body(desk_unit_a)
    first = client.post(BASE, body, content_type="application/json", **key)
    assert first.status_code == 201, first.content
    again = client.post(BASE, body, content_type="application/json", **key)
    data = error(again, 409, "already_received")
    assert data["details"] == {"dossier_code": first.json()["code"]}
    assert first.json()["code"] in data["message"]
    assert Dossier.objects.count() == 1 and DossierCounter.objects.get().last == 1
    # Another key (another intake) is another dossier, with the next number: no gap.
    other = client.post(
        BASE, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="4f1c2a9e-retry-0002"
    )
    assert other.status_code == 201 and other.json()["code"].endswith("-0002")


def test_a_malformed_idempotency_key_changes_nothing(
    client, clock, birth, desk_officer, desk_unit_a
):
    sign_in(client, desk_officer)
    response = client.post(
        BASE, intake_body(desk_unit_a), content_type="application/json", HTTP_IDEMPOTENCY_KEY="x y"
    )
    error(response, 400, "invalid_intake_key")
    assert Dossier.objects.count() == 0
