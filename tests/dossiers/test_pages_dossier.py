"""The dossier page (issue #3): who sees it, which actions each persona is offered, actions
through the page, the stale-revision message, the printed forms and the kiosk."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from chinhquyenso.core.models import StoredFile
from chinhquyenso.dossiers import services
from chinhquyenso.dossiers.models import Dossier, Rating, Status
from tests.conftest import sign_in
from tests.core.test_files import make_png
from tests.dossiers.conftest import pdf_bytes

STALE = "Hồ sơ vừa được người khác cập nhật, vui lòng tải lại."


def detail(d):
    return reverse("dossiers:detail", args=[d.code])


def act(d, action):
    return reverse("dossiers:act", args=[d.code, action])


def post(client, d, action, **data):
    d.refresh_from_db()
    payload = {f"{action}-expected_revision": d.revision}
    payload.update({f"{action}-{k}": v for k, v in data.items()})
    return client.post(act(d, action), payload)


def test_anonymous_goes_to_login(client, received):
    response = client.get(detail(received))
    assert response.status_code == 302 and "/dang-nhap/" in response["Location"]


def test_citizen_is_refused(client, received, citizen):
    sign_in(client, citizen)
    assert client.get(detail(received)).status_code == 403


def test_official_of_another_commune_gets_a_vietnamese_404(
    client, received, other_commune_official
):
    sign_in(client, other_commune_official)
    response = client.get(detail(received))
    assert response.status_code == 404
    assert "Không tìm thấy hồ sơ." in response.content.decode()
    assert client.post(act(received, "claim"), {}).status_code == 404


def test_desk_officer_sees_applicant_forms_and_her_actions(client, received, desk_officer):
    sign_in(client, desk_officer)
    response = client.get(detail(received))
    html = response.content.decode()
    assert response.status_code == 200
    assert received.applicant_id_number in html  # the receiving desk sees personal data
    assert "Phiếu kiểm soát quá trình giải quyết hồ sơ (Mẫu 05)" in html
    assert "Tiếp nhận hồ sơ" in html  # history and the first step
    actions = {a["name"] for a in response.context["actions"]}
    assert "forward" in actions and "withdraw" in actions
    assert "approve" not in actions and "return_result" not in actions


def test_colleague_sees_the_masked_name_and_no_actions(client, received, responsible, colleague):
    services.forward(actor=received.received_by, dossier=received)
    services.claim(actor=responsible, dossier=received)
    sign_in(client, colleague)
    response = client.get(detail(received))
    html = response.content.decode()
    assert response.status_code == 200
    assert received.applicant_id_number not in html
    assert "Đặng T** H**" in html
    assert response.context["actions"] == []


def test_forward_claim_and_supplement_through_the_page(client, received, desk_officer, responsible):
    sign_in(client, desk_officer)
    response = post(client, received, "forward", to_step=2, comment="Hồ sơ đủ")
    assert response.status_code == 302
    received.refresh_from_db()
    assert received.current_step.order == 2

    sign_in(client, responsible)
    assert post(client, received, "claim").status_code == 302
    response = post(
        client,
        received,
        "request_supplement",
        reason="Giấy chứng sinh bị mờ",
        missing=["Giấy chứng sinh"],
    )
    assert response.status_code == 302
    received.refresh_from_db()
    assert received.status == Status.AWAITING_SUPPLEMENT

    sign_in(client, desk_officer)
    names = {a["name"] for a in client.get(detail(received)).context["actions"]}
    assert "receive_supplement" in names
    assert post(client, received, "receive_supplement", comment="Đã nộp lại").status_code == 302
    received.refresh_from_db()
    assert received.status == Status.PROCESSING


def test_fees_read_as_on_the_intake_page(client, received, desk_officer):
    """The same words as the intake and procedure pages (the `vnd` filter), not "50000 đ"."""
    Dossier.objects.filter(pk=received.pk).update(
        fees=[
            {"label": "Lệ phí", "amount_vnd": 50000},
            {"label": "Phí cấp bản sao", "amount_vnd": 0},
            {"label": "Phí khai thác dữ liệu", "amount_vnd": None},
        ]
    )
    sign_in(client, desk_officer)
    html = client.get(detail(received)).content.decode()
    assert "Lệ phí: 50.000 đồng; Phí cấp bản sao: Miễn phí; Phí khai thác dữ liệu: Chưa rõ" in html
    assert "50000" not in html


def test_the_history_says_who_withdrew_in_words_for_citizens_and_businesses(
    client, received, desk_officer
):
    sign_in(client, desk_officer)
    assert post(client, received, "withdraw", reason="Người nộp có đơn xin rút").status_code == 302
    html = client.get(detail(received)).content.decode()
    assert "Người nộp rút hồ sơ" in html
    assert "Công dân rút hồ sơ" not in html


def test_a_stale_revision_is_refused_with_the_message(client, received, desk_officer):
    sign_in(client, desk_officer)
    response = client.post(
        act(received, "forward"),
        {"forward-expected_revision": received.revision - 1, "forward-to_step": 2},
    )
    assert response.status_code == 409
    assert STALE in response.content.decode()
    received.refresh_from_db()
    assert received.current_step.order == 1


def test_a_service_refusal_is_shown_next_to_the_action(client, received, desk_officer):
    sign_in(client, desk_officer)
    response = post(client, received, "withdraw", reason="")
    assert response.status_code == 400
    assert "Cần ghi rõ lý do rút hồ sơ." in response.content.decode()
    received.refresh_from_db()
    assert received.status == Status.RECEIVED


def test_apology_takes_a_vietnamese_date_time(client, received, desk_officer):
    sign_in(client, desk_officer)
    response = post(
        client, received, "issue_apology", reason="Chờ xác minh", new_due_at="20/03/2026 16:30"
    )
    assert response.status_code == 302
    received.refresh_from_db()
    assert received.apology_count == 1
    response = post(client, received, "issue_apology", reason="x", new_due_at="2026-03-20")
    assert response.status_code == 400
    assert "dd/mm/yyyy HH:MM" in response.content.decode()


def _resolve(d, desk_officer, responsible, unit_head, leader):
    services.forward(actor=desk_officer, dossier=d)
    services.claim(actor=responsible, dossier=d)
    services.forward(actor=responsible, dossier=d)
    services.forward(actor=unit_head, dossier=d)
    services.approve(actor=leader, dossier=d)
    d.refresh_from_db()
    assert d.status == Status.RESOLVED
    return d


def test_return_by_post_and_rate_on_the_kiosk(
    client, received, desk_officer, responsible, unit_head, commune_leader
):
    _resolve(received, desk_officer, responsible, unit_head, commune_leader)
    sign_in(client, desk_officer)
    assert post(client, received, "return_result", method="post", recipient="").status_code == 302
    received.refresh_from_db()
    assert received.status == Status.RETURNED and received.postal_tracking

    kiosk = reverse("dossiers:kiosk", args=[received.code])
    page = client.get(kiosk)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Rất hài lòng" in html and "Không hài lòng" in html
    assert received.applicant_name not in html and received.applicant_id_number not in html
    response = client.post(kiosk, {"level": "3", "attitude": "3", "time": "2"})
    assert response.status_code == 302
    rating = Rating.objects.get(dossier=received)
    assert rating.level == 3 and rating.criteria == {"attitude": 3, "time": 2}
    assert rating.official == desk_officer
    assert "Xin cảm ơn" in client.get(kiosk).content.decode()


def test_kiosk_says_what_is_wrong_with_the_rating(
    client, received, desk_officer, responsible, unit_head, commune_leader
):
    _resolve(received, desk_officer, responsible, unit_head, commune_leader)
    sign_in(client, desk_officer)
    kiosk = reverse("dossiers:kiosk", args=[received.code])
    long = client.post(kiosk, {"level": "3", "comment": "Rất tốt. " * 250})  # 2,250 characters
    assert long.status_code == 400
    html = long.content.decode()
    assert "Góp ý dài quá: xin viết gọn trong 2.000 ký tự." in html
    assert "Xin chọn một mức độ hài lòng." not in html  # a level was chosen
    assert "Rất tốt. Rất tốt." in html  # the comment is kept, to shorten it
    no_level = client.post(kiosk, {"attitude": "3"})
    assert no_level.status_code == 400
    assert "Xin chọn một mức độ hài lòng." in no_level.content.decode()
    assert not Rating.objects.filter(dossier=received).exists()


def test_kiosk_is_only_for_the_desk(client, received, responsible):
    sign_in(client, responsible)
    kiosk = reverse("dossiers:kiosk", args=[received.code])
    assert client.get(kiosk).status_code in (403, 404)


@pytest.mark.parametrize("purpose", ["receipt", "control_sheet"])
def test_forms_print_for_whoever_sees_the_dossier(client, received, desk_officer, purpose):
    sign_in(client, desk_officer)
    response = client.get(reverse("dossiers:form_pdf", args=[received.code, purpose]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_forms_are_hidden_from_other_communes(client, received, other_commune_official):
    sign_in(client, other_commune_official)
    url = reverse("dossiers:form_pdf", args=[received.code, "receipt"])
    assert client.get(url).status_code == 404


def test_queue_lists_what_waits_and_is_bounded(
    client, clock, birth, desk_officer, desk_unit_a, django_assert_max_num_queries
):
    from tests.dossiers.conftest import receive

    for _ in range(3):
        receive(desk_officer, desk_unit_a, birth.procedure)
    sign_in(client, desk_officer)
    client.get(reverse("dossiers:queue"))  # warm the session and caches
    with django_assert_max_num_queries(14):
        response = client.get(reverse("dossiers:queue"))
    assert response.status_code == 200
    html = response.content.decode()
    codes = list(Dossier.objects.values_list("code", flat=True))
    assert all(code in html for code in codes)
    assert "Trong hạn" in html
    assert "Tiếp nhận hồ sơ" in html  # the current step
    first = Dossier.objects.order_by("id").first()
    assert first.due_at.astimezone().strftime("%d/%m/%Y") in html
    for tab in ("due_soon", "late", "waiting_others"):
        assert client.get(reverse("dossiers:queue"), {"tab": tab}).status_code == 200


def test_queue_refuses_citizens_and_sends_anonymous_to_login(client, citizen):
    assert client.get(reverse("dossiers:queue")).status_code == 302
    sign_in(client, citizen)
    assert client.get(reverse("dossiers:queue")).status_code == 403


# --- The result file: what a refusal leaves in storage, a file named for another type --------


@pytest.fixture
def at_approval(received, desk_officer, responsible, unit_head):
    """The dossier at the chairman's step: he returns it to the desk with the result."""
    d = services.forward(actor=desk_officer, dossier=received)
    d = services.claim(actor=responsible, dossier=d)
    d = services.forward(actor=responsible, dossier=d)
    return services.forward(actor=unit_head, dossier=d)


def stored_paths(tmp_path) -> list:
    """The bytes in the file storage (tmp_path/files in these tests, `_fast_and_isolated`)."""
    location = tmp_path / "files"
    return sorted(p for p in location.rglob("*") if p.is_file()) if location.exists() else []


def return_with_result(client, d, result, revision=None):
    return client.post(
        act(d, "return_to_desk"),
        {
            "return_to_desk-expected_revision": d.revision if revision is None else revision,
            "return_to_desk-comment": "Đã ký",
            "return_to_desk-result": result,
        },
    )


def test_a_stale_result_upload_leaves_no_file_in_storage(
    client, at_approval, commune_leader, tmp_path
):
    sign_in(client, commune_leader)
    before = set(stored_paths(tmp_path))
    result = SimpleUploadedFile("kq.pdf", pdf_bytes("kết quả"), "application/pdf")
    response = return_with_result(client, at_approval, result, revision=at_approval.revision - 1)
    assert response.status_code == 409
    assert STALE in response.content.decode()
    at_approval.refresh_from_db()
    assert at_approval.result_file is None
    assert not StoredFile.objects.filter(original_name="kq.pdf").exists()
    assert set(stored_paths(tmp_path)) == before


def test_a_returned_result_stays_in_storage(client, at_approval, commune_leader, tmp_path):
    sign_in(client, commune_leader)
    result = SimpleUploadedFile("kq.pdf", pdf_bytes("kết quả"), "application/pdf")
    assert return_with_result(client, at_approval, result).status_code == 302
    at_approval.refresh_from_db()
    stored = at_approval.result_file
    assert stored is not None and stored.original_name == "kq.pdf"
    assert (tmp_path / "files" / stored.storage_name).read_bytes() == pdf_bytes("kết quả")


def test_a_png_named_pdf_is_refused_as_the_result(client, at_approval, commune_leader, tmp_path):
    sign_in(client, commune_leader)
    before = set(stored_paths(tmp_path))
    response = return_with_result(
        client, at_approval, SimpleUploadedFile("kq.pdf", make_png(), "application/pdf")
    )
    assert response.status_code == 400
    assert (
        "Tệp “kq.pdf” có nội dung là ảnh PNG, không phải PDF. Vui lòng chọn đúng tệp."
        in response.content.decode()
    )
    at_approval.refresh_from_db()
    assert at_approval.result_file is None
    assert set(stored_paths(tmp_path)) == before


def test_a_stale_supplement_leaves_no_scan_in_storage(
    client, received, desk_officer, responsible, tmp_path
):
    d = services.forward(actor=desk_officer, dossier=received)
    d = services.claim(actor=responsible, dossier=d)
    d = services.request_supplement(
        actor=responsible,
        dossier=d,
        reason="Giấy chứng sinh bị mờ",
        missing_documents=["Giấy chứng sinh"],
    )
    sign_in(client, desk_officer)
    before = set(stored_paths(tmp_path))
    response = client.post(
        act(d, "receive_supplement"),
        {
            "receive_supplement-expected_revision": d.revision - 1,
            "receive_supplement-comment": "Đã nộp lại",
            "receive_supplement-scan": SimpleUploadedFile(
                "bo-sung.pdf", pdf_bytes("bổ sung"), "application/pdf"
            ),
        },
    )
    assert response.status_code == 409
    d.refresh_from_db()
    assert d.status == Status.AWAITING_SUPPLEMENT
    assert set(stored_paths(tmp_path)) == before
