"""Reference data every installation starts with: SLA policies and the category tree.

Time limits follow Beijing's 12345 service rules: emergencies and risks to life or property
get feedback within 2 hours; water, power, gas and heating within 24 hours; general matters
within 7 (working) days; complex ones within 15. The city-management event classes are
those of CJ/T 214 (市容环境, 宣传广告, 施工管理, 街面秩序, 突发事件); the community matters
are what grid workers meet every day. Administrators change all of it in the admin.

A data migration loads this; it uses only plain values so it can run on historical models.
"""

from __future__ import annotations

# code, name, English name, respond (unit, n), resolve (unit, n), warn %, grace (unit, n), max extension
POLICIES: tuple[tuple[str, str, str, tuple[str, int], tuple[str, int], int, tuple[str, int], int], ...] = (
    ("emergency", "紧急（2小时）", "Emergency (2 hours)", ("minutes", 30), ("hours", 2), 75, ("hours", 1), 2),
    (
        "utility",
        "水电气热（24小时）",
        "Water, power, gas, heating (24 hours)",
        ("hours", 2),
        ("hours", 24),
        75,
        ("hours", 4),
        24,
    ),
    (
        "general",
        "一般（7个工作日）",
        "General (7 working days)",
        ("working_hours", 4),
        ("working_days", 7),
        80,
        ("working_days", 1),
        7,
    ),
    (
        "complex",
        "复杂（15个工作日）",
        "Complex (15 working days)",
        ("working_days", 1),
        ("working_days", 15),
        80,
        ("working_days", 2),
        15,
    ),
)

# code, name, English name, owner level, duty, policy, public on Open311, children
Category = tuple[str, str, str, str, str, str, bool, tuple[tuple[str, str, str], ...]]
CATEGORIES: tuple[Category, ...] = (
    (
        "01",
        "市容环境",
        "City appearance and environment",
        "grid",
        "city_appearance",
        "general",
        True,
        (
            ("0101", "暴露垃圾", "Exposed rubbish"),
            ("0102", "私搭乱建", "Illegal structures"),
            ("0103", "道路不洁", "Dirty roads"),
            ("0104", "乱堆物料", "Materials piled in public"),
        ),
    ),
    (
        "02",
        "宣传广告",
        "Publicity and advertising",
        "grid",
        "city_appearance",
        "general",
        True,
        (
            ("0201", "非法小广告", "Illegal flyers and graffiti ads"),
            ("0202", "违规户外广告", "Non-compliant outdoor ads"),
        ),
    ),
    (
        "03",
        "施工管理",
        "Construction management",
        "street",
        "illegal_construction",
        "general",
        True,
        (
            ("0301", "施工扰民", "Construction noise and disturbance"),
            ("0302", "道路遗撒", "Spillage on roads"),
            ("0303", "无证施工", "Unlicensed construction"),
        ),
    ),
    (
        "04",
        "街面秩序",
        "Street order",
        "community",
        "street_order",
        "general",
        True,
        (
            ("0401", "占道经营", "Street vending on the road"),
            ("0402", "机动车乱停放", "Illegal car parking"),
            ("0403", "非机动车乱停放", "Illegal bicycle parking"),
        ),
    ),
    (
        "05",
        "突发事件",
        "Sudden incidents",
        "community",
        "emergency",
        "emergency",
        True,
        (
            ("0501", "路面塌陷", "Road collapse"),
            ("0502", "道路积水", "Flooded road"),
            ("0503", "井盖缺失", "Missing manhole cover"),
        ),
    ),
    (
        "11",
        "物业管理",
        "Property management",
        "property",
        "property",
        "general",
        False,
        (
            ("1101", "电梯故障", "Lift out of order"),
            ("1102", "公共设施维修", "Shared facilities repair"),
            ("1103", "物业服务", "Property service complaints"),
        ),
    ),
    (
        "12",
        "邻里纠纷",
        "Neighbour disputes",
        "grid",
        "disputes",
        "general",
        False,
        (
            ("1201", "噪音扰民", "Noise"),
            ("1202", "漏水纠纷", "Leaks between homes"),
            ("1203", "宠物纠纷", "Pets"),
        ),
    ),
    (
        "13",
        "水电气暖",
        "Water, power, gas and heating",
        "community",
        "water_power_gas_heating",
        "utility",
        False,
        (
            ("1301", "停水", "No water"),
            ("1302", "停电", "No power"),
            ("1303", "燃气", "Gas"),
            ("1304", "供暖", "Heating"),
        ),
    ),
    (
        "14",
        "养老服务",
        "Elderly services",
        "community",
        "elderly_care",
        "general",
        False,
        (
            ("1401", "助餐助浴", "Meals and bathing help"),
            ("1402", "独居老人关怀", "Care for elderly living alone"),
        ),
    ),
    (
        "15",
        "治安隐患",
        "Public security hazards",
        "community",
        "public_security",
        "general",
        False,
        (
            ("1501", "可疑人员", "Suspicious persons"),
            ("1502", "治安隐患", "Security hazard"),
        ),
    ),
    (
        "16",
        "消防隐患",
        "Fire hazards",
        "grid",
        "fire_safety",
        "general",
        False,
        (
            ("1601", "楼道堆物", "Things piled in stairwells"),
            ("1602", "电动车违规充电", "E-bikes charged indoors"),
            ("1603", "消防通道堵塞", "Blocked fire lanes"),
        ),
    ),
    (
        "17",
        "环境卫生",
        "Environment and sanitation",
        "grid",
        "sanitation",
        "general",
        False,
        (
            ("1701", "垃圾清运", "Rubbish collection"),
            ("1702", "绿化养护", "Green-space upkeep"),
        ),
    ),
    (
        "19",
        "其他",
        "Other matters",
        "community",
        "",
        "general",
        False,
        (
            ("1901", "政策咨询", "Policy questions"),
            ("1999", "其他诉求", "Anything else"),
        ),
    ),
)
# Matters that are complex by nature get the 15-day policy whatever their class.
COMPLEX = frozenset({"0102", "0303", "1202"})
# Stopped water, power, gas or heating is 24 hours; a gas smell is an emergency.
EMERGENCY_AT_URGENT = frozenset({"1303", "1601", "1602", "1603"})


def load(apps: object) -> None:
    """Create the policies and categories that are missing (by code); never overwrite."""
    get_model = apps.get_model  # type: ignore[attr-defined]
    SlaPolicy = get_model("cases", "SlaPolicy")
    CategoryModel = get_model("cases", "Category")
    CategoryPolicy = get_model("cases", "CategoryPolicy")
    policies = {}
    for code, name, name_en, respond, resolve, warn, grace, max_ext in POLICIES:
        policies[code], _ = SlaPolicy.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "respond_unit": respond[0],
                "respond_within": respond[1],
                "resolve_unit": resolve[0],
                "resolve_within": resolve[1],
                "warn_at_percent": warn,
                "escalation_grace_unit": grace[0],
                "escalation_grace": grace[1],
                "max_extension": max_ext,
            },
        )
    order = 0
    for code, name, name_en, level, duty, policy, public, children in CATEGORIES:
        order += 10
        parent, _ = CategoryModel.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "owner_level": level,
                "duty": duty,
                "sla_policy": policies[policy],
                "is_public": public,
                "sort_order": order,
            },
        )
        for child_code, child_name, child_en in children:
            order += 1
            child, created = CategoryModel.objects.get_or_create(
                code=child_code,
                defaults={
                    "name": child_name,
                    "name_en": child_en,
                    "parent": parent,
                    "owner_level": level,
                    "duty": duty,
                    "sla_policy": policies["complex" if child_code in COMPLEX else policy],
                    "is_public": public,
                    "sort_order": order,
                },
            )
            if created and child_code in EMERGENCY_AT_URGENT:
                CategoryPolicy.objects.get_or_create(
                    category=child, priority="urgent", defaults={"sla_policy": policies["emergency"]}
                )
