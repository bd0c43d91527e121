"""Names and figures of the demo territories (from the seed articles), and Chinese numbering."""

from __future__ import annotations

# 济南市市中区 → 杆石桥街道 → 乐山小区社区: 59 buildings, 3,040 households, 6 grids, 35 courtyards,
# 312 party members.
JINAN_COUNTY = ("370103", "济南市市中区")
GANGSHIQIAO = ("003", "杆石桥街道")
LESHAN = ("001", "乐山小区社区")
LESHAN_CENTRE = (36.650, 117.000)
LESHAN_GRIDS = 6
LESHAN_COURTYARDS = 35
LESHAN_BUILDINGS = 59
LESHAN_HOUSES = 3040
LESHAN_PARTY_MEMBERS = 312

# 泰安市泰山区 → 财源街道 → 东湖社区: 6 grids, 42 buildings with a building leader each
# (about 50 households each), 24 grid workers, 6 grid party branches, 42 building party groups.
TAIAN_COUNTY = ("370902", "泰安市泰山区")
CAIYUAN = ("001", "财源街道")
DONGHU = ("001", "东湖社区")
DONGHU_CENTRE = (36.190, 117.120)
DONGHU_GRIDS = 6
DONGHU_BUILDINGS = 42
DONGHU_HOUSES = 2100
DONGHU_PART_TIME_PER_GRID = 3  # with one full-time worker: 4 per grid, 24 in all

LESHAN_CODE = JINAN_COUNTY[0] + GANGSHIQIAO[0] + LESHAN[0]
DONGHU_CODE = TAIAN_COUNTY[0] + CAIYUAN[0] + DONGHU[0]

# County departments (县直部门) and the request categories each answers for.
JINAN_DEPARTMENTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("zjj", "市中区住房和城乡建设局", "区住建局", ("property", "water_power_gas_heating", "housing_safety")),
    (
        "cgj",
        "市中区城市管理局",
        "区城管局",
        ("city_appearance", "sanitation", "street_order", "illegal_construction"),
    ),
    ("scj", "市中区市场监督管理局", "区市场监管局", ("market", "food_safety", "consumer_rights")),
    ("wjj", "市中区卫生健康局", "区卫健局", ("health", "epidemic_prevention")),
    ("mzj", "市中区民政局", "区民政局", ("elderly_care", "social_assistance", "disability")),
    ("yjj", "市中区应急管理局", "区应急局", ("emergency", "fire_safety")),
    ("sfj", "市中区司法局", "区司法局", ("disputes", "legal_aid")),
    ("gaj", "济南市公安局市中区分局", "市中公安分局", ("public_security", "traffic")),
)
TAIAN_DEPARTMENTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("zjj", "泰山区住房和城乡建设局", "区住建局", ("property", "water_power_gas_heating", "housing_safety")),
    (
        "zfj",
        "泰山区综合行政执法局",
        "区执法局",
        ("city_appearance", "sanitation", "street_order", "illegal_construction"),
    ),
)

LESHAN_PROPERTY_COMPANIES = ("济南乐山物业服务有限公司", "济南泉安物业管理有限公司")
DONGHU_PROPERTY_COMPANY = "泰安东湖物业服务有限公司"

# Co-building units (共建单位) and partner merchants (红色合伙人): (name, kind).
LESHAN_UNITS: tuple[tuple[str, str], ...] = (
    ("市中区机关事务服务中心", "agency"),
    ("杆石桥社区卫生服务中心", "hospital"),
    ("济南市乐山小学", "school"),
    ("泉城燃气市中营业所", "enterprise"),
    ("乐山社区志愿服务协会", "social_org"),
    ("乐山便民超市", "merchant"),
    ("老街坊理发店", "merchant"),
    ("康宁大药房乐山店", "merchant"),
    ("惠民早餐铺", "merchant"),
)
DONGHU_UNITS: tuple[tuple[str, str], ...] = (
    ("泰山区财源街道社区卫生服务站", "hospital"),
    ("泰安市东湖小学", "school"),
    ("东湖家政服务部", "merchant"),
)

# 兰陵县 (371324): 21 urban communities, 405 base grids, 2,971 micro-grids; 595 full-time
# community workers; 160 compound party branches.
LANLING_COUNTY = ("371324", "兰陵县")
LANLING_CENTRE = (34.857, 118.070)
LANLING_GRIDS = 405
LANLING_MICRO_GRIDS = 2971
LANLING_WORKERS = 595
LANLING_BRANCHES = 160
# Street offices and towns with their code segments (001–099 streets, 100+ towns) and communities.
LANLING_STREETS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "001",
        "卞庄街道",
        ("城前社区", "城后社区", "文峰社区", "会宝社区", "东关社区", "西关社区", "南关社区", "北关社区"),
    ),
    (
        "002",
        "苍山街道",
        ("苍山社区", "兰馨社区", "荀子社区", "惠民社区", "金柳社区", "文化社区", "新兴社区", "凤凰社区"),
    ),
    ("101", "向城镇", ("向城社区", "龙园社区", "开元社区", "和平社区", "兴业社区")),
)

_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 35 → 三十五 (1–99)."""
    if not 0 < n < 100:
        raise ValueError("only 1–99")
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return head + (_DIGITS[ones] if ones else "")


def grid_name(n: int) -> str:
    return f"第{chinese_number(n)}网格"


_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def credit_code(area: str, serial: int) -> str:
    """A well-formed unified social credit code (GB 32100) for a company registered in ``area``.

    The organisation code part carries its GB 11714 check digit and the whole code its
    GB 32100 check character, so validators accept it; the serial makes it unique.
    """
    body = f"{serial:08d}"[-8:]
    org_check = 11 - sum(int(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    org = body + ("0" if org_check == 11 else "X" if org_check == 10 else str(org_check))
    head = "91" + area + org
    return head + credit_check_character(head)


def credit_check_character(head: str) -> str:
    """The GB 32100 check character of the first 17 characters of a credit code."""
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(head, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_CHARS[(31 - total % 31) % 31]
