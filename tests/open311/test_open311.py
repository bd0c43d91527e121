"""Open311 GeoReport v2 under /open311/v2/: every answer checked against the spec's field
requirements, in JSON and in XML; filing through intake with an API key; the spec's filters;
and what may be published without a key."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.open311 import georeport as spec
from wangge.cases import services as case_services
from wangge.cases.models import Case, CaseReporter, Category, Channel, State
from wangge.cases.services import Target
from wangge.core.clock import LOCAL_TZ
from wangge.core.models import User
from wangge.open311 import services
from wangge.open311.models import Open311Client, Open311Request
from wangge.open311.present import redact
from wangge.org.models import Assignment
from wangge.places.models import Place, PlaceKind

pytestmark = pytest.mark.usefixtures("demo_db")

BASE = "/open311/v2"
DEMO_KEY = "wangge-demo-open311"
RESIDENT_PHONE = "13912345678"


# --- small factories --------------------------------------------------------------------------


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def place_of(username: str) -> Place:
    return Assignment.objects.select_related("place").get(user__username=username).place


def building_in(grid: Place, index: int = 0) -> Place:
    return list(Place.objects.filter(path__under=grid.path, kind=PlaceKind.BUILDING).order_by("path"))[index]


def house_in(grid: Place) -> Place:
    return Place.objects.filter(path__under=grid.path, kind=PlaceKind.HOUSE).order_by("path").first()  # type: ignore[return-value]


def file_case(
    *,
    code: str,
    actor: User | None = None,
    place: Place | None = None,
    description: str = "路边有一堆垃圾",
    **kwargs: Any,
) -> Case:
    channel = Channel.PATROL if actor is not None and actor.username.startswith("grid") else Channel.WEB
    if actor is None:
        kwargs.setdefault("reporter_phone", "13800138000")
    return case_services.case_intake(
        actor=actor,
        channel=channel,
        category=Category.objects.get(code=code),
        place=place or building_in(place_of("grid1")),
        description=description,
        **kwargs,
    ).case


@pytest.fixture
def demo_client() -> Open311Client:
    return services.ensure_demo_client()


@pytest.fixture
def other_client() -> tuple[Open311Client, str]:
    client = Open311Client(name="Another city app")
    key = services.client_register(actor=None, client=client)
    return client, key


@pytest.fixture
def grid2_client() -> tuple[Open311Client, str]:
    client = Open311Client(name="Grid 2 app", place=place_of("grid2"))
    key = services.client_register(actor=None, client=client)
    return client, key


def grid1_point() -> dict[str, str]:
    grid = place_of("grid1")
    return {"lat": str(grid.lat), "long": str(grid.lng)}


def post(data: dict[str, str], *, fmt: str = "json", key: str | None = DEMO_KEY, **headers: str) -> Any:
    form = {"service_code": "0101", "description": "路边有一堆垃圾", **grid1_point(), **data}
    if key is not None:
        form["api_key"] = key
    return Client().post(f"{BASE}/requests.{fmt}", form, headers=headers)


def get_requests(query: str = "", *, fmt: str = "json") -> list[dict[str, Any]]:
    response = Client().get(f"{BASE}/requests.{fmt}{query}")
    assert response.status_code == 200, response.content
    if fmt == "xml":
        items = spec.xml_items(response, "service_requests", "request")
        spec.check_list(items, spec.REQUEST, xml=True)
        return items
    body = spec.json_body(response)
    spec.check_list(body, spec.REQUEST)
    return body  # type: ignore[no-any-return]


def numbers(items: list[dict[str, Any]]) -> list[str]:
    return [i["service_request_id"] for i in items]


# --- discovery and services -------------------------------------------------------------------


def test_discovery_lists_the_endpoint_in_both_formats() -> None:
    as_json = Client().get(f"{BASE}/discovery.json")
    doc = spec.json_body(as_json)
    spec.check_object(doc, spec.DISCOVERY)
    spec.check_list(doc["endpoints"], spec.ENDPOINT)
    (endpoint,) = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2/"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}

    as_xml = spec.check_discovery_xml(Client().get(f"{BASE}/discovery.xml"))
    assert as_xml["endpoints"][0]["url"] == "http://testserver/open311/v2/"
    assert set(as_xml["endpoints"][0]["formats"]) == {"text/xml", "application/json"}


def test_services_are_the_active_categories_grouped_by_their_parent() -> None:
    body = spec.json_body(Client().get(f"{BASE}/services.json"))
    spec.check_list(body, spec.SERVICE)
    active = list(Category.objects.filter(is_active=True).order_by("code").values_list("code", flat=True))
    assert [s["service_code"] for s in body] == active
    rubbish = next(s for s in body if s["service_code"] == "0101")
    assert rubbish["service_name"] == "暴露垃圾"
    assert rubbish["group"] == "市容环境"
    assert (rubbish["metadata"], rubbish["type"]) == (False, "realtime")

    items = spec.xml_items(Client().get(f"{BASE}/services.xml"), "services", "service")
    spec.check_list(items, spec.SERVICE, xml=True)
    assert [s["service_code"] for s in items] == active


def test_an_inactive_category_is_not_offered() -> None:
    Category.objects.filter(code="0102").update(is_active=False)

    body = spec.json_body(Client().get(f"{BASE}/services.json"))

    assert "0102" not in [s["service_code"] for s in body]
    spec.check_error(Client().get(f"{BASE}/services/0102.json"), 404)


def test_service_names_are_english_for_an_english_caller() -> None:
    by_header = spec.json_body(Client().get(f"{BASE}/services.json", headers={"Accept-Language": "en"}))
    by_param = spec.json_body(Client().get(f"{BASE}/services.json?locale=en"))

    for body in (by_header, by_param):
        rubbish = next(s for s in body if s["service_code"] == "0101")
        assert (rubbish["service_name"], rubbish["group"]) == (
            "Exposed rubbish",
            "City appearance and environment",
        )


def test_a_service_definition_has_no_attributes_and_an_unknown_code_is_404() -> None:
    body = spec.json_body(Client().get(f"{BASE}/services/0101.json"))
    spec.check_object(body, spec.SERVICE_DEFINITION)
    assert body == {"service_code": "0101", "attributes": []}

    tree = ET.fromstring(Client().get(f"{BASE}/services/0101.xml").content)  # noqa: S314 - our own answer
    assert tree.tag == "service_definition"
    assert tree.findtext("service_code") == "0101"
    assert tree.find("attributes") is not None

    spec.check_error(Client().get(f"{BASE}/services/9999.json"), 404)
    spec.check_error(Client().get(f"{BASE}/services/9999.xml"), 404, xml=True)


def test_unknown_formats_paths_and_methods_answer_in_the_spec_format() -> None:
    spec.check_error(Client().get(f"{BASE}/services.csv"), 404)
    spec.check_error(Client().get(f"{BASE}/requests.html"), 404)
    spec.check_error(Client().get(f"{BASE}/services"), 404)
    spec.check_error(Client().get(f"{BASE}/nothing/here.xml"), 404, xml=True)
    spec.check_error(Client().get(f"{BASE}/"), 404)
    refused = Client().put(f"{BASE}/services.json")
    spec.check_error(refused, 405)
    assert refused["Allow"] == "GET, HEAD"
    assert Client().head(f"{BASE}/services.json").status_code == 200
    spec.check_error(Client().delete(f"{BASE}/requests.xml"), 405, xml=True)


# --- POST requests ----------------------------------------------------------------------------


def test_post_files_one_case_through_intake(demo_client: Open311Client) -> None:
    response = post(
        {"first_name": "三", "last_name": "张", "phone": RESIDENT_PHONE, "email": "zs@example.com"},
        **{"Idempotency-Key": "abc-1"},
    )

    assert response.status_code == 201, response.content
    body = spec.json_body(response)
    spec.check_list(body, spec.SUBMITTED)
    (item,) = body
    case = Case.objects.get(number=item["service_request_id"])
    assert case.channel == Channel.OPEN311
    assert case.category.code == "0101"
    assert case.state in (State.RECEIVED, State.DISPATCHED)
    assert case.source_ref == f"open311:{demo_client.pk}"
    assert case.place.path.startswith(place_of("grid1").path)
    assert case.events.filter(action="receive").count() == 1
    reporter = CaseReporter.objects.get(case=case)
    assert (reporter.name, reporter.phone, reporter.channel) == ("张三", RESIDENT_PHONE, Channel.OPEN311)
    filed = Open311Request.objects.get(case=case)
    assert (filed.client, filed.token) == (demo_client, item["token"])
    assert item["account_id"] is None
    demo_client.refresh_from_db()
    assert demo_client.last_used_at is not None


def test_post_answers_in_xml_too(demo_client: Open311Client) -> None:
    response = post({}, fmt="xml")

    assert response.status_code == 201
    (item,) = spec.xml_items(response, "service_requests", "request")
    spec.check_object(item, spec.SUBMITTED, xml=True)
    assert Case.objects.filter(number=item["service_request_id"], channel=Channel.OPEN311).exists()


def test_the_same_idempotency_key_files_one_case(
    demo_client: Open311Client, other_client: tuple[Open311Client, str]
) -> None:
    before = Case.objects.count()

    first = post({}, **{"Idempotency-Key": "retry-me"})
    second = post({}, **{"Idempotency-Key": "retry-me"})
    third = post({"description": "路边有一堆垃圾"}, fmt="xml", **{"Idempotency-Key": "retry-me"})

    assert (first.status_code, second.status_code, third.status_code) == (201, 200, 200)
    assert spec.json_body(first) == spec.json_body(second)
    (again,) = spec.xml_items(third, "service_requests", "request")
    assert again["service_request_id"] == spec.json_body(first)[0]["service_request_id"]
    assert Case.objects.count() == before + 1
    assert Open311Request.objects.count() == 1

    # Another client's identical key is its own: a second case.
    _client, key = other_client
    assert post({}, key=key, **{"Idempotency-Key": "retry-me"}).status_code == 201
    assert Case.objects.count() == before + 2


def test_without_an_idempotency_key_every_post_is_a_new_case(demo_client: Open311Client) -> None:
    before = Case.objects.count()
    post({})
    post({})
    assert Case.objects.count() == before + 2


def test_a_post_through_a_csrf_checking_client_is_accepted(demo_client: Open311Client) -> None:
    form = {"api_key": DEMO_KEY, "service_code": "0101", "description": "井盖旁垃圾", **grid1_point()}
    response = Client(enforce_csrf_checks=True).post(f"{BASE}/requests.json", form)
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("key", "fmt"),
    [
        (None, "json"),
        ("", "json"),
        ("not-a-key", "json"),
        ("x" * 500, "json"),
        (None, "xml"),
        ("nope", "xml"),
    ],
)
def test_post_without_a_valid_key_is_403_and_files_nothing(
    demo_client: Open311Client, key: str | None, fmt: str
) -> None:
    before = Case.objects.count()

    response = post({}, key=key, fmt=fmt)

    spec.check_error(response, 403, xml=fmt == "xml")
    assert Case.objects.count() == before


def test_a_deactivated_client_is_refused(other_client: tuple[Open311Client, str]) -> None:
    client, key = other_client
    Open311Client.objects.filter(pk=client.pk).update(is_active=False)
    before = Case.objects.count()

    spec.check_error(post({}, key=key), 403)
    spec.check_error(Client().get(f"{BASE}/requests.json?api_key={key}"), 403)
    assert Case.objects.count() == before


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"service_code": "9999"}, "service_code"),
        ({"service_code": ""}, "service_code"),
        ({"lat": "", "long": ""}, "address_id"),
        ({"lat": "north", "long": "116.99"}, "lat"),
        ({"lat": "nan", "long": "116.99"}, "lat"),
        ({"lat": "36.65", "long": ""}, "lat"),
        ({"lat": "95", "long": "116.99"}, "lat"),
        ({"lat": "0", "long": "0"}, ""),
        ({"lat": "", "long": "", "address_id": "999999999"}, "address_id"),
        ({"lat": "", "long": "", "address_string": "1号楼"}, "address_string"),
        ({"description": ""}, ""),
        ({"description": "很长" * 1001}, ""),
        ({"phone": "12345"}, ""),
        ({"first_name": "x" * 70}, ""),
        ({"address_string": "y" * 201}, ""),
    ],
)
def test_bad_input_is_400_with_a_reason_and_files_nothing(
    demo_client: Open311Client, data: dict[str, str], words: str
) -> None:
    before = (Case.objects.count(), CaseReporter.objects.count(), Open311Request.objects.count())

    reason = spec.check_error(post(data), 400)

    assert reason
    assert words in reason
    assert (Case.objects.count(), CaseReporter.objects.count(), Open311Request.objects.count()) == before
    spec.check_error(post(data, fmt="xml"), 400, xml=True)


def test_a_too_long_idempotency_key_is_400(demo_client: Open311Client) -> None:
    before = Case.objects.count()
    spec.check_error(post({}, **{"Idempotency-Key": "k" * 101}), 400)
    assert Case.objects.count() == before


def test_an_address_id_is_a_place_code(demo_client: Open311Client) -> None:
    building = building_in(place_of("grid1"), 1)

    response = post({"lat": "", "long": "", "address_id": building.code, "address_string": "2号楼门口"})

    case = Case.objects.get(number=spec.json_body(response)[0]["service_request_id"])
    assert case.place == building
    assert case.address == "2号楼门口"


def test_an_address_string_naming_exactly_one_place_locates_it(demo_client: Open311Client) -> None:
    community = place_of("community")

    response = post({"lat": "", "long": "", "address_string": community.name})

    assert response.status_code == 201, response.content
    case = Case.objects.get(number=spec.json_body(response)[0]["service_request_id"])
    assert case.place == community


def test_a_client_limited_to_grid_2_may_not_file_in_grid_1(grid2_client: tuple[Open311Client, str]) -> None:
    _client, key = grid2_client
    before = Case.objects.count()

    spec.check_error(post({}, key=key), 403)
    assert Case.objects.count() == before

    inside = post({"lat": "", "long": "", "address_id": building_in(place_of("grid2")).code}, key=key)
    assert inside.status_code == 201, inside.content


# --- GET requests -----------------------------------------------------------------------------


def test_get_requests_lists_public_cases_newest_first(users: dict[str, Any]) -> None:
    with time_machine.travel(local(2026, 11, 10, 9, 0), tick=False):
        older = file_case(code="0101", actor=users["grid1"])
    with time_machine.travel(local(2026, 11, 12, 9, 0), tick=False):
        newer = file_case(code="0402", actor=users["grid1"])
    with time_machine.travel(local(2026, 11, 20, 9, 0), tick=False):
        as_json = get_requests()
        as_xml = get_requests(fmt="xml")

    assert numbers(as_json)[:2] == [newer.number, older.number]
    assert numbers(as_xml) == numbers(as_json)
    item = as_json[1]
    assert item["service_code"] == "0101"
    assert item["service_name"] == "暴露垃圾"
    assert item["status"] == "open"
    assert item["requested_datetime"] == "2026-11-10T09:00:00+08:00"
    assert item["expected_datetime"] == older.due_at.astimezone(LOCAL_TZ).isoformat(timespec="seconds")
    assert item["agency_responsible"] == older.owner_label
    assert item["description"] == "路边有一堆垃圾"


def test_filters_service_code_status_dates_and_ids(users: dict[str, Any]) -> None:
    community = users["community"]
    with time_machine.travel(local(2026, 6, 1, 9, 0), tick=False):
        june = file_case(code="0101", actor=users["grid1"])
    with time_machine.travel(local(2026, 8, 1, 9, 0), tick=False):
        august = file_case(code="0101", actor=users["grid1"])
    with time_machine.travel(local(2026, 11, 1, 9, 0), tick=False):
        rubbish = file_case(code="0101", actor=users["grid1"])
        parking = file_case(code="0402", actor=users["grid1"])
        flyers = file_case(code="0201", actor=users["grid1"])
        declined = file_case(code="0101", actor=None, description="重复的垃圾问题")
        case_services.case_cancel(actor=community, case=declined, reason="与已有诉求重复")
    with time_machine.travel(local(2026, 11, 20, 9, 0), tick=False):
        everything = set(numbers(get_requests()))
        by_code = numbers(get_requests("?service_code=0402,0201"))
        opened = set(numbers(get_requests("?status=open")))
        closed = get_requests("?status=closed")
        both = set(numbers(get_requests("?status=open,closed")))
        summer = numbers(
            get_requests("?start_date=2026-05-20T00:00:00Z&end_date=2026-06-10T00:00:00%2B08:00")
        )
        summer_on = numbers(get_requests("?start_date=2026-07-25"))
        until = numbers(get_requests("?end_date=2026-08-15T00:00:00%2B08:00"))
        by_id = numbers(
            get_requests(f"?service_request_id={june.number},{parking.number},nope&status=closed")
        )

    assert {rubbish.number, parking.number, flyers.number, declined.number} <= everything
    # Older than the default 90 days:
    assert june.number not in everything
    assert august.number not in everything
    assert by_code == [flyers.number, parking.number]
    assert declined.number not in opened
    assert rubbish.number in opened
    assert numbers(closed) == [declined.number]
    assert closed[0]["status"] == "closed"
    assert closed[0]["status_notes"] == "与已有诉求重复"
    assert both == everything
    assert summer == [june.number]
    assert summer_on == [august.number]
    assert until == [august.number, june.number]
    # service_request_id overrides the other filters, as the spec says.
    assert set(by_id) == {june.number, parking.number}


@pytest.mark.parametrize(
    "query",
    [
        "?status=pending",
        "?start_date=yesterday",
        "?end_date=2026-13-01",
        "?start_date=2026-11-10&end_date=2026-11-01",
        "?start_date=2026-01-01&end_date=2026-11-01",
        "?service_code=9999",
        "?service_request_id=" + ",".join(str(n) for n in range(1001)),
    ],
)
def test_bad_filters_are_400(query: str) -> None:
    assert spec.check_error(Client().get(f"{BASE}/requests.json{query}"), 400)
    spec.check_error(Client().get(f"{BASE}/requests.xml{query}"), 400, xml=True)


def test_status_notes_give_the_reply_and_the_merge(users: dict[str, Any]) -> None:
    community, grid1 = users["community"], users["grid1"]
    kept = file_case(code="0101", actor=None, description="路口暴露垃圾")
    duplicate = file_case(code="0101", actor=None, description="路口暴露垃圾 又一次")
    case_services.case_merge(actor=community, case=duplicate, into=kept)
    case_services.case_dispatch(actor=community, case=kept, to=Target(place=place_of("grid1")))
    case_services.case_accept(actor=grid1, case=kept)
    case_services.case_resolve(actor=grid1, case=kept, reply="已清运。如有问题请致电 13811112222")

    items = {i["service_request_id"]: i for i in get_requests()}

    assert items[duplicate.number]["status"] == "closed"
    assert kept.number in items[duplicate.number]["status_notes"]
    assert items[kept.number]["status"] == "closed"
    assert items[kept.number]["status_notes"] == "已清运。如有问题请致电 ***"


def test_requests_by_id_is_a_one_element_list() -> None:
    case = file_case(code="0401")

    response = Client().get(f"{BASE}/requests/{case.number}.json")
    body = spec.json_body(response)
    spec.check_list(body, spec.REQUEST)
    assert numbers(body) == [case.number]

    items = spec.xml_items(Client().get(f"{BASE}/requests/{case.number}.xml"), "service_requests", "request")
    spec.check_list(items, spec.REQUEST, xml=True)
    assert numbers(items) == [case.number]

    spec.check_error(Client().get(f"{BASE}/requests/0000.json"), 404)
    spec.check_error(Client().get(f"{BASE}/requests/0000.xml"), 404, xml=True)


def test_get_requests_costs_a_fixed_number_of_queries(
    users: dict[str, Any], demo_client: Open311Client
) -> None:
    for code in ("0101", "0201", "0402"):
        file_case(code=code, actor=users["grid1"])
        file_case(code=code, place=house_in(place_of("grid1")))
    case_services.case_cancel(actor=users["community"], case=file_case(code="0101"), reason="不予受理")

    with CaptureQueriesContext(connection) as few:
        get_requests()
    for code in ("0102", "0202", "0403", "0501"):
        file_case(code=code, actor=users["grid1"])
        file_case(code=code, place=house_in(place_of("grid2")))
    with CaptureQueriesContext(connection) as more:
        get_requests()

    assert len(more) == len(few) <= 5
    with CaptureQueriesContext(connection) as keyed:
        Client().get(f"{BASE}/requests.json?api_key={DEMO_KEY}")
    assert len(keyed) <= 8


# --- privacy ----------------------------------------------------------------------------------


def test_a_residents_private_request_in_grid_1_is_not_published(users: dict[str, Any]) -> None:
    resident = users["resident"]
    case = file_case(
        code="1201",
        actor=resident,
        place=place_of("resident"),
        description="楼上噪音",
        reporter_phone=RESIDENT_PHONE,
    )

    spec.check_error(Client().get(f"{BASE}/requests/{case.number}.json"), 404)
    spec.check_error(Client().get(f"{BASE}/requests/{case.number}.xml"), 404, xml=True)
    assert case.number not in numbers(get_requests())
    assert case.number not in numbers(get_requests(f"?service_request_id={case.number}"))
    assert case.number not in numbers(get_requests("?service_code=1201"))


@pytest.mark.parametrize("username", ["grid1", "community", "resident", "grid2", "dept"])
def test_a_signed_in_session_gives_an_open311_caller_nothing_more(
    users: dict[str, Any], page_client: Any, username: str
) -> None:
    case = file_case(code="1201", actor=users["resident"], place=place_of("resident"), description="楼上噪音")

    response = page_client(username).get(f"{BASE}/requests/{case.number}.json")

    spec.check_error(response, 404)


def test_a_published_request_carries_no_personal_data() -> None:
    home = house_in(place_of("grid1"))
    name = "欧阳娜娜"
    case = file_case(
        code="0103",
        place=home,
        description=f"门口道路很脏，联系我 {RESIDENT_PHONE} 或 nana@example.com，身份证 370103199001011234",
        reporter_name=name,
        reporter_phone="13700001111",
        address="3号楼2单元301",
        lat=36.651845812345,
        lng=116.996769312345,
    )

    for fmt in ("json", "xml"):
        raw = Client().get(f"{BASE}/requests.{fmt}").content.decode()
        one = Client().get(f"{BASE}/requests/{case.number}.{fmt}").content.decode()
        for text in (raw, one):
            assert case.number in text
            for secret in (RESIDENT_PHONE, "13700001111", name, "nana@example.com", "370103199001011234"):
                assert secret not in text
            assert home.code not in text
            assert "301" not in text

    (item,) = get_requests(f"?service_request_id={case.number}")
    building = home.parent.parent if home.parent.kind == PlaceKind.UNIT else home.parent  # type: ignore[union-attr]
    assert building.kind == PlaceKind.BUILDING
    assert item["address_id"] == building.code
    assert item["address"] == f"{place_of('community').name} {building.name}"
    assert (item["lat"], item["long"]) == (36.6518, 116.9968)
    assert item["description"].startswith("门口道路很脏，联系我 ***")


def test_a_client_sees_its_own_private_requests_but_not_anothers(
    demo_client: Open311Client, other_client: tuple[Open311Client, str]
) -> None:
    _other, other_key = other_client
    home = house_in(place_of("grid1"))
    mine = post(
        {"service_code": "1201", "lat": "", "long": "", "address_id": home.code, "address_string": "1-0101"}
    )
    theirs = post({"service_code": "1202", "description": "楼上漏水"}, key=other_key)
    mine_number = spec.json_body(mine)[0]["service_request_id"]
    theirs_number = spec.json_body(theirs)[0]["service_request_id"]

    body = spec.json_body(Client().get(f"{BASE}/requests.json?api_key={DEMO_KEY}"))
    spec.check_list(body, spec.REQUEST)
    assert mine_number in numbers(body)
    assert theirs_number not in numbers(body)
    own = next(i for i in body if i["service_request_id"] == mine_number)
    assert (own["address"], own["address_id"]) == ("1-0101", home.code)

    spec.check_object(
        spec.json_body(Client().get(f"{BASE}/requests/{mine_number}.json?api_key={DEMO_KEY}"))[0],
        spec.REQUEST,
    )
    spec.check_error(Client().get(f"{BASE}/requests/{theirs_number}.json?api_key={DEMO_KEY}"), 404)
    spec.check_error(Client().get(f"{BASE}/requests/{mine_number}.json"), 404)
    assert mine_number not in numbers(get_requests())
    spec.check_error(Client().get(f"{BASE}/requests.json?api_key=wrong"), 403)


def test_a_client_limited_to_grid_2_lists_only_grid_2(
    users: dict[str, Any], grid2_client: tuple[Open311Client, str]
) -> None:
    _client, key = grid2_client
    in_grid1 = file_case(code="0101", actor=users["grid1"])
    in_grid2 = file_case(code="0101", actor=users["grid2"], place=building_in(place_of("grid2")))

    listed = numbers(spec.json_body(Client().get(f"{BASE}/requests.json?api_key={key}")))

    assert in_grid2.number in listed
    assert in_grid1.number not in listed
    spec.check_error(Client().get(f"{BASE}/requests/{in_grid1.number}.json?api_key={key}"), 404)


def test_xml_escapes_markup_and_drops_characters_xml_cannot_carry() -> None:
    case = file_case(code="0201", description="小广告 <b>贴满</b> & \x07墙面")

    items = spec.xml_items(Client().get(f"{BASE}/requests/{case.number}.xml"), "service_requests", "request")

    assert items[0]["description"] == "小广告 <b>贴满</b> & 墙面"
    assert spec.json_body(Client().get(f"{BASE}/requests/{case.number}.json"))[0]["description"] == (
        "小广告 <b>贴满</b> & \x07墙面"
    )


def test_errors_follow_the_callers_language() -> None:
    english = spec.check_error(Client().get(f"{BASE}/requests.json?status=pending&locale=en"), 400)
    assert english == "Unknown status: pending (use open, closed or both)"
    by_header = Client().get(f"{BASE}/requests.xml?status=pending", headers={"Accept-Language": "en"})
    assert spec.check_error(by_header, 400, xml=True) == english


def test_redaction_keeps_dates_and_short_numbers() -> None:
    assert redact("2026-11-22 3号楼 2单元 电话 138 1234 5678 座机 0531-87654321") == (
        "2026-11-22 3号楼 2单元 电话 *** 座机 0531-***"
    )


# --- tokens -----------------------------------------------------------------------------------


def test_a_token_maps_to_the_request_id(demo_client: Open311Client) -> None:
    item = spec.json_body(post({}))[0]

    body = spec.json_body(Client().get(f"{BASE}/tokens/{item['token']}.json"))
    spec.check_list(body, spec.TOKEN)
    assert body == [{"service_request_id": item["service_request_id"], "token": item["token"]}]

    items = spec.xml_items(Client().get(f"{BASE}/tokens/{item['token']}.xml"), "service_requests", "request")
    spec.check_list(items, spec.TOKEN, xml=True)
    assert items[0]["service_request_id"] == item["service_request_id"]

    spec.check_error(Client().get(f"{BASE}/tokens/not-a-token.json"), 404)
    spec.check_error(Client().get(f"{BASE}/tokens/not-a-token.xml"), 404, xml=True)


# --- clients and keys -------------------------------------------------------------------------


def test_the_demo_client_is_created_once_and_only_its_hash_is_kept() -> None:
    first = services.ensure_demo_client()
    second = services.ensure_demo_client()

    assert first.pk == second.pk
    assert Open311Client.objects.filter(pk=first.pk).count() == 1
    assert first.key_prefix == DEMO_KEY[:8]
    assert first.key_hash != DEMO_KEY
    assert len(first.key_hash) == 64
    assert services.client_authenticate(DEMO_KEY) == first


def test_the_admin_shows_a_new_key_once_and_rotates_it(page_client: Any) -> None:
    admin = page_client("admin")
    grid2 = place_of("grid2")

    response = admin.post(
        "/admin/open311/open311client/add/",
        {"name": "Partner app", "is_active": "on", "place": grid2.pk},
        follow=True,
    )

    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    (key,) = [match for m in shown for match in re.findall(r"o311_[\w-]+", m)]
    client = Open311Client.objects.get(name="Partner app")
    assert client.place == grid2
    assert services.client_authenticate(key) == client
    assert key not in admin.get(f"/admin/open311/open311client/{client.pk}/change/").content.decode()

    rotated = admin.post(
        "/admin/open311/open311client/",
        {"action": "rotate_keys", "_selected_action": [client.pk]},
        follow=True,
    )
    (new_key,) = [match for m in rotated.context["messages"] for match in re.findall(r"o311_[\w-]+", str(m))]
    assert new_key != key
    assert services.client_authenticate(key) is None
    assert services.client_authenticate(new_key) == client


@pytest.mark.parametrize("username", ["community", "grid1", "resident"])
def test_only_platform_administrators_reach_the_client_admin(page_client: Any, username: str) -> None:
    response = page_client(username).get("/admin/open311/open311client/")
    assert response.status_code in (302, 403)
    assert Open311Client.objects.filter(name="x").count() == 0
