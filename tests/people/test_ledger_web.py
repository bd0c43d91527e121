"""Ledger pages and API: background import jobs (Huey runs them inline in tests), the error
report download, committing a dry run, scope of jobs, and the masked, scope-narrowed export."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from tests.people.test_ledger import grid_of, houses_in, make_id, person, workbook
from wangge.core.models import AuditEvent, User
from wangge.people.models import CareGroup, CareGroupMembership, LedgerJob, Resident

pytestmark = pytest.mark.usefixtures("demo_db")

API = "/api/v1/people/ledger"


def upload(client: Client, data: bytes, *, dry_run: bool = True, skip_invalid: bool = False) -> Any:
    return client.post(
        f"{API}/imports",
        {
            "file": io.BytesIO(data),
            "dry_run": str(dry_run).lower(),
            "skip_invalid": str(skip_invalid).lower(),
        },
    )


def rows_for(username: str, count: int = 2, seq: int = 500) -> list[dict[str, Any]]:
    houses = houses_in(grid_of(username), count)
    return [
        person(h, f"导入{i}", make_id(date(1970, 1, 1), seq + i), 手机号=f"1390000{seq + i:04d}")
        for i, h in enumerate(houses)
    ]


def sheet(content: bytes) -> list[list[Any]]:
    ws = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


# --- the import job, through the API ---------------------------------------------------------


def test_a_dry_run_job_then_its_commit(
    api: Callable[[str], Client], django_capture_on_commit_callbacks: Any
) -> None:
    client = api("grid1")
    rows = rows_for("grid1")
    residents = Resident.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        created = upload(client, workbook(rows))
    job = client.get(f"{API}/imports/{created.json()['id']}").json()

    assert created.status_code == 202
    assert job["status"] == "done"
    assert job["percent"] == 100
    assert job["report"]["new"] == 2
    assert job["report"]["committed"] is False
    assert Resident.objects.count() == residents

    with django_capture_on_commit_callbacks(execute=True):
        committed = client.post(f"{API}/imports/{job['id']}/commit")
    again = client.post(f"{API}/imports/{job['id']}/commit")
    final = client.get(f"{API}/imports/{committed.json()['id']}").json()

    assert committed.status_code == 202
    assert again.json()["id"] == committed.json()["id"]
    assert final["status"] == "done"
    assert final["report"]["committed"] is True
    assert final["source_id"] == job["id"]
    assert Resident.objects.count() == residents + 2
    assert not LedgerJob.objects.get(pk=job["id"]).file  # the sealed upload is gone after the import


def test_a_job_with_bad_rows_is_rejected_and_its_error_report_downloads(
    api: Callable[[str], Client], django_capture_on_commit_callbacks: Any
) -> None:
    client = api("grid1")
    rows = rows_for("grid1")
    rows.append(person(houses_in(grid_of("grid1"), 3)[2], "坏行", "110101199003071234"))
    residents = Resident.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        created = upload(client, workbook(rows), dry_run=False)
    job = client.get(f"{API}/imports/{created.json()['id']}").json()
    errors = client.get(f"{API}/imports/{job['id']}/errors.xlsx")

    assert job["status"] == "rejected"
    assert job["report"]["errors"][0]["row"] == 5
    assert Resident.objects.count() == residents
    assert errors.status_code == 200
    lines = sheet(b"".join(errors.streaming_content) if errors.streaming else errors.content)
    assert lines[2][0] == 5
    assert lines[2][1] == "身份证号"
    assert "110101199003071234" not in str(lines)


def test_the_sealed_upload_holds_no_plaintext(api: Callable[[str], Client], settings: Any) -> None:
    client = api("grid1")
    rows = rows_for("grid1")

    created = upload(client, workbook(rows))  # the task has not run: the upload waits on disk
    job = LedgerJob.objects.get(pk=created.json()["id"])
    stored = (settings.MEDIA_ROOT / job.file).read_bytes()

    assert job.status == "queued"
    assert rows[0]["身份证号"].encode() not in stored
    assert b"PK" not in stored[:8]


def test_uploads_that_are_not_workbooks_are_refused(api: Callable[[str], Client]) -> None:
    jobs = LedgerJob.objects.count()

    response = upload(api("grid1"), b"name,id\n")

    assert response.status_code == 400
    assert response.json()["code"] == "not_xlsx"
    assert LedgerJob.objects.count() == jobs


@pytest.mark.parametrize("username", ["dept", "resident", "street"])
def test_roles_that_do_not_register_residents_cannot_upload(
    api: Callable[[str], Client], username: str
) -> None:
    jobs = LedgerJob.objects.count()

    response = upload(api(username), workbook(rows_for("grid1")))

    assert response.status_code == 403
    assert LedgerJob.objects.count() == jobs


def test_grid1_cannot_see_or_commit_grid2s_jobs(
    api: Callable[[str], Client], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        theirs = upload(api("grid2"), workbook(rows_for("grid2")), dry_run=True).json()
    grid1 = api("grid1")
    jobs, audits = LedgerJob.objects.count(), AuditEvent.objects.count()

    answers = [
        grid1.get(f"{API}/imports/{theirs['id']}"),
        grid1.get(f"{API}/imports/{theirs['id']}/errors.xlsx"),
        grid1.post(f"{API}/imports/{theirs['id']}/commit"),
    ]

    assert [a.status_code for a in answers] == [404, 404, 404]
    assert all(theirs["filename"] not in a.content.decode(errors="replace") for a in answers)
    assert (LedgerJob.objects.count(), AuditEvent.objects.count()) == (jobs, audits)


def test_the_template_downloads(api: Callable[[str], Client]) -> None:
    response = api("grid1").get(f"{API}/template.xlsx")

    assert response.status_code == 200
    assert sheet(response.content)[0][:3] == ["房屋编码", "楼栋编码", "房号"]


# --- the export -------------------------------------------------------------------------------


def test_the_export_is_masked_and_narrowed_to_scope(api: Callable[[str], Client]) -> None:
    mine = Resident.objects.filter(place__path__under=grid_of("grid1").path, status="active").count()
    theirs = Resident.objects.filter(place__path__under=grid_of("grid2").path).values_list("name", flat=True)[
        :50
    ]
    audits = AuditEvent.objects.count()

    response = api("grid1").get(f"{API}/export")

    assert response.status_code == 200
    lines = sheet(b"".join(response.streaming_content))
    header, body = lines[0], lines[1:]
    assert len(body) == mine > 0
    ids = [r[header.index("身份证号")] for r in body if r[header.index("身份证号")]]
    phones = [r[header.index("手机号")] for r in body if r[header.index("手机号")]]
    assert ids
    assert all("**********" in v for v in ids)
    assert phones
    assert all("****" in v for v in phones)
    assert not {r[header.index("姓名")] for r in body} & set(theirs) - set(
        Resident.objects.filter(place__path__under=grid_of("grid1").path).values_list("name", flat=True)
    )
    event = AuditEvent.objects.order_by("-pk").first()
    assert AuditEvent.objects.count() == audits + 1
    assert event is not None
    assert event.action == "people.ledger_exported"
    assert event.changes["rows"] == mine


def test_grid1_cannot_export_grid2s_place(api: Callable[[str], Client]) -> None:
    grid2 = grid_of("grid2")
    audits = AuditEvent.objects.count()

    response = api("grid1").get(f"{API}/export?place_id={grid2.pk}")

    assert response.status_code == 404
    assert grid2.name not in response.content.decode()
    assert AuditEvent.objects.count() == audits


def test_sensitive_columns_only_for_roles_that_may_see_them(
    users: dict[str, User], api: Callable[[str], Client]
) -> None:
    disabled = CareGroup.objects.get(code="disabled")
    member = Resident.objects.filter(place__path__under=grid_of("grid1").path, status="active").first()
    assert member is not None
    CareGroupMembership.objects.create(
        resident=member, group=disabled, grade="二级", start_on=date(2020, 1, 1)
    )
    query = f"?q={member.name}&place_id={grid_of('grid1').pk}"

    staff = sheet(b"".join(api("grid1").get(f"{API}/export{query}").streaming_content))
    street = sheet(b"".join(api("street").get(f"{API}/export{query}").streaming_content))

    assert "健康状况" in staff[0]
    assert "健康状况" not in street[0]
    staff_groups = [r[staff[0].index("重点人群")] or "" for r in staff[1:]]
    street_groups = [r[street[0].index("重点人群")] or "" for r in street[1:]]
    assert any("残疾人" in g for g in staff_groups)
    assert not any("残疾人" in g for g in street_groups)


def test_a_searched_id_number_is_masked_in_the_audit(api: Callable[[str], Client]) -> None:
    id_number = make_id(date(1970, 1, 1), 777)

    api("grid1").get(f"{API}/export?q={id_number}")

    event = AuditEvent.objects.order_by("-pk").first()
    assert event is not None
    assert id_number not in str(event.changes)


# --- pages --------------------------------------------------------------------------------------


def test_the_ledger_page_shows_import_and_export(page_client: Callable[[str], Client]) -> None:
    response = page_client("grid1").get("/people/ledger/")

    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-testid="ledger-upload"' in text
    assert 'data-testid="ledger-export"' in text


def test_the_page_upload_runs_the_job_and_polls_until_done(
    page_client: Callable[[str], Client], django_capture_on_commit_callbacks: Any
) -> None:
    client = page_client("grid1")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/people/ledger/imports/",
            {"file": _named(workbook(rows_for("grid1"))), "dry_run": "on"},
        )
    job_url = response["Location"]
    page = client.get(job_url)
    fragment = client.get(job_url + "progress/")
    confirm = client.get(job_url + "commit/")

    assert response.status_code == 302
    assert page.status_code == 200
    assert 'data-status="done"' in page.content.decode()
    assert "every 1s" not in fragment.content.decode()  # finished: polling stops
    assert 'data-testid="ledger-commit"' in fragment.content.decode()
    assert confirm.status_code == 200


def test_a_queued_job_fragment_keeps_polling(page_client: Callable[[str], Client]) -> None:
    client = page_client("grid1")
    response = client.post(
        "/people/ledger/imports/", {"file": _named(workbook(rows_for("grid1"))), "dry_run": "on"}
    )

    fragment = client.get(response["Location"] + "progress/")

    assert 'hx-trigger="every 1s"' in fragment.content.decode()


def test_the_page_export_downloads_a_workbook(page_client: Callable[[str], Client]) -> None:
    response = page_client("community").get("/people/ledger/export.xlsx?age=60-79&registration=registered")

    assert response.status_code == 200
    lines = sheet(b"".join(response.streaming_content))
    ages = [r[lines[0].index("年龄")] for r in lines[1:]]
    assert ages
    assert all(60 <= a <= 79 for a in ages)


def test_grid1_gets_404_for_grid2s_job_pages(
    page_client: Callable[[str], Client],
    api: Callable[[str], Client],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        theirs = upload(api("grid2"), workbook(rows_for("grid2"))).json()
    client = page_client("grid1")
    jobs = LedgerJob.objects.count()

    answers = [
        client.get(f"/people/ledger/imports/{theirs['id']}/"),
        client.get(f"/people/ledger/imports/{theirs['id']}/progress/"),
        client.get(f"/people/ledger/imports/{theirs['id']}/errors.xlsx"),
        client.post(f"/people/ledger/imports/{theirs['id']}/commit/"),
    ]

    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert LedgerJob.objects.count() == jobs


def _named(data: bytes) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = "台账.xlsx"
    return handle
