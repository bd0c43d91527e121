"""The in-app inbox: the page under /inbox/ and the API under /api/v1/inbox/. Everyone sees and
marks only their own notifications; anybody else's answers 404 and stays as it was."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from wangge import urls as wangge_urls
from wangge.core import notify
from wangge.core.context_processors import shell
from wangge.core.models import Notification, User

PageClient = Callable[[str], Client]
ApiClient = Callable[[str | None], Client]
OTHERS = ("grid2", "dept", "resident", "admin")


def _api_prefix() -> str:
    """Where the inbox router answers: /api/v1/inbox/ once registered; until then a stand-alone
    API with the same authentication, mounted by this module's URL configuration."""
    from wangge.api import api

    if any(prefix.strip("/") == "inbox" for prefix, _router in api._routers):
        return "/api/v1/inbox/"
    from django.urls import path
    from ninja import NinjaAPI

    from wangge.api import AUTH, domain_error
    from wangge.core.errors import DomainError
    from wangge.core.inbox_api import inbox_router

    standalone = NinjaAPI(auth=AUTH, urls_namespace="inbox-standalone", docs_url=None)
    standalone.add_exception_handler(DomainError, domain_error)
    standalone.add_router("/inbox/", inbox_router)
    urlpatterns.insert(0, path("standalone-api/", standalone.urls))
    return "/standalone-api/inbox/"


urlpatterns: list[Any] = list(wangge_urls.urlpatterns)
API = _api_prefix()
pytestmark = [pytest.mark.usefixtures("demo_db"), pytest.mark.urls(__name__)]


def _notify(
    user: User, title: str, *, minutes_ago: int = 0, read: bool = False, url: str = ""
) -> Notification:
    now = timezone.now() - timedelta(minutes=minutes_ago)
    return Notification.objects.create(
        user=user,
        kind="case.dispatched",
        title=title,
        body=f"{title} 的说明",
        url=url,
        created_at=now,
        read_at=now if read else None,
    )


@pytest.fixture
def inbox(users: dict[str, User]) -> dict[str, Notification]:
    """grid1 has two unread notifications and one read; grid2 has one of its own."""
    Notification.objects.filter(user__in=users.values()).delete()
    return {
        "old_unread": _notify(users["grid1"], "旧的未读", minutes_ago=30, url="/cases/"),
        "read": _notify(users["grid1"], "已读消息", minutes_ago=5, read=True),
        "new_unread": _notify(users["grid1"], "新的未读", minutes_ago=10),
        "grid2": _notify(users["grid2"], "第二网格的消息"),
    }


def _read_at(n: Notification) -> Any:
    return Notification.objects.values_list("read_at", flat=True).get(pk=n.pk)


# --- the page -------------------------------------------------------------------------------


def test_the_inbox_page_lists_only_my_notifications_unread_first(
    page_client: PageClient, inbox: dict[str, Notification]
) -> None:
    response = page_client("grid1").get("/inbox/")

    assert response.status_code == 200
    text = response.content.decode()
    order = [text.index(inbox[k].title) for k in ("new_unread", "old_unread", "read")]
    assert order == sorted(order)
    assert "第二网格的消息" not in text


def test_the_unread_filter_hides_what_was_read(
    page_client: PageClient, inbox: dict[str, Notification]
) -> None:
    text = page_client("grid1").get("/inbox/?unread=1").content.decode()

    assert "新的未读" in text
    assert "已读消息" not in text


def test_marking_one_read_on_the_page(page_client: PageClient, inbox: dict[str, Notification]) -> None:
    response = page_client("grid1").post(f"/inbox/{inbox['new_unread'].pk}/read/")

    assert response.status_code == 302
    assert response["Location"] == "/inbox/"
    assert _read_at(inbox["new_unread"]) is not None
    assert _read_at(inbox["old_unread"]) is None


def test_opening_a_notification_marks_it_read_and_follows_its_link(
    page_client: PageClient, inbox: dict[str, Notification]
) -> None:
    response = page_client("grid1").post(f"/inbox/{inbox['old_unread'].pk}/read/", {"go": "1"})

    assert response.status_code == 302
    assert response["Location"] == "/cases/"
    assert _read_at(inbox["old_unread"]) is not None


def test_an_outside_link_is_not_followed(page_client: PageClient, inbox: dict[str, Notification]) -> None:
    Notification.objects.filter(pk=inbox["new_unread"].pk).update(url="https://evil.example/")

    response = page_client("grid1").post(f"/inbox/{inbox['new_unread'].pk}/read/", {"go": "1"})

    assert response["Location"] == "/inbox/"


def test_marking_read_with_htmx_answers_the_item_and_the_new_count(
    page_client: PageClient, inbox: dict[str, Notification]
) -> None:
    response = page_client("grid1").post(
        f"/inbox/{inbox['new_unread'].pk}/read/", headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    text = response.content.decode()
    assert f'id="wg-notification-{inbox["new_unread"].pk}"' in text
    assert 'id="wg-inbox-count" hx-swap-oob="true"' in text
    assert "1" in text.split('id="wg-inbox-count"')[1]


def test_mark_all_read_on_the_page_leaves_other_inboxes_alone(
    page_client: PageClient, inbox: dict[str, Notification]
) -> None:
    response = page_client("grid1").post("/inbox/read-all/")

    assert response.status_code == 302
    assert _read_at(inbox["new_unread"]) is not None
    assert _read_at(inbox["old_unread"]) is not None
    assert _read_at(inbox["grid2"]) is None


@pytest.mark.parametrize("username", OTHERS)
def test_nobody_else_can_mark_my_notification_on_the_page(
    page_client: PageClient, inbox: dict[str, Notification], username: str
) -> None:
    mine = inbox["new_unread"]

    response = page_client(username).post(f"/inbox/{mine.pk}/read/", {"go": "1"})

    assert response.status_code == 404
    assert mine.title not in response.content.decode()
    assert _read_at(mine) is None


def test_the_page_wants_a_signed_in_user_and_post_for_writes(
    page_client: PageClient, inbox: dict[str, Notification]
) -> None:
    anonymous = Client()

    assert anonymous.get("/inbox/")["Location"].startswith("/login/")
    assert anonymous.post("/inbox/read-all/")["Location"].startswith("/login/")
    assert page_client("grid1").get(f"/inbox/{inbox['new_unread'].pk}/read/").status_code == 405
    assert _read_at(inbox["new_unread"]) is None


def test_the_badge_counts_my_unread_only_when_a_page_asks(
    users: dict[str, User], inbox: dict[str, Notification]
) -> None:
    request = RequestFactory().get("/")
    request.user = users["grid1"]

    badge = shell(request)["inbox_unread"]

    assert callable(badge)
    assert badge() == 2


# --- the API --------------------------------------------------------------------------------


def test_the_api_lists_my_notifications_unread_first_with_counts(
    api: ApiClient, inbox: dict[str, Notification]
) -> None:
    body = api("grid1").get(API, {"limit": 2}).json()

    assert body["total"] == 3
    assert body["unread"] == 2
    assert [n["title"] for n in body["items"]] == ["新的未读", "旧的未读"]
    assert body["items"][0]["read_at"] is None
    rest = api("grid1").get(API, {"limit": 2, "offset": 2}).json()
    assert [n["title"] for n in rest["items"]] == ["已读消息"]


def test_the_api_unread_filter_and_count(api: ApiClient, inbox: dict[str, Notification]) -> None:
    client = api("grid1")

    unread = client.get(API, {"unread": "true"}).json()
    count = client.get(f"{API}unread-count").json()

    assert {n["title"] for n in unread["items"]} == {"新的未读", "旧的未读"}
    assert count == {"unread": 2}


def test_the_api_marks_one_and_all_read(api: ApiClient, inbox: dict[str, Notification]) -> None:
    client = api("grid1")

    one = client.post(f"{API}{inbox['new_unread'].pk}/read")
    again = client.post(f"{API}{inbox['new_unread'].pk}/read")
    rest = client.post(f"{API}read-all")

    assert one.status_code == 200
    assert one.json()["read_at"] is not None
    assert again.json()["read_at"] == one.json()["read_at"]
    assert rest.json() == {"marked": 1}
    assert client.get(f"{API}unread-count").json() == {"unread": 0}
    assert _read_at(inbox["grid2"]) is None


@pytest.mark.parametrize("username", OTHERS)
def test_nobody_else_can_read_or_mark_my_notification_through_the_api(
    api: ApiClient, inbox: dict[str, Notification], username: str
) -> None:
    mine = inbox["new_unread"]
    client = api(username)

    got = client.get(f"{API}{mine.pk}")
    marked = client.post(f"{API}{mine.pk}/read")
    listed = client.get(API).json()

    assert got.status_code == 404
    assert marked.status_code == 404
    assert mine.title not in got.content.decode() + marked.content.decode()
    assert mine.pk not in [n["id"] for n in listed["items"]]
    assert _read_at(mine) is None


def test_the_api_wants_a_token_and_sane_ids(api: ApiClient, inbox: dict[str, Notification]) -> None:
    anonymous = api(None)

    assert anonymous.get(API).status_code == 401
    assert anonymous.post(f"{API}read-all").status_code == 401
    assert api("grid1").get(f"{API}{2**70}").status_code == 404
    assert api("grid1").get(API, {"limit": 0}).status_code == 422
    assert _read_at(inbox["new_unread"]) is None


def test_a_sent_notification_lands_in_the_inbox(
    users: dict[str, User], inbox: dict[str, Notification]
) -> None:
    notify.send(
        users=[users["grid1"], users["grid1"].pk, None], kind="case.overdue", title="已超期", url="/cases/"
    )

    assert notify.inbox_unread_count(users["grid1"]) == 3
    newest = notify.inbox_list(users["grid1"]).first()
    assert newest is not None
    assert newest.title == "已超期"
